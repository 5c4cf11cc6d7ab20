/**
 * ChirpStack v4 HTTP integration: ChirpStack POSTs each event, JSON-marshalled from its
 * `integration.proto`, to the configured URL with `?event=<type>`. The JSON follows proto3 rules:
 * camelCase names, bytes as base64, and fields at their default value left out (no `fCnt` is frame
 * counter 0). Only what the connector needs is read and checked; the body stays untouched as the
 * RawUplink payload, and decode reads the rest. Pure.
 */
import type { RadioMetadata } from '../../schemas/avro/index.js';
import type { UplinkDraft } from '../kit/ingest.js';
import {
  fieldPath,
  isJsonObject,
  isPresent,
  Issues,
  itemPath,
  parseJsonBody,
  readBase64,
  readNumber,
  readString,
  readTime,
  requireString,
  type JsonObject,
} from './fields.js';
import type { RequestContext } from './request-context.js';

/** The events that become RawUplinks. */
export const CHIRPSTACK_EVENTS = ['up', 'status', 'join'] as const;
export type ChirpStackEvent = (typeof CHIRPSTACK_EVENTS)[number];

/**
 * The other events ChirpStack sends to an HTTP integration. They carry no meter data, so they are
 * answered 204 and dropped rather than refused: a 4xx would make ChirpStack log an error for each.
 */
export const IGNORED_CHIRPSTACK_EVENTS = ['ack', 'txack', 'log', 'location', 'integration'] as const;

const UUID = /^[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$/;
const EUI = /^[0-9A-Fa-f]{16}$/;
const DEV_ADDR = /^[0-9A-Fa-f]{8}$/;
const TEXT = /^[^\p{Cc}]{1,256}$/u;

/**
 * What the `event` query parameter asks for: an event to ingest, or one to drop.
 * @throws {SchemaValidationError} `INVALID_FIELD` (field `event`) for a missing, repeated or unknown event.
 */
export function chirpStackEventOf(query: unknown): { readonly event: ChirpStackEvent } | { readonly ignored: string } {
  if ((CHIRPSTACK_EVENTS as readonly unknown[]).includes(query)) return { event: query as ChirpStackEvent };
  if ((IGNORED_CHIRPSTACK_EVENTS as readonly unknown[]).includes(query)) return { ignored: query as string };
  const issues = new Issues();
  issues.add('event', `one of ${[...CHIRPSTACK_EVENTS, ...IGNORED_CHIRPSTACK_EVENTS].join(', ')}`, query);
  throw issues.error('ChirpStack request');
}

/**
 * The draft of one ChirpStack event. Its idempotency key is the `deduplicationId` for `up` (the
 * same key the MQTT connector gives the same event), with `:{event}` appended for `status` and
 * `join`, which ChirpStack gives the deduplicationId of the uplink that carried them.
 *
 * @throws {BadInputError} `MALFORMED_JSON` for a body that is not UTF-8 JSON.
 * @throws {SchemaValidationError} `INVALID_FIELD` naming every bad field.
 */
export function parseChirpStackRequest(event: ChirpStackEvent, body: Buffer, context: RequestContext): UplinkDraft {
  const json = parseJsonBody(body);
  const issues = new Issues();
  if (!isJsonObject(json)) {
    issues.add('body', `a ChirpStack ${event} event object`, json);
    throw issues.error(`ChirpStack ${event} event`);
  }
  const deduplicationId = requireString(json['deduplicationId'], 'deduplicationId', UUID, 'a UUID', issues);
  const timeMs = readTime(json['time'], 'time', issues) ?? null;
  const device = readDevice(json['deviceInfo'], issues);
  const devAddr = readString(json['devAddr'], 'devAddr', DEV_ADDR, '8 hex digits', issues);
  const metadata: Record<string, string> = { event, ...device?.metadata };
  if (devAddr !== undefined) metadata['devAddr'] = devAddr.toLowerCase();

  let radio: RadioMetadata | null = null;
  if (event === 'up') {
    const uplink = readUplinkFields(json, issues);
    radio = uplink.radio;
    if (uplink.dr !== undefined) metadata['dr'] = String(uplink.dr);
    metadata['gatewayCount'] = String(uplink.gatewayCount);
  } else if (event === 'status') {
    checkStatusFields(json, issues);
  }
  if (issues.count > 0 || deduplicationId === undefined || device === undefined) throw issues.error(`ChirpStack ${event} event`);

  return {
    idempotencyKey: event === 'up' ? deduplicationId : `${deduplicationId}:${event}`,
    deviceId: `lorawan:${device.devEui}`,
    transport: 'HTTP',
    payloadFormat: 'CHIRPSTACK_EVENT',
    payload: body,
    deviceTimeAt: timeMs,
    organisationId: context.organisationId,
    radio,
    sourceAddress: context.sourceAddress,
    metadata: { ...metadata, ...context.metadata },
  };
}

function readDevice(value: unknown, issues: Issues): { devEui: string; metadata: Record<string, string> } | undefined {
  if (!isJsonObject(value)) return issues.add('deviceInfo', 'an object with devEui', value);
  const devEui = requireString(value['devEui'], 'deviceInfo.devEui', EUI, '16 hex digits', issues);
  const metadata: Record<string, string> = {};
  for (const key of ['tenantId', 'applicationId', 'deviceProfileId', 'deviceProfileName'] as const) {
    const text = readString(value[key], fieldPath('deviceInfo', key), TEXT, 'a string of 1 to 256 characters', issues);
    if (text !== undefined) metadata[key] = text;
  }
  return devEui === undefined ? undefined : { devEui: devEui.toLowerCase(), metadata };
}

interface UplinkFields {
  readonly radio: RadioMetadata;
  readonly dr: number | undefined;
  readonly gatewayCount: number;
}

interface Reception {
  readonly gatewayId: string | null;
  readonly rssiDbm: number | null;
  readonly snrDb: number | null;
}

function readUplinkFields(event: JsonObject, issues: Issues): UplinkFields {
  if (isPresent(event['data'])) readBase64(event['data'], 'data', issues, true);
  if (isPresent(event['object']) && !isJsonObject(event['object'])) issues.add('object', 'an object', event['object']);
  const txInfo = optionalObject(event['txInfo'], 'txInfo', issues);
  const modulation = optionalObject(txInfo['modulation'], 'txInfo.modulation', issues);
  const lora = optionalObject(modulation['lora'], 'txInfo.modulation.lora', issues);
  const receptions = readReceptions(event['rxInfo'], issues);
  // The gateway that heard the uplink best: highest SNR (the LoRa link margin), then highest RSSI.
  const best = [...receptions].sort((a, b) =>
    (b.snrDb ?? -Infinity) - (a.snrDb ?? -Infinity) || (b.rssiDbm ?? -Infinity) - (a.rssiDbm ?? -Infinity))[0];
  return {
    radio: {
      rssiDbm: best?.rssiDbm ?? null,
      snrDb: best?.snrDb ?? null,
      gatewayId: best?.gatewayId ?? null,
      frequencyHz: readNumber(txInfo['frequency'], 'txInfo.frequency', { min: 1, max: 0xffff_ffff, integer: true }, issues) ?? null,
      spreadingFactor: readNumber(lora['spreadingFactor'], 'txInfo.modulation.lora.spreadingFactor',
        { min: 5, max: 12, integer: true }, issues) ?? null,
      // proto3 JSON leaves out zero values: no fCnt is frame counter 0, but no fPort is FPort 0,
      // which carries only MAC commands, so it is reported as no application port.
      fCnt: readNumber(event['fCnt'], 'fCnt', { min: 0, max: 0xffff_ffff, integer: true }, issues) ?? 0,
      fPort: readNumber(event['fPort'], 'fPort', { min: 0, max: 255, integer: true }, issues) ?? null,
    },
    dr: readNumber(event['dr'], 'dr', { min: 0, max: 15, integer: true }, issues),
    gatewayCount: receptions.length,
  };
}

function readReceptions(value: unknown, issues: Issues): Reception[] {
  if (!isPresent(value)) return [];
  if (!Array.isArray(value)) {
    issues.add('rxInfo', 'an array of objects', value);
    return [];
  }
  return value.flatMap((entry: unknown, index): Reception[] => {
    const path = itemPath('rxInfo', index);
    if (!isJsonObject(entry)) {
      issues.add(path, 'an object', entry);
      return [];
    }
    const gatewayId = readString(entry['gatewayId'], fieldPath(path, 'gatewayId'), EUI, '16 hex digits', issues);
    return [{
      gatewayId: gatewayId?.toLowerCase() ?? null,
      rssiDbm: readNumber(entry['rssi'], fieldPath(path, 'rssi'), { min: -200, max: 50 }, issues) ?? null,
      snrDb: readNumber(entry['snr'], fieldPath(path, 'snr'), { min: -50, max: 50 }, issues) ?? null,
    }];
  });
}

function checkStatusFields(event: JsonObject, issues: Issues): void {
  readNumber(event['margin'], 'margin', { min: -128, max: 127, integer: true }, issues);
  readNumber(event['batteryLevel'], 'batteryLevel', { min: 0, max: 100 }, issues);
  for (const flag of ['externalPowerSource', 'batteryLevelUnavailable']) {
    if (isPresent(event[flag]) && typeof event[flag] !== 'boolean') issues.add(flag, 'true or false', event[flag]);
  }
}

/** An optional nested object; `{}` when absent or wrong, so optional fields inside read as absent. */
function optionalObject(value: unknown, path: string, issues: Issues): JsonObject {
  if (!isPresent(value)) return {};
  if (isJsonObject(value)) return value;
  issues.add(path, 'an object', value);
  return {};
}
