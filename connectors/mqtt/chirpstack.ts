/**
 * ChirpStack v4 integration events as its MQTT integration publishes them (JSON marshaling of
 * `integration.proto`: camelCase names, 64-bit ids as strings, bytes as base64, and — proto3 —
 * fields at their default value left out, so a missing `fCnt` is 0). Only what the connector needs
 * is read and checked; the event stays untouched in the RawUplink payload for decode.
 */
import type { RadioMetadata } from '../../schemas/avro/index.js';
import { PayloadError } from '../../core/errors.js';
import {
  invalid,
  isJsonObject,
  optionalArray,
  optionalBoolean,
  optionalInstant,
  optionalNumber,
  optionalObject,
  optionalString,
  pathOf,
  requiredObject,
  requiredString,
  type JsonObject,
  type StringRule,
} from './json-fields.js';
import type { ChirpstackEvent } from './topics.js';

/** What the connector takes from a ChirpStack event. */
export interface ChirpstackEventFacts {
  readonly deduplicationId: string;
  /** `time`, epoch ms; null when the event has none. */
  readonly timeMs: number | null;
  /** From the best `rxInfo` and `txInfo` of an `up` event; null for `status` and `join`. */
  readonly radio: RadioMetadata | null;
  /** Identifiers worth keeping beside the payload, as text. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** Where the event was published: its topic names application and device. */
export interface ChirpstackTopicFacts {
  readonly event: ChirpstackEvent;
  readonly applicationId: string;
  /** 16 lowercase hex digits. */
  readonly devEui: string;
}

const HEX16: StringRule = { pattern: /^[0-9A-Fa-f]{16}$/, expected: '16 hex digits' };
const DEV_ADDR: StringRule = { pattern: /^[0-9A-Fa-f]{8}$/, expected: '8 hex digits' };
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UINT32_MAX = 0xffff_ffff;

/**
 * Validates an event against the topic it arrived on.
 * @throws {PayloadError} `MISSING_FIELD`, `INVALID_FIELD`, `BAD_BASE64`, or `TOPIC_MISMATCH` when the
 *   event names another device or application than its topic.
 */
export function parseChirpstackEvent(json: JsonObject, topic: ChirpstackTopicFacts): ChirpstackEventFacts {
  const deduplicationId = requiredString(json, 'deduplicationId');
  const timeMs = optionalInstant(json, 'time') ?? null;
  const deviceInfo = requiredObject(json, 'deviceInfo');
  const devEui = requiredString(deviceInfo, 'devEui', HEX16, 'deviceInfo').toLowerCase();
  if (devEui !== topic.devEui) throw mismatch('deviceInfo.devEui', devEui, topic.devEui);
  const applicationId = optionalString(deviceInfo, 'applicationId', undefined, 'deviceInfo');
  if (applicationId !== undefined && applicationId !== topic.applicationId) {
    throw mismatch('deviceInfo.applicationId', applicationId, topic.applicationId);
  }
  const devAddr = optionalString(json, 'devAddr', DEV_ADDR);

  const metadata: Record<string, string> = { event: topic.event, applicationId: topic.applicationId };
  setIfPresent(metadata, 'tenantId', optionalString(deviceInfo, 'tenantId', undefined, 'deviceInfo'));
  setIfPresent(metadata, 'deviceProfileId', optionalString(deviceInfo, 'deviceProfileId', undefined, 'deviceInfo'));
  setIfPresent(metadata, 'deviceProfileName', optionalString(deviceInfo, 'deviceProfileName', undefined, 'deviceInfo'));
  setIfPresent(metadata, 'devAddr', devAddr?.toLowerCase());

  if (topic.event === 'status') checkStatus(json);
  if (topic.event !== 'up') return { deduplicationId, timeMs, radio: null, metadata };

  const uplink = readUplink(json);
  setIfPresent(metadata, 'dr', uplink.dr?.toString());
  metadata['gatewayCount'] = String(uplink.receptions.length);
  return { deduplicationId, timeMs, radio: radioOf(uplink), metadata };
}

interface Reception {
  readonly gatewayId: string | null;
  readonly rssiDbm: number | null;
  readonly snrDb: number | null;
}

interface UplinkFields {
  readonly fCnt: number;
  readonly fPort: number | null;
  readonly dr: number | undefined;
  readonly frequencyHz: number | null;
  readonly spreadingFactor: number | null;
  readonly receptions: readonly Reception[];
}

function readUplink(json: JsonObject): UplinkFields {
  const data = optionalString(json, 'data');
  if (data !== undefined && !BASE64.test(data)) throw invalid('data', 'must be base64', data, 'BAD_BASE64');
  // Decode prefers ChirpStack's own decoding when there is one, so it must be an object.
  optionalObject(json, 'object');
  const txInfo = optionalObject(json, 'txInfo') ?? {};
  const modulation = optionalObject(txInfo, 'modulation', 'txInfo') ?? {};
  const lora = optionalObject(modulation, 'lora', 'txInfo.modulation') ?? {};
  return {
    // proto3 JSON leaves out zero values: no fCnt is frame counter 0…
    fCnt: optionalNumber(json, 'fCnt', { min: 0, max: UINT32_MAX, integer: true }) ?? 0,
    // …but FPort 0 carries only MAC commands, so no fPort is reported as none rather than 0.
    fPort: optionalNumber(json, 'fPort', { min: 0, max: 255, integer: true }) ?? null,
    dr: optionalNumber(json, 'dr', { min: 0, max: 15, integer: true }),
    frequencyHz: optionalNumber(txInfo, 'frequency', { min: 1, integer: true, unit: 'Hz' }, 'txInfo') ?? null,
    spreadingFactor: optionalNumber(lora, 'spreadingFactor', { min: 5, max: 12, integer: true }, 'txInfo.modulation.lora') ?? null,
    receptions: (optionalArray(json, 'rxInfo') ?? []).map(readReception),
  };
}

function readReception(entry: unknown, index: number): Reception {
  const path = pathOf('rxInfo', index);
  if (!isJsonObject(entry)) throw invalid(path, 'must be an object', entry);
  return {
    gatewayId: optionalString(entry, 'gatewayId', HEX16, path)?.toLowerCase() ?? null,
    rssiDbm: optionalNumber(entry, 'rssi', {}, path) ?? null,
    snrDb: optionalNumber(entry, 'snr', {}, path) ?? null,
  };
}

/** The gateway that heard the uplink best: highest SNR (the LoRa link margin), then highest RSSI. */
function radioOf(uplink: UplinkFields): RadioMetadata {
  const best = [...uplink.receptions].sort(
    (a, b) => (b.snrDb ?? -Infinity) - (a.snrDb ?? -Infinity) || (b.rssiDbm ?? -Infinity) - (a.rssiDbm ?? -Infinity),
  )[0];
  return {
    rssiDbm: best?.rssiDbm ?? null,
    snrDb: best?.snrDb ?? null,
    gatewayId: best?.gatewayId ?? null,
    frequencyHz: uplink.frequencyHz,
    spreadingFactor: uplink.spreadingFactor,
    fCnt: uplink.fCnt,
    fPort: uplink.fPort,
  };
}

function checkStatus(json: JsonObject): void {
  optionalNumber(json, 'margin', { integer: true });
  optionalBoolean(json, 'externalPowerSource');
  optionalBoolean(json, 'batteryLevelUnavailable');
  optionalNumber(json, 'batteryLevel', { min: 0, max: 100, unit: '%' });
}

function mismatch(field: string, received: string, expected: string): PayloadError {
  return new PayloadError({
    field,
    problem: `must match the topic ("${expected}"), got "${received}"`,
    reason: 'TOPIC_MISMATCH',
  });
}

function setIfPresent(target: Record<string, string>, key: string, value: string | undefined): void {
  if (value !== undefined) target[key] = value;
}
