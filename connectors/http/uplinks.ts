/**
 * `POST /v1/uplinks`: one uplink object, or `{"uplinks": [...]}`, turned into uplink drafts. A
 * request is taken whole or not at all: one bad uplink refuses the batch, naming every bad field.
 * Pure; the wire format is specified in README.md.
 */
import type { PayloadFormat, RadioMetadata } from '../../schemas/avro/index.js';
import { payloadHash, type UplinkDraft } from '../kit/ingest.js';
import {
  canonicalJson,
  checkKnownFields,
  fieldPath,
  isJsonObject,
  isPresent,
  Issues,
  itemPath,
  parseJsonBody,
  readBase64,
  readHex,
  readNumber,
  readString,
  readTime,
  type JsonObject,
} from './fields.js';
import type { RequestContext } from './request-context.js';

type DeviceKind = 'lorawan' | 'mbus' | 'station';

/** Formats of `payloadHex` / `payloadBase64`, and the kind of device each belongs to. */
const BYTE_FORMATS = {
  MBUS_LONG_FRAME: 'mbus',
  WMBUS_TELEGRAM: 'mbus',
  LORAWAN_PAYLOAD: 'lorawan',
  STATION_TELEMETRY: 'station',
  STATION_STATUS: 'station',
} as const satisfies Partial<Record<PayloadFormat, DeviceKind>>;
type ByteFormat = keyof typeof BYTE_FORMATS;

const IDENTITY_FIELDS = ['deviceId', 'devEui', 'mbusAddress', 'stationId'] as const;
const PAYLOAD_FIELDS = ['payloadHex', 'payloadBase64', 'values'] as const;
const UPLINK_FIELDS = [...IDENTITY_FIELDS, 'payloadFormat', ...PAYLOAD_FIELDS, 'time', 'radio'];
const RADIO_FIELDS = ['rssiDbm', 'snrDb', 'gatewayId', 'frequencyHz', 'spreadingFactor', 'fCnt', 'fPort'];

const STATION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DEVICE_ID = /^(?:(?:lorawan|mbus):[0-9a-f]{16}|station:[A-Za-z0-9][A-Za-z0-9._-]{0,63})$/;
const EUI = /^[0-9A-Fa-f]{16}$/;
const GATEWAY_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const REGISTER_KEY = /^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*$/;
const UNIT = /^[^\s\p{Cc}]{1,16}$/u;
const MAX_VALUES = 256;

/** One valid uplink of a request. */
interface Uplink {
  readonly deviceId: string;
  readonly payloadFormat: PayloadFormat;
  readonly payload: Buffer;
  readonly timeMs: number | null;
  readonly radio: RadioMetadata | null;
}

/**
 * Parses and validates a `POST /v1/uplinks` body into one draft per uplink, in request order.
 *
 * @throws {BadInputError} `MALFORMED_JSON` for a body that is not UTF-8 JSON.
 * @throws {SchemaValidationError} `INVALID_FIELD` naming every bad field by its path in the body.
 */
export function parseUplinksRequest(body: Uint8Array, context: RequestContext, maxUplinks: number): UplinkDraft[] {
  const json = parseJsonBody(body);
  const issues = new Issues();
  const uplinks = batchItems(json, maxUplinks, issues).flatMap(({ value, path }) => readUplink(value, path, issues) ?? []);
  issues.throwIfAny('uplink request');
  return uplinks.map((uplink, index) => ({
    idempotencyKey: uplinkIdempotencyKey(context, index, uplink),
    deviceId: uplink.deviceId,
    transport: 'HTTP',
    payloadFormat: uplink.payloadFormat,
    payload: uplink.payload,
    deviceTimeAt: uplink.timeMs,
    organisationId: context.organisationId,
    radio: uplink.radio,
    sourceAddress: context.sourceAddress,
    metadata: { ...context.metadata },
  }));
}

/**
 * The idempotency key of the `index`th uplink of a request. With an `Idempotency-Key` header it
 * derives from the header, so a retry is recognised downstream even when the client re-serialised
 * its body; without one it derives from the content: device, frame counter or time, payload. An
 * uplink with none of these is this request's own: a meter whose unchanged value arrives twice must
 * not be taken for a retry and dropped, so a retry of such a request is kept as a second uplink.
 */
function uplinkIdempotencyKey(
  context: RequestContext,
  index: number,
  uplink: Pick<Uplink, 'deviceId' | 'payload' | 'timeMs' | 'radio'>,
): string {
  const organisation = context.organisationId;
  if (context.idempotencyKey !== undefined) {
    return `http:${organisation}:key:${payloadHash(Buffer.from(context.idempotencyKey, 'utf8'))}:${index}`;
  }
  const fCnt = uplink.radio?.fCnt ?? null;
  if (fCnt === null && uplink.timeMs === null) return `http:${organisation}:${uplink.deviceId}:request=${context.requestId}:${index}`;
  const when = fCnt !== null ? `fcnt=${fCnt}` : `time=${uplink.timeMs}`;
  return `http:${organisation}:${uplink.deviceId}:${when}:${payloadHash(uplink.payload)}`;
}

function batchItems(json: unknown, maxUplinks: number, issues: Issues): Array<{ value: unknown; path: string }> {
  if (!isJsonObject(json) || !('uplinks' in json)) return [{ value: json, path: '' }];
  checkKnownFields(json, ['uplinks'], '', issues);
  const list = json['uplinks'];
  if (!Array.isArray(list) || list.length === 0 || list.length > maxUplinks) {
    issues.add('uplinks', `an array of 1 to ${maxUplinks} uplink objects`, list);
    return [];
  }
  return list.map((value: unknown, index) => ({ value, path: itemPath('uplinks', index) }));
}

function readUplink(value: unknown, path: string, issues: Issues): Uplink | undefined {
  if (!isJsonObject(value)) {
    const expected = path === '' ? 'an uplink object, or {"uplinks": [uplink objects]}' : 'an uplink object';
    return issues.add(path === '' ? 'body' : path, expected, value);
  }
  const before = issues.count;
  checkKnownFields(value, UPLINK_FIELDS, path, issues);
  const deviceId = readDeviceId(value, path, issues);
  const payload = readPayload(value, path, deviceId, issues);
  const timeMs = readTime(value['time'], fieldPath(path, 'time'), issues) ?? null;
  const radio = readRadio(value['radio'], fieldPath(path, 'radio'), issues);
  if (issues.count > before || deviceId === undefined || payload === undefined) return undefined;
  return { deviceId, ...payload, timeMs, radio };
}

/** Exactly one of the identity fields, as a device id. */
function readDeviceId(uplink: JsonObject, path: string, issues: Issues): string | undefined {
  const present = IDENTITY_FIELDS.filter((field) => isPresent(uplink[field]));
  const [field, extra] = present;
  if (field === undefined) {
    return issues.add(fieldPath(path, 'deviceId'), `one of ${IDENTITY_FIELDS.join(', ')}`, undefined);
  }
  if (extra !== undefined) {
    return issues.add(fieldPath(path, extra), `only one of ${IDENTITY_FIELDS.join(', ')} (${field} is given)`, uplink[extra]);
  }
  const at = fieldPath(path, field);
  const value = uplink[field];
  switch (field) {
    case 'deviceId':
      return readString(value, at, DEVICE_ID,
        'lorawan:{16 lowercase hex digits}, mbus:{16 lowercase hex digits} or station:{station id}', issues);
    case 'devEui': {
      const eui = readString(value, at, EUI, '16 hex digits', issues);
      return eui === undefined ? undefined : `lorawan:${eui.toLowerCase()}`;
    }
    case 'mbusAddress': {
      const address = readString(value, at, EUI, '16 hex digits (identification number, manufacturer, version, medium)', issues);
      return address === undefined ? undefined : `mbus:${address.toLowerCase()}`;
    }
    case 'stationId': {
      const station = readString(value, at, STATION_ID, '1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit', issues);
      return station === undefined ? undefined : `station:${station}`;
    }
  }
}

/** Exactly one of the payload fields, with its format; the format must suit the device. */
function readPayload(
  uplink: JsonObject,
  path: string,
  deviceId: string | undefined,
  issues: Issues,
): Pick<Uplink, 'payload' | 'payloadFormat'> | undefined {
  const present = PAYLOAD_FIELDS.filter((field) => isPresent(uplink[field]));
  const [field, extra] = present;
  const formatPath = fieldPath(path, 'payloadFormat');
  const format = uplink['payloadFormat'];
  if (field === undefined) return issues.add(fieldPath(path, 'payloadHex'), `one of ${PAYLOAD_FIELDS.join(', ')}`, undefined);
  if (extra !== undefined) {
    return issues.add(fieldPath(path, extra), `only one of ${PAYLOAD_FIELDS.join(', ')} (${field} is given)`, uplink[extra]);
  }

  if (field === 'values') {
    if (isPresent(format) && format !== 'DECODED_VALUES_JSON') {
      return issues.add(formatPath, 'DECODED_VALUES_JSON or nothing, as values are given', format);
    }
    if (!checkValues(uplink['values'], fieldPath(path, 'values'), issues)) return undefined;
    // The uplink object itself is the payload, so decode sees time and values exactly as sent.
    return { payload: Buffer.from(canonicalJson(uplink), 'utf8'), payloadFormat: 'DECODED_VALUES_JSON' };
  }

  if (!isByteFormat(format)) return issues.add(formatPath, `one of ${Object.keys(BYTE_FORMATS).join(', ')}`, format);
  const kind = deviceId?.slice(0, deviceId.indexOf(':'));
  if (kind !== undefined && kind !== BYTE_FORMATS[format]) {
    const suitable = Object.keys(BYTE_FORMATS).filter((name) => BYTE_FORMATS[name as ByteFormat] === kind);
    return issues.add(formatPath, `a payload format of ${kind} devices (${suitable.join(', ')}), or values`, format);
  }
  const at = fieldPath(path, field);
  const payload = field === 'payloadHex' ? readHex(uplink[field], at, issues) : readBase64(uplink[field], at, issues);
  return payload === undefined ? undefined : { payload, payloadFormat: format };
}

function isByteFormat(value: unknown): value is ByteFormat {
  return typeof value === 'string' && Object.hasOwn(BYTE_FORMATS, value);
}

/** `{"volume": 12.5, "energy.tariff1": {"value": 3.2, "unit": "kWh"}}`. */
function checkValues(values: unknown, path: string, issues: Issues): boolean {
  const before = issues.count;
  if (!isJsonObject(values) || Object.keys(values).length === 0 || Object.keys(values).length > MAX_VALUES) {
    issues.add(path, `an object of 1 to ${MAX_VALUES} register keys`, values);
    return false;
  }
  for (const [key, value] of Object.entries(values)) {
    const at = fieldPath(path, key);
    if (!REGISTER_KEY.test(key)) {
      issues.add(at, 'a register key: lowercase words joined by ".", e.g. "volume" or "energy.tariff1"', key);
    } else if (!isReadingValue(value)) {
      issues.add(at, 'a finite number, or {"value": finite number, "unit": string of 1 to 16 characters}', value);
    }
  }
  return issues.count === before;
}

function isReadingValue(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (!isJsonObject(value)) return false;
  const keys = Object.keys(value);
  const number = value['value'];
  const unit = value['unit'];
  return keys.length === 2 && typeof number === 'number' && Number.isFinite(number) && typeof unit === 'string' && UNIT.test(unit);
}

function readRadio(value: unknown, path: string, issues: Issues): RadioMetadata | null {
  if (!isPresent(value)) return null;
  if (!isJsonObject(value)) {
    issues.add(path, `an object with any of ${RADIO_FIELDS.join(', ')}`, value);
    return null;
  }
  checkKnownFields(value, RADIO_FIELDS, path, issues);
  const at = (field: string) => fieldPath(path, field);
  const gatewayId = readString(value['gatewayId'], at('gatewayId'), GATEWAY_ID,
    'a gateway EUI (16 hex digits) or name of 1 to 64 letters, digits, ".", "_", ":" or "-"', issues);
  return {
    rssiDbm: readNumber(value['rssiDbm'], at('rssiDbm'), { min: -200, max: 50 }, issues) ?? null,
    snrDb: readNumber(value['snrDb'], at('snrDb'), { min: -50, max: 50 }, issues) ?? null,
    // A LoRaWAN gateway EUI is stored in lowercase like every other EUI; names stay as given.
    gatewayId: gatewayId === undefined ? null : EUI.test(gatewayId) ? gatewayId.toLowerCase() : gatewayId,
    frequencyHz: readNumber(value['frequencyHz'], at('frequencyHz'), { min: 1, max: 10_000_000_000, integer: true }, issues) ?? null,
    spreadingFactor: readNumber(value['spreadingFactor'], at('spreadingFactor'), { min: 5, max: 12, integer: true }, issues) ?? null,
    fCnt: readNumber(value['fCnt'], at('fCnt'), { min: 0, max: 0xffff_ffff, integer: true }, issues) ?? null,
    fPort: readNumber(value['fPort'], at('fPort'), { min: 0, max: 255, integer: true }, issues) ?? null,
  };
}
