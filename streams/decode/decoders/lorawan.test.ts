import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { SchemaValidationError } from '../../../core/errors.js';
import { decodeUplink, type DecodeContext, type DeviceProfile } from './index.js';
import { contextOf, radioOf, rejection, uplinkOf } from './testing/uplinks.js';
import { createTs013Runner, type Ts013Output, type Ts013Runner } from './ts013-sandbox.js';

const MQTT_FIXTURES = new URL('../../../test/fixtures/mqtt/', import.meta.url);
const CODECS = new URL('../../../test/fixtures/decode/ts013/', import.meta.url);
const WATER_CODEC = readFileSync(new URL('acme-wm1-water-meter.js', CODECS), 'utf8');
const WATER_CODEC_BUILD = `codec.${createHash('sha256').update(WATER_CODEC).digest('hex').slice(0, 12)}`;
// Acme WM-1 on fPort 1: leak flag, 123456 l, battery 7 %, 12.34 °C.
const WATER_PAYLOAD = Buffer.from('0140e2010007d204', 'hex');

const sandbox = createTs013Runner({ workers: 1 });
afterAll(() => sandbox.close());

/** CI 0x78 (no header): volume 12.345 m3 (32-bit, VIF 0x13), flow temperature 21.5 °C. */
const MBUS_NO_HEADER = Buffer.from('78' + '041339300000' + '025ad700', 'hex');
/** CI 0x72 (long header of KAM water meter 12345678, status 0x04) with one volume record. */
const MBUS_LONG_HEADER = Buffer.from('72' + '785634122d2c010701040000' + '041339300000', 'hex');

function lorawan(payload: Uint8Array, fPort: number | null, profile?: DeviceProfile, ctx: Partial<DecodeContext> = {}) {
  const uplink = uplinkOf('LORAWAN_PAYLOAD', payload, { radio: radioOf(fPort, -97, 4.5) });
  return decodeUplink(uplink, contextOf({ profile, ...ctx }));
}

function chirpstack(event: string | object, profile?: DeviceProfile, ctx: Partial<DecodeContext> = {}, metadata: Record<string, string> = {}) {
  const json = typeof event === 'string' ? readFileSync(new URL(`${event}.json`, MQTT_FIXTURES), 'utf8') : JSON.stringify(event);
  return decodeUplink(uplinkOf('CHIRPSTACK_EVENT', json, { metadata }), contextOf({ profile, ...ctx }));
}

/** A runner that answers with `output` and remembers what it was asked. */
function fakeRunner(output: Ts013Output): Ts013Runner & { calls: unknown[] } {
  const calls: unknown[] = [];
  return {
    calls,
    decodeUplink: (script, input) => {
      calls.push({ script, ...input, bytes: [...input.bytes] });
      return Promise.resolve(output);
    },
    close: () => Promise.resolve(),
  };
}

describe('LoRaWAN payloads with an M-Bus profile', () => {
  it('reads an application layer without header, with the radio facts of the uplink', async () => {
    const decoded = await lorawan(MBUS_NO_HEADER, 3, { codec: 'mbus' });
    expect(decoded.values.map((value) => [value.registerKey, value.value, value.exact])).toEqual([
      ['volume', 12.345, '12.345'],
      ['flow_temperature', 21.5, undefined],
    ]);
    expect(decoded).toMatchObject({ kind: 'readings', decoderVersion: 'lorawan-mbus@1.0.0', device: { rssiDbm: -97, snrDb: 4.5, statusErrors: [] } });
  });

  it('reads the meter identity and status of a long header', async () => {
    const decoded = await lorawan(MBUS_LONG_HEADER, 3, { codec: 'mbus' });
    expect(decoded.device).toEqual({ manufacturer: 'KAM', version: 1, medium: 'water', rssiDbm: -97, snrDb: 4.5, statusErrors: ['POWER_LOW'] });
  });

  it('answers a payload that is no application layer with the M-Bus reason', async () => {
    const err = await rejection(lorawan(Buffer.from('01020304', 'hex'), 3, { codec: 'mbus' }));
    expect(err).toMatchObject({ reason: 'MBUS_UNSUPPORTED_CI', context: { offset: 0 } });
  });
});

describe('LoRaWAN payloads without a profile', () => {
  it('tries M-Bus when the first byte is a variable data structure CI', async () => {
    expect((await lorawan(MBUS_NO_HEADER, 3)).values).toHaveLength(2);
  });

  it.each([
    { case: 'the first byte is no M-Bus CI', payload: '01020304' },
    { case: 'it starts like M-Bus but does not decode', payload: '780413' },
  ])('refuses it with NO_DEVICE_PROFILE when $case', async ({ payload }) => {
    const err = await rejection(lorawan(Buffer.from(payload, 'hex'), 3));
    expect(err).toMatchObject({ reason: 'NO_DEVICE_PROFILE', retriable: false });
  });
});

describe('LoRaWAN payloads with a TS013 profile', () => {
  const profile: DeviceProfile = { codec: 'ts013', ts013Script: WATER_CODEC };

  it('runs the vendor codec in the sandbox and maps its data', async () => {
    const decoded = await lorawan(WATER_PAYLOAD, 1, profile, { ts013: sandbox });
    expect(decoded.values.map((value) => [value.registerKey, value.value, value.unit, value.exact, value.originalValue, value.originalUnit])).toEqual([
      ['volume', 123.456, 'm3', '123.456', 123456, 'l'],
      ['temperature', 12.34, 'degC', undefined, 12.34, 'degC'],
    ]);
    expect(decoded.device).toEqual({ batteryPercent: 7, rssiDbm: -97, snrDb: 4.5, statusErrors: ['LEAK'] });
    expect(decoded.warnings).toEqual(['battery low: 7%']);
    expect(decoded.decoderVersion).toBe(`ts013@1.0.0+${WATER_CODEC_BUILD}`);
  });

  it('refuses the uplink with CODEC_ERRORS and the codec\'s own messages when it reports errors', async () => {
    const err = await rejection(lorawan(WATER_PAYLOAD.subarray(0, 3), 1, profile, { ts013: sandbox }));
    expect(err).toMatchObject({
      reason: 'CODEC_ERRORS',
      message: 'codec: expected 8 bytes on fPort 1, got 3',
      context: { errors: ['expected 8 bytes on fPort 1, got 3'], codec: WATER_CODEC_BUILD },
    });
  });

  it('gives the codec the device time of the uplink as recvTime', async () => {
    const runner = fakeRunner({ data: {}, warnings: [], errors: [] });
    const deviceTimeAt = Date.parse('2026-03-29T07:15:00Z');
    await decodeUplink(
      uplinkOf('LORAWAN_PAYLOAD', WATER_PAYLOAD, { radio: radioOf(1), deviceTimeAt }),
      contextOf({ profile, ts013: runner }),
    );
    expect(runner.calls).toEqual([{ script: WATER_CODEC, bytes: [...WATER_PAYLOAD], fPort: 1, recvTime: deviceTimeAt }]);
  });

  it('refuses data that is not an object with CODEC_BAD_OUTPUT', async () => {
    const err = await rejection(lorawan(WATER_PAYLOAD, 1, profile, { ts013: fakeRunner({ data: [1, 2], warnings: [], errors: [] }) }));
    expect(err).toMatchObject({ reason: 'CODEC_BAD_OUTPUT', message: 'codec: data must be an object, got an array' });
  });

  it.each([
    { case: 'the profile has no script', profile: { codec: 'ts013' } as const, fPort: 1, reason: 'PROFILE_INCOMPLETE' },
    { case: 'the transport did not report the fPort', profile, fPort: null, reason: 'FPORT_MISSING' },
  ])('refuses the uplink with $reason when $case', async ({ profile: given, fPort, reason }) => {
    const err = await rejection(lorawan(WATER_PAYLOAD, fPort, given, { ts013: sandbox }));
    expect(err).toMatchObject({ reason });
  });
});

describe('uplinks that carry no meter data', () => {
  it.each([
    { case: 'FPort 0 (MAC commands)', payload: WATER_PAYLOAD, fPort: 0, profile: { codec: 'ts013', ts013Script: WATER_CODEC } as DeviceProfile, warnings: [] },
    { case: 'an empty payload', payload: Buffer.alloc(0), fPort: 1, profile: { codec: 'mbus' } as DeviceProfile, warnings: [] },
    {
      case: 'a port outside the profile\'s data ports',
      payload: WATER_PAYLOAD,
      fPort: 2,
      profile: { codec: 'ts013', ts013Script: WATER_CODEC, fPortFilter: [1] } as DeviceProfile,
      warnings: ['fPort 2 carries no meter data for this profile (data ports: 1)'],
    },
  ])('yield a status without running a codec: $case', async ({ payload, fPort, profile, warnings }) => {
    // contextOf's TS013 runner fails the test if it is called.
    const decoded = await lorawan(payload, fPort, profile);
    expect(decoded).toEqual({
      values: [],
      device: { rssiDbm: -97, snrDb: 4.5, statusErrors: [] },
      warnings,
      kind: 'status',
      decoderVersion: 'lorawan@1.0.0',
    });
  });
});

describe('ChirpStack events', () => {
  it.each([
    { profile: undefined, case: 'without a profile' },
    { profile: { codec: 'chirpstack-object' } as const, case: 'with the chirpstack-object profile' },
  ])('read ChirpStack\'s decoded object $case', async ({ profile }) => {
    const decoded = await chirpstack('chirpstack-up', profile);
    expect(decoded.values).toEqual([
      expect.objectContaining({ registerKey: 'volume', value: 1234.567, exact: '1234.567', unit: 'm3', originalUnit: 'm3' }),
    ]);
    expect(decoded.decoderVersion).toBe('chirpstack-object@1.0.0');
  });

  it('run a TS013 profile\'s codec on the event\'s bytes, port and time', async () => {
    const runner = fakeRunner({ data: { volume: 1 }, warnings: [], errors: [] });
    await chirpstack('chirpstack-up', { codec: 'ts013', ts013Script: 'codec' }, { ts013: runner });
    expect(runner.calls).toEqual([
      { script: 'codec', bytes: [1, 2, 3, 4, 5, 6, 7, 8], fPort: 2, recvTime: Date.parse('2026-03-29T07:15:02.318Z') },
    ]);
  });

  it('refuse an uplink without ChirpStack\'s object under the chirpstack-object profile', async () => {
    const err = await rejection(chirpstack({ data: 'AQID', fPort: 2 }, { codec: 'chirpstack-object' }));
    expect(err).toMatchObject({ reason: 'OBJECT_MISSING' });
  });

  it('give the battery level of a status event', async () => {
    expect(await chirpstack('chirpstack-status', undefined, {}, { event: 'status' })).toMatchObject({
      kind: 'status',
      values: [],
      device: { batteryPercent: 86.22, statusErrors: [] },
    });
  });

  it.each<{ case: string; event: string | object; metadata: Record<string, string> }>([
    { case: 'a status event on external power', event: { margin: 7, batteryLevel: 0, externalPowerSource: true }, metadata: {} },
    { case: 'a join event', event: 'chirpstack-join', metadata: { event: 'join' } },
    { case: 'an uplink with MAC commands only', event: 'chirpstack-up-mac-only', metadata: { event: 'up' } },
  ])('give nothing to decode for $case', async ({ event, metadata }) => {
    expect(await chirpstack(event, { codec: 'mbus' }, {}, metadata)).toMatchObject({ kind: 'status', values: [], device: { statusErrors: [] } });
  });

  it('refuse an event whose fields have the wrong type, naming each', async () => {
    const err = await rejection(chirpstack({ data: 'not base64!', fPort: '2', object: [] }));
    expect(err).toBeInstanceOf(SchemaValidationError);
    expect(err).toMatchObject({ reason: 'INVALID_CHIRPSTACK_EVENT', paths: ['data', 'fPort', 'object'] });
  });

  it('refuse bytes that are not JSON with MALFORMED_JSON', async () => {
    const err = await rejection(decodeUplink(uplinkOf('CHIRPSTACK_EVENT', '{"data":'), contextOf()));
    expect(err).toMatchObject({ reason: 'MALFORMED_JSON' });
  });
});

describe('the TS013 sandbox stays off the path of other devices', () => {
  it('is not called for M-Bus, ChirpStack objects or station data', async () => {
    const runner = { decodeUplink: vi.fn(), close: vi.fn() };
    const ctx = contextOf({ ts013: runner });
    await decodeUplink(uplinkOf('LORAWAN_PAYLOAD', MBUS_NO_HEADER, { radio: radioOf(3) }), { ...ctx, profile: { codec: 'mbus' } });
    await decodeUplink(uplinkOf('CHIRPSTACK_EVENT', readFileSync(new URL('chirpstack-up.json', MQTT_FIXTURES))), ctx);
    await decodeUplink(uplinkOf('STATION_TELEMETRY', readFileSync(new URL('station-telemetry.json', MQTT_FIXTURES))), ctx);
    expect(runner.decodeUplink).not.toHaveBeenCalled();
  });
});
