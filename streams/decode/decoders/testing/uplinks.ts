/**
 * Test support: raw uplinks and decode contexts with only the fields a case cares about. Used by
 * tests only.
 */
import type { PayloadFormat, RadioMetadata, RawUplink } from '../../../../schemas/avro/index.js';
import type { DecodeContext } from '../index.js';
import type { Ts013Runner } from '../ts013-sandbox.js';

export const RECEIVED_AT = Date.parse('2026-03-29T07:15:03Z');

/** A RawUplink of `format` carrying `payload` (bytes, or text as UTF-8). */
export function uplinkOf(format: PayloadFormat, payload: Uint8Array | string, fields: Partial<RawUplink> = {}): RawUplink {
  return {
    uplinkId: '0b6f0f6e-7f0e-4d3b-9a52-3f7e2f0c1a11',
    idempotencyKey: 'test',
    deviceId: 'lorawan:70b3d5e75e001234',
    transport: 'MQTT',
    payloadFormat: format,
    payload: typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload),
    receivedAt: RECEIVED_AT,
    deviceTimeAt: null,
    organisationId: null,
    connector: 'test',
    sourceAddress: 'test',
    radio: null,
    metadata: {},
    ...fields,
  };
}

/** Radio metadata with an fPort. */
export function radioOf(fPort: number | null, rssiDbm: number | null = null, snrDb: number | null = null): RadioMetadata {
  return { rssiDbm, snrDb, gatewayId: null, frequencyHz: null, spreadingFactor: null, fCnt: 1, fPort };
}

/** A TS013 runner that fails the test if a decoder calls it. */
export const NO_TS013: Ts013Runner = {
  decodeUplink: () => Promise.reject(new Error('the TS013 sandbox must not be on this path')),
  close: () => Promise.resolve(),
};

/** A context without keys or profile; override what a case needs. */
export function contextOf(fields: Partial<DecodeContext> = {}): DecodeContext {
  return { keyFor: () => undefined, ts013: NO_TS013, ...fields };
}

/** What `promise` rejected with; fails when it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, but it resolved');
}
