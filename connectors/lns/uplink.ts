/**
 * Turns one uplink message of a network server (a live `rx`/`gw`, or an entry of a history answer)
 * into the fields of a RawUplink: the application payload bytes exactly as the server gave them in
 * hex, the device id, the server time and the radio metadata. Pure, so it is tested table-driven
 * against fixtures (test/fixtures/lns).
 */
import { PayloadError } from '../../core/errors.js';
import type { RadioMetadata } from '../../schemas/avro/index.js';
import type { UplinkDraft } from '../kit/ingest.js';
import { payloadHash } from '../kit/ingest.js';
import { REJECT_REASONS, describe, isObject, type JsonObject, type LnsDialect } from './protocol.js';

/** An uplink read from a network-server message. */
export interface LnsUplink {
  /** DevEUI, 16 lowercase hex digits. */
  readonly devEui: string;
  /** Network-server time of the uplink (epoch ms): the resume cursor is made of these. */
  readonly ts: number;
  readonly fCnt: number;
  /** 0 is a MAC-only frame: no application payload. */
  readonly fPort: number;
  /** The application payload (FRMPayload) as the server decrypted it, untouched. */
  readonly payload: Buffer;
  readonly radio: RadioMetadata;
  /** Transport facts kept as text: `ack`, `dr`, `type`… */
  readonly metadata: Readonly<Record<string, string>>;
  /** `lorawan:{devEui}:{fCnt}:{ts}:{sha256(payload)}`: fCnt restarts after a rejoin, ts and the hash tell those apart. */
  readonly idempotencyKey: string;
}

/** What can be told about a message that failed to parse, to key its dead letter. */
export interface UplinkIdentity {
  readonly devEui?: string;
  readonly ts?: number;
}

const FIELD_NAMES: Readonly<Record<LnsDialect, { readonly devEui: string }>> = {
  vega: { devEui: 'devEui' },
  loriot: { devEui: 'EUI' },
};

const MAX_FCNT = 0xffff_ffff;

/**
 * Reads an uplink message of `dialect`. Throws a {@link PayloadError} naming the field for a missing
 * or malformed DevEUI, ts, fcnt, port or data (reason `MISSING_FIELD` or `INVALID_FIELD`), and for
 * a LORIOT uplink that only carries `encdata` (reason `ENCRYPTED_PAYLOAD`: the network server has no
 * AppSKey for the device). Optional radio fields of the wrong type are left out, not refused.
 */
export function readUplink(message: JsonObject, dialect: LnsDialect): LnsUplink {
  const devEui = readDevEui(message, FIELD_NAMES[dialect].devEui);
  const ts = readInteger(message, 'ts', 0, Number.MAX_SAFE_INTEGER);
  const fCnt = readInteger(message, 'fcnt', 0, MAX_FCNT);
  const fPort = readInteger(message, 'port', 0, 255);
  const payload = readPayload(message, dialect);
  const radio = dialect === 'vega' ? vegaRadio(message) : loriotRadio(message);
  return {
    devEui,
    ts,
    fCnt,
    fPort,
    payload,
    radio: { ...radio, fCnt, fPort },
    metadata: textFields(message, dialect === 'vega' ? ['ack', 'dr', 'type', 'packetStatus', 'appEui'] : ['ack', 'dr', 'bat', 'toa', 'seqno']),
    idempotencyKey: `lorawan:${devEui}:${fCnt}:${ts}:${payloadHash(payload)}`,
  };
}

/** The DevEUI and ts of a message, where readable, so a refused message is still keyed by its device. */
export function identify(message: unknown, dialect: LnsDialect): UplinkIdentity {
  if (!isObject(message)) return {};
  const eui = message[FIELD_NAMES[dialect].devEui];
  const ts = message['ts'];
  return {
    ...(typeof eui === 'string' && /^[0-9a-fA-F]{16}$/.test(eui) ? { devEui: eui.toLowerCase() } : {}),
    ...(Number.isSafeInteger(ts) && (ts as number) >= 0 ? { ts: ts as number } : {}),
  };
}

/** The meterflux device id of a DevEUI (schemas/avro/README.md). */
export function deviceIdOf(devEui: string): string {
  return `lorawan:${devEui}`;
}

/** The draft handed to the ingest: the uplink plus where it came from. */
export function uplinkDraft(uplink: LnsUplink, sourceAddress: string, metadata: Readonly<Record<string, string>>): UplinkDraft {
  return {
    idempotencyKey: uplink.idempotencyKey,
    deviceId: deviceIdOf(uplink.devEui),
    transport: 'LNS_WEBSOCKET',
    payloadFormat: 'LORAWAN_PAYLOAD',
    payload: uplink.payload,
    deviceTimeAt: uplink.ts,
    sourceAddress,
    radio: uplink.radio,
    metadata: { ...uplink.metadata, ...metadata },
  };
}

function readDevEui(message: JsonObject, field: string): string {
  const value = message[field];
  if (value === undefined) throw missing(field);
  if (typeof value !== 'string' || !/^[0-9a-fA-F]{16}$/.test(value)) {
    throw invalid(field, `must be 16 hex digits, got ${describe(value)}`);
  }
  return value.toLowerCase();
}

function readInteger(message: JsonObject, field: string, min: number, max: number): number {
  const value = message[field];
  if (value === undefined) throw missing(field);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

function readPayload(message: JsonObject, dialect: LnsDialect): Buffer {
  const data = message['data'];
  if (data === undefined && dialect === 'loriot' && message['encdata'] !== undefined) {
    throw new PayloadError({
      field: 'data',
      problem: 'is absent and only encdata was sent: the network server has no AppSKey for this device',
      reason: REJECT_REASONS.encryptedPayload,
    });
  }
  if (data === undefined) throw missing('data');
  if (typeof data !== 'string' || data.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(data)) {
    throw invalid('data', `must be hex digits in pairs, got ${describe(data)}`);
  }
  return Buffer.from(data, 'hex');
}

function vegaRadio(message: JsonObject): Omit<RadioMetadata, 'fCnt' | 'fPort'> {
  return {
    rssiDbm: numberOrNull(message['rssi']),
    snrDb: numberOrNull(message['snr']),
    gatewayId: gatewayIdOrNull(message['gatewayId']),
    frequencyHz: integerOrNull(message['freq']),
    spreadingFactor: spreadingFactor(message['dr']),
  };
}

/** A LORIOT `rx` carries rssi/snr of the best gateway; a `gw` lists every gateway under `gws`. */
function loriotRadio(message: JsonObject): Omit<RadioMetadata, 'fCnt' | 'fPort'> {
  const gateways = Array.isArray(message['gws']) ? message['gws'].filter(isObject) : [];
  const best = gateways.reduce<JsonObject | undefined>(
    (found, gw) => (found === undefined || (numberOrNull(gw['rssi']) ?? -Infinity) > (numberOrNull(found['rssi']) ?? -Infinity) ? gw : found),
    undefined,
  );
  return {
    rssiDbm: numberOrNull(best?.['rssi'] ?? message['rssi']),
    snrDb: numberOrNull(best?.['snr'] ?? message['snr']),
    gatewayId: gatewayIdOrNull(best?.['gweui']),
    frequencyHz: integerOrNull(message['freq']),
    spreadingFactor: spreadingFactor(message['dr']),
  };
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function integerOrNull(value: unknown): number | null {
  return Number.isSafeInteger(value) ? (value as number) : null;
}

/** Gateway EUIs are lowercased like DevEUIs; other gateway names are kept as sent. */
function gatewayIdOrNull(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return null;
  const eui = value.replaceAll('-', '');
  return /^[0-9a-fA-F]{16}$/.test(eui) ? eui.toLowerCase() : value;
}

/** `SF12 BW125 4/5` → 12. */
function spreadingFactor(dr: unknown): number | null {
  const match = typeof dr === 'string' ? /SF(\d{1,2})/i.exec(dr) : null;
  return match ? Number(match[1]) : null;
}

function textFields(message: JsonObject, fields: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const field of fields) {
    const value = message[field];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[field] = String(value);
  }
  return out;
}

function missing(field: string): PayloadError {
  return new PayloadError({ field, problem: 'is missing', reason: REJECT_REASONS.missingField });
}

function invalid(field: string, problem: string): PayloadError {
  return new PayloadError({ field, problem, reason: REJECT_REASONS.invalidField });
}
