/**
 * LoRaWAN application payloads, from a network server's stream (LORAWAN_PAYLOAD: the FRMPayload
 * bytes, fPort in the radio metadata) or a ChirpStack integration event (CHIRPSTACK_EVENT: JSON
 * with base64 `data`, `fPort` and maybe ChirpStack's own decoding in `object`). The device profile
 * chooses the codec.
 */
import { createHash } from 'node:crypto';
import { DecodeError } from '../../../core/errors.js';
import type { RawUplink } from '../../../schemas/avro/index.js';
import { mapCodecData, type CodecData } from './codec-data.js';
import type { DecodeContext, DecodedUplink, DeviceProfile } from './index.js';
import { isJsonObject, JsonFields, parseJsonObject, type JsonObject } from './json.js';
import { decodeMbusPayload } from './mbus.js';
import { decoded, deviceWithRadio } from './values.js';

const AUTO: DeviceProfile = { codec: 'auto' };
/** Variable data structure CIs LoRaWAN M-Bus meters send: long header, short header, none. */
const MBUS_CIS: ReadonlySet<number> = new Set([0x72, 0x7a, 0x78]);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The application payload of one uplink, however it arrived. */
interface Payload {
  readonly bytes: Uint8Array;
  /** `null` when the transport did not say. */
  readonly fPort: number | null;
  /** Epoch ms, for the codec's `recvTime`. */
  readonly receivedAt: number;
  /** ChirpStack's decoding, when it made one. */
  readonly object: JsonObject | undefined;
}

/**
 * LORAWAN_PAYLOAD.
 *
 * @throws {DecodeError} see {@link decodePayload}.
 */
export function decodeLorawanPayload(uplink: RawUplink, ctx: DecodeContext): Promise<DecodedUplink> {
  return decodePayload(
    { bytes: uplink.payload, fPort: uplink.radio?.fPort ?? null, receivedAt: uplink.deviceTimeAt ?? uplink.receivedAt, object: undefined },
    uplink,
    ctx,
  );
}

/**
 * CHIRPSTACK_EVENT. `up` events are decoded; `status` events give the battery level; other
 * events (join, ack, txack, log…) carry nothing to decode. The event type is the `event` metadata
 * the connector keeps, or else read from the fields present.
 *
 * @throws {DecodeError} `MALFORMED_JSON`, `JSON_NOT_AN_OBJECT`, and see {@link decodePayload}.
 * @throws {SchemaValidationError} `INVALID_CHIRPSTACK_EVENT` for fields of the wrong type.
 */
export async function decodeChirpstackEvent(uplink: RawUplink, ctx: DecodeContext): Promise<DecodedUplink> {
  const json = parseJsonObject(uplink.payload);
  const fields = new JsonFields('ChirpStack event', 'INVALID_CHIRPSTACK_EVENT');
  switch (eventOf(uplink, json)) {
    case 'up': {
      const data = fields.string(json, 'data', '');
      if (data !== undefined && !BASE64.test(data)) fields.issue('data', 'base64', data);
      // proto3 JSON leaves out zero values: no fPort with data is FPort 0, MAC commands only.
      const fPort = fields.number(json, 'fPort', '', { min: 0, max: 255, integer: true }) ?? 0;
      const object = fields.object(json, 'object', '');
      const time = fields.instant(json, 'time', '');
      fields.check();
      const bytes = data === undefined ? new Uint8Array(0) : Buffer.from(data, 'base64');
      return decodePayload({ bytes, fPort, receivedAt: time ?? uplink.deviceTimeAt ?? uplink.receivedAt, object }, uplink, ctx);
    }
    case 'status': {
      const level = fields.number(json, 'batteryLevel', '', { min: 0, max: 100 });
      const unavailable = fields.boolean(json, 'batteryLevelUnavailable', '') === true;
      const external = fields.boolean(json, 'externalPowerSource', '') === true;
      fields.check();
      const known = level !== undefined && !unavailable && !external;
      return decoded('lorawan', [], deviceWithRadio(uplink.radio, { ...(known ? { batteryPercent: level } : {}), statusErrors: [] }), []);
    }
    default:
      return decoded('lorawan', [], deviceWithRadio(uplink.radio, { statusErrors: [] }), []);
  }
}

function eventOf(uplink: RawUplink, json: JsonObject): string {
  const event = uplink.metadata['event'];
  if (event !== undefined) return event;
  if ('data' in json || 'object' in json || 'fPort' in json || 'rxInfo' in json) return 'up';
  if ('batteryLevel' in json || 'margin' in json) return 'status';
  return 'other';
}

/**
 * Decodes an application payload with the profile's codec. FPort 0 (MAC commands) and empty
 * payloads carry no values; neither do ports outside the profile's `fPortFilter`.
 *
 * @throws {DecodeError} `NO_DEVICE_PROFILE` (auto could not tell the format), `PROFILE_INCOMPLETE`
 *   (ts013 without a script), `OBJECT_MISSING` (chirpstack-object without ChirpStack's object),
 *   `FPORT_MISSING` (a TS013 codec needs the port), `EMPTY_PAYLOAD` (M-Bus without bytes),
 *   `MBUS_{reason}`, `CODEC_ERRORS` (the codec reported errors), the sandbox's `CODEC_*`.
 */
async function decodePayload(payload: Payload, uplink: RawUplink, ctx: DecodeContext): Promise<DecodedUplink> {
  const { bytes, fPort, object } = payload;
  if (fPort === 0 || (bytes.length === 0 && object === undefined)) {
    return decoded('lorawan', [], deviceWithRadio(uplink.radio, { statusErrors: [] }), []);
  }
  const profile = ctx.profile ?? AUTO;
  if (fPort !== null && profile.fPortFilter !== undefined && !profile.fPortFilter.includes(fPort)) {
    const warning = `fPort ${fPort} carries no meter data for this profile (data ports: ${profile.fPortFilter.join(', ')})`;
    return decoded('lorawan', [], deviceWithRadio(uplink.radio, { statusErrors: [] }), [warning]);
  }
  switch (profile.codec) {
    case 'mbus':
      if (bytes.length === 0) throw new DecodeError('EMPTY_PAYLOAD', 'payload: an M-Bus application layer needs at least the CI byte, got 0 bytes');
      return decodeMbusPayload(bytes, uplink, ctx);
    case 'ts013':
      return decodeTs013(payload, profile, uplink, ctx);
    case 'chirpstack-object':
      if (object === undefined) {
        throw new DecodeError('OBJECT_MISSING', 'object: the chirpstack-object profile needs ChirpStack\'s decoded object, and the uplink has none');
      }
      return fromCodecData('chirpstack-object', mapCodecData(object, 'object'), uplink);
    case 'auto':
      return decodeAuto(payload, uplink, ctx);
  }
}

function decodeAuto(payload: Payload, uplink: RawUplink, ctx: DecodeContext): DecodedUplink {
  const { bytes, object } = payload;
  if (object !== undefined) return fromCodecData('chirpstack-object', mapCodecData(object, 'object'), uplink);
  if (!MBUS_CIS.has(bytes[0]!)) {
    throw new DecodeError(
      'NO_DEVICE_PROFILE',
      `the device has no profile, and its payload is not M-Bus (first byte 0x${bytes[0]!.toString(16).padStart(2, '0')} is no variable data structure CI)`,
    );
  }
  try {
    return decodeMbusPayload(bytes, uplink, ctx);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    throw new DecodeError('NO_DEVICE_PROFILE', `the device has no profile, and its payload does not decode as M-Bus: ${err.message}`, {
      cause: err,
    });
  }
}

async function decodeTs013(payload: Payload, profile: DeviceProfile, uplink: RawUplink, ctx: DecodeContext): Promise<DecodedUplink> {
  const script = profile.ts013Script;
  if (script === undefined || script === '') {
    throw new DecodeError('PROFILE_INCOMPLETE', 'profile: codec ts013 needs ts013Script, the codec\'s source');
  }
  if (payload.fPort === null) {
    throw new DecodeError('FPORT_MISSING', 'fPort: a TS013 codec needs the uplink\'s fPort, and the transport did not report it');
  }
  const output = await ctx.ts013.decodeUplink(script, { bytes: payload.bytes, fPort: payload.fPort, recvTime: payload.receivedAt });
  const build = `codec.${codecDigest(script)}`;
  if (output.errors.length > 0) {
    throw new DecodeError('CODEC_ERRORS', `codec: ${output.errors.join('; ')}`, { context: { errors: output.errors, codec: build } });
  }
  if (!isJsonObject(output.data)) {
    throw new DecodeError('CODEC_BAD_OUTPUT', `codec: data must be an object, got ${Array.isArray(output.data) ? 'an array' : typeof output.data}`, {
      context: { codec: build },
    });
  }
  const mapped = mapCodecData(output.data, 'data');
  return fromCodecData('ts013', { ...mapped, warnings: [...output.warnings, ...mapped.warnings] }, uplink, build);
}

function fromCodecData(decoder: string, data: CodecData, uplink: RawUplink, build?: string): DecodedUplink {
  return decoded(decoder, data.values, deviceWithRadio(uplink.radio, data.device), data.warnings, build);
}

const digests = new Map<string, string>();
const MAX_DIGESTS = 64;
const DIGEST_CHARS = 12;

/** A short SHA-256 of the codec source, cached: a device sends with the same codec for months. */
function codecDigest(script: string): string {
  let digest = digests.get(script);
  if (digest === undefined) {
    digest = createHash('sha256').update(script).digest('hex').slice(0, DIGEST_CHARS);
    if (digests.size >= MAX_DIGESTS) digests.clear();
    digests.set(script, digest);
  }
  return digest;
}
