/**
 * The MQTT topics the connector subscribes to, and what each received topic means. Pure.
 *
 * ```
 * {prefix}stations/{stationId}/telemetry                    GHG station measurements
 * {prefix}stations/{stationId}/status                       GHG station status and diagnostics
 * {prefix}application/{applicationId}/device/{devEui}/event/{up|status|join}   ChirpStack v4
 * {prefix}wmbus/{gatewayId}/telegram                        wireless M-Bus telegram from a gateway
 * ```
 */
import { PayloadError } from '../../core/errors.js';

/** What a topic carries, which decides how its payload is read; also the `kind` label of the received counter. */
export type TopicKind =
  | 'station_telemetry'
  | 'station_status'
  | 'chirpstack_up'
  | 'chirpstack_status'
  | 'chirpstack_join'
  | 'wmbus_telegram';

/** The ChirpStack events the connector subscribes to. */
export const CHIRPSTACK_EVENTS = ['up', 'status', 'join'] as const;
export type ChirpstackEvent = (typeof CHIRPSTACK_EVENTS)[number];

/** A received topic, understood. */
export type TopicRoute =
  | { readonly kind: 'station_telemetry' | 'station_status'; readonly stationId: string; readonly deviceId: string }
  | {
      readonly kind: 'chirpstack_up' | 'chirpstack_status' | 'chirpstack_join';
      readonly event: ChirpstackEvent;
      readonly applicationId: string;
      /** 16 lowercase hex digits. */
      readonly devEui: string;
      readonly deviceId: string;
    }
  | { readonly kind: 'wmbus_telegram'; readonly gatewayId: string };

/**
 * Station and gateway ids: they become part of device ids and Kafka keys (`station:{stationId}`,
 * `{stationId}|{gas}|…`), so no separators, wildcards or spaces.
 */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NAME_EXPECTED = '1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit';
const DEV_EUI_PATTERN = /^[0-9A-Fa-f]{16}$/;

/** The subscription filters for a topic root; `prefix` is prepended verbatim (`it-3f9a/` → `it-3f9a/stations/+/+`). */
export function subscriptionFilters(prefix: string): string[] {
  return [
    // Any second level under stations/ and wmbus/, so a misspelt message kind reaches the DLQ instead of nowhere.
    `${prefix}stations/+/+`,
    ...CHIRPSTACK_EVENTS.map((event) => `${prefix}application/+/device/+/event/${event}`),
    `${prefix}wmbus/+/+`,
  ];
}

/**
 * Problems with a topic prefix, empty when it is usable: it must not contain wildcards and must end
 * with `/` unless empty.
 */
export function topicPrefixProblems(prefix: string): string[] {
  const problems: string[] = [];
  if (/[+#]/.test(prefix)) problems.push(`topicPrefix must not contain the wildcards "+" or "#", got "${prefix}"`);
  if (prefix !== '' && !prefix.endsWith('/')) problems.push(`topicPrefix must be empty or end with "/", got "${prefix}"`);
  return problems;
}

/**
 * What a received topic means.
 * @throws {PayloadError} `UNKNOWN_TOPIC` for a topic outside the scheme above; `INVALID_FIELD` when
 *   the topic has the right shape but an id in it is malformed.
 */
export function parseTopic(topic: string, prefix: string): TopicRoute {
  const levels = topic.startsWith(prefix) ? topic.slice(prefix.length).split('/') : [];
  const [root, id, kind] = levels;

  if (root === 'stations' && levels.length === 3 && (kind === 'telemetry' || kind === 'status')) {
    const stationId = checkName(id ?? '', 'stationId');
    return { kind: kind === 'telemetry' ? 'station_telemetry' : 'station_status', stationId, deviceId: `station:${stationId}` };
  }
  if (root === 'wmbus' && levels.length === 3 && kind === 'telegram') {
    return { kind: 'wmbus_telegram', gatewayId: checkName(id ?? '', 'gatewayId') };
  }
  if (root === 'application' && levels.length === 6 && levels[2] === 'device' && levels[4] === 'event') {
    const event = CHIRPSTACK_EVENTS.find((candidate) => candidate === levels[5]);
    const applicationId = levels[1] ?? '';
    const devEui = levels[3] ?? '';
    if (event !== undefined && applicationId !== '') {
      if (!DEV_EUI_PATTERN.test(devEui)) throw topicField('devEui', '16 hex digits', devEui);
      const lower = devEui.toLowerCase();
      return { kind: `chirpstack_${event}`, event, applicationId, devEui: lower, deviceId: `lorawan:${lower}` };
    }
  }
  throw new PayloadError({
    field: 'topic',
    problem: `"${topic}" is not one of ${subscriptionSummary(prefix)}`,
    reason: 'UNKNOWN_TOPIC',
  });
}

function checkName(name: string, what: string): string {
  if (!NAME_PATTERN.test(name)) throw topicField(what, NAME_EXPECTED, name);
  return name;
}

function topicField(what: string, expected: string, received: string): PayloadError {
  return new PayloadError({
    field: `topic ${what}`,
    problem: `must be ${expected}, got "${received}"`,
    reason: 'INVALID_FIELD',
  });
}

function subscriptionSummary(prefix: string): string {
  return [
    `${prefix}stations/{stationId}/{telemetry|status}`,
    `${prefix}application/{applicationId}/device/{devEui}/event/{${CHIRPSTACK_EVENTS.join('|')}}`,
    `${prefix}wmbus/{gatewayId}/telegram`,
  ].join(', ');
}

/** Whether `topic` matches the subscription `filter` (`+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const filterLevels = filter.split('/');
  const topicLevels = topic.split('/');
  for (const [index, level] of filterLevels.entries()) {
    if (level === '#') return true;
    if (index >= topicLevels.length) return false;
    if (level !== '+' && level !== topicLevels[index]) return false;
  }
  return filterLevels.length === topicLevels.length;
}
