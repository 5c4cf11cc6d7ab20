/**
 * Turns one MQTT message into the RawUplink draft the ingest writes. Pure: the source calls it for
 * every message, tests call it with fixtures. The payload goes into the draft byte for byte (for
 * wM-Bus: the telegram bytes the envelope carries as hex).
 */
import { PayloadError } from '../../core/errors.js';
import { payloadHash, type UplinkDraft } from '../kit/ingest.js';
import { parseChirpstackEvent } from './chirpstack.js';
import { parseJsonObject } from './json-fields.js';
import { parseStationStatus, parseStationTelemetry } from './stations.js';
import type { TopicRoute } from './topics.js';
import { meterIdOf, parseWmbusEnvelope } from './wmbus.js';

/** One message as the broker delivered it. */
export interface MqttMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
}

/**
 * The draft for a message whose topic is understood.
 * @throws {PayloadError} naming the bad field, with a reason code for the DLQ: `PAYLOAD_TOO_LARGE`,
 *   `MALFORMED_JSON`, `MISSING_FIELD`, `INVALID_FIELD`, `BAD_HEX`, `BAD_BASE64`, `TOPIC_MISMATCH`.
 */
export function uplinkDraftFor(route: TopicRoute, message: MqttMessage, maxPayloadBytes: number): UplinkDraft {
  if (message.payload.length > maxPayloadBytes) {
    throw new PayloadError({
      field: 'payload',
      problem: `must be at most ${maxPayloadBytes} bytes, got ${message.payload.length}`,
      reason: 'PAYLOAD_TOO_LARGE',
    });
  }
  const json = parseJsonObject(message.payload);
  const transport = { transport: 'MQTT', sourceAddress: message.topic } as const;
  const mqttMetadata = { qos: String(message.qos), retain: String(message.retain) };

  switch (route.kind) {
    case 'station_telemetry':
    case 'station_status': {
      const telemetry = route.kind === 'station_telemetry';
      const { timeMs } = telemetry ? parseStationTelemetry(json) : parseStationStatus(json);
      return {
        ...transport,
        // Stations have no message id; the same bytes are the same message.
        idempotencyKey: `sha256:${payloadHash(message.payload)}`,
        deviceId: route.deviceId,
        payloadFormat: telemetry ? 'STATION_TELEMETRY' : 'STATION_STATUS',
        payload: message.payload,
        deviceTimeAt: timeMs,
        radio: null,
        metadata: mqttMetadata,
      };
    }
    case 'chirpstack_up':
    case 'chirpstack_status':
    case 'chirpstack_join': {
      const event = parseChirpstackEvent(json, route);
      return {
        ...transport,
        // A status or join event can carry the deduplicationId of the uplink it came with.
        idempotencyKey: route.event === 'up' ? event.deduplicationId : `${event.deduplicationId}:${route.event}`,
        deviceId: route.deviceId,
        payloadFormat: 'CHIRPSTACK_EVENT',
        payload: message.payload,
        deviceTimeAt: event.timeMs,
        radio: event.radio,
        metadata: { ...event.metadata, ...mqttMetadata },
      };
    }
    case 'wmbus_telegram': {
      const envelope = parseWmbusEnvelope(json);
      return {
        ...transport,
        // The telegram includes the meter's access number, so a repeat of the same bytes (another
        // gateway hearing it, or a redelivery) is the same transmission.
        idempotencyKey: `sha256:${payloadHash(envelope.telegram)}`,
        deviceId: meterIdOf(envelope.telegram),
        payloadFormat: 'WMBUS_TELEGRAM',
        payload: envelope.telegram,
        deviceTimeAt: envelope.timeMs ?? null,
        radio: {
          rssiDbm: envelope.rssiDbm ?? null,
          snrDb: null,
          gatewayId: route.gatewayId,
          frequencyHz: null,
          spreadingFactor: null,
          fCnt: null,
          fPort: null,
        },
        metadata: { ...envelope.fields, gatewayId: route.gatewayId, ...mqttMetadata },
      };
    }
  }
}
