import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../core/errors.js';
import { REPO_ROOT } from '../../test/support/stack.js';
import { parseServerFrame, type LnsDialect } from './protocol.js';
import { identify, readUplink, uplinkDraft } from './uplink.js';

const FIXTURES = `${REPO_ROOT}test/fixtures/lns/`;

/** Each input `<dialect>-<case>.json|txt` has its expected reading in `<case>.expected.json` beside it. */
const cases = readdirSync(FIXTURES)
  .filter((file) => !file.endsWith('.expected.json'))
  .map((file) => {
    const name = file.replace(/\.(json|txt)$/, '');
    return {
      name,
      dialect: name.split('-')[0] as LnsDialect,
      text: readFileSync(FIXTURES + file, 'utf8'),
      expected: JSON.parse(readFileSync(`${FIXTURES}${name}.expected.json`, 'utf8')) as Record<string, unknown>,
    };
  });

/** What the connector makes of a frame, in the shape of the expected files. */
function read(text: string, dialect: LnsDialect): Record<string, unknown> {
  let frame;
  try {
    frame = parseServerFrame(text, dialect);
    if (frame.kind !== 'uplink') return { frame: frame.kind, cmd: frame.cmd };
    const { payload, ...uplink } = readUplink(frame.message, dialect);
    return { frame: 'uplink', uplink: { ...uplink, payloadHex: payload.toString('hex') } };
  } catch (err) {
    if (!(err instanceof PayloadError)) throw err;
    return { frame: 'rejected', reason: err.reason, field: err.field, identity: frame?.kind === 'uplink' ? identify(frame.message, dialect) : {} };
  }
}

describe('reading network-server frames', () => {
  it('has fixtures for both dialects', () => {
    expect(new Set(cases.map((c) => c.dialect))).toEqual(new Set(['vega', 'loriot']));
  });

  it.each(cases)('reads $name as its expected file says', ({ text, dialect, expected }) => {
    expect(read(text, dialect)).toEqual(expected);
  });

  it('keeps the payload bytes exactly as the hex said, and keys the draft by the lorawan device id', () => {
    const frame = parseServerFrame(readFileSync(`${FIXTURES}vega-rx.json`, 'utf8'), 'vega');
    if (frame.kind !== 'uplink') throw new Error('fixture is not an uplink');
    const draft = uplinkDraft(readUplink(frame.message, 'vega'), 'ws://lns.example/', { via: 'live' });
    expect(draft).toMatchObject({
      deviceId: 'lorawan:70b3d5e75e001234',
      transport: 'LNS_WEBSOCKET',
      payloadFormat: 'LORAWAN_PAYLOAD',
      deviceTimeAt: 1774768502318,
      sourceAddress: 'ws://lns.example/',
      metadata: { via: 'live', type: 'UNCONF_UP' },
    });
    expect(draft.payload).toEqual(Buffer.from([0x01, 0x67, 0xf5, 0x00, 0x00, 0xa1, 0xb2, 0xc3, 0xd4]));
  });

  it('gives the same uplink the same idempotency key, and a rejoin that repeats fCnt and payload a different one', () => {
    const base = { devEui: '70b3d5e75e001234', fcnt: 7, port: 2, data: '0102' };
    const first = readUplink({ ...base, ts: 1_000 }, 'vega');
    const again = readUplink({ ...base, ts: 1_000, rssi: -80 }, 'vega');
    const afterRejoin = readUplink({ ...base, ts: 9_000 }, 'vega');
    expect(again.idempotencyKey).toBe(first.idempotencyKey);
    expect(afterRejoin.idempotencyKey).not.toBe(first.idempotencyKey);
  });
});
