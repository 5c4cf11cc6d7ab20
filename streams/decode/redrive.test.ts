import { describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../schemas/avro/index.js';
import { REDRIVE_COUNT_HEADER, REDRIVEN_FROM_HEADER } from './headers.js';
import { formatReport, redrivenMessage } from './redrive.js';

const letter = (headers: Record<string, Buffer> = {}): DeadLetter => ({
  deadLetterId: 'decode|uplink.raw.v1|3|1200',
  originalTopic: 'uplink.raw.v1',
  originalPartition: 3,
  originalOffset: 1200,
  originalKey: Buffer.from('mbus:1002038704771403'),
  originalValue: Buffer.from([0, 0, 0, 0, 7, 1, 2, 3]),
  originalHeaders: headers,
  reasonCode: 'KEY_MISSING',
  reasonMessage: 'no key',
  paths: [],
  stage: 'decode',
  component: 'decode',
  deviceId: 'mbus:1002038704771403',
  transport: null,
  failedAt: 0,
  attempt: 1,
  details: {},
});

describe('a re-driven message', () => {
  it('is the original key and value byte for byte, with its headers and where it was re-driven from', () => {
    const message = redrivenMessage(letter({ traceparent: Buffer.from('00-abc') }));
    expect(message.key).toBe('mbus:1002038704771403');
    expect(message.value).toEqual(Buffer.from([0, 0, 0, 0, 7, 1, 2, 3]));
    expect(message.headers).toEqual({ traceparent: Buffer.from('00-abc'), [REDRIVEN_FROM_HEADER]: 'decode|uplink.raw.v1|3|1200', [REDRIVE_COUNT_HEADER]: '1' });
  });

  it('counts how often the same uplink was re-driven', () => {
    expect(redrivenMessage(letter({ [REDRIVE_COUNT_HEADER]: Buffer.from('2') })).headers?.[REDRIVE_COUNT_HEADER]).toBe('3');
  });
});

describe('the re-drive report', () => {
  it('lists counts by reason and the devices', () => {
    const text = formatReport(
      { dryRun: false, scanned: 9, matched: 4, alreadyRedriven: 1, redriven: 3, byReason: { KEY_MISSING: 2, CODEC_TIMEOUT: 1 }, devices: ['lorawan:70b3d5e75e001234', 'mbus:1002038704771403'] },
      'uplink.raw.v1',
    );
    expect(text).toBe(
      're-drove 3 of 4 matching dead letters (9 from decode) to uplink.raw.v1\n' +
        '  CODEC_TIMEOUT               1\n' +
        '  KEY_MISSING                 2\n' +
        'skipped 1 re-driven before\n' +
        'devices (2): lorawan:70b3d5e75e001234, mbus:1002038704771403\n',
    );
  });
});
