import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../core/errors.js';
import { decodeUplink } from './index.js';
import { contextOf, rejection, uplinkOf } from './testing/uplinks.js';

describe('decodeUplink', () => {
  it('refuses a payload format it does not know with UNKNOWN_PAYLOAD_FORMAT', async () => {
    const err = await rejection(decodeUplink(uplinkOf('UNKNOWN', '{}'), contextOf()));
    expect(err).toBeInstanceOf(DecodeError);
    expect(err).toMatchObject({ reason: 'UNKNOWN_PAYLOAD_FORMAT', retriable: false });
  });
});
