/**
 * Records (as Kafka carries them and the indexing worker stores them in Elasticsearch) in the
 * shape of the GraphQL types. One mapping per type, used by queries and subscriptions alike.
 */
import type { RecordTypes } from '../../schemas/avro/index.js';

export const readingNode = (r: RecordTypes['Reading']) => ({ ...r, id: r.readingId });

export const consumptionNode = (c: RecordTypes['Consumption']) => c;

export const concentrationNode = (c: RecordTypes['Concentration']) => ({ ...c, deviceId: `station:${c.stationId}` });

export const footprintNode = (f: RecordTypes['Footprint']) => f;

/** Map entries sorted by key, for `[Entry!]!`. */
export const entries = (map: Readonly<Record<string, string>> | null | undefined) =>
  Object.entries(map ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => ({ key, value: String(value) }));

export const alertNode = (a: RecordTypes['Alert']) => ({ ...a, id: a.alertId, details: entries(a.details) });

/** An acknowledgement as stored in `alert_acknowledgements`. */
export interface Acknowledgement {
  readonly acknowledgedAt: number;
  readonly acknowledgedBy: string;
}

/**
 * The alert with its acknowledgement merged: an acknowledgement counts for the occurrence raised
 * at or before it; a present (not cleared) alert then reads ACKNOWLEDGED.
 */
export function withAcknowledgement(alert: RecordTypes['Alert'], ack: Acknowledgement | undefined): RecordTypes['Alert'] {
  if (!ack || ack.acknowledgedAt < alert.raisedAt) return alert;
  if (alert.acknowledgedAt !== null && alert.acknowledgedAt >= ack.acknowledgedAt) return alert;
  const present = alert.state === 'RAISED' || alert.state === 'UPDATED' || alert.state === 'ACKNOWLEDGED';
  return {
    ...alert,
    acknowledgedAt: ack.acknowledgedAt,
    acknowledgedBy: ack.acknowledgedBy,
    state: present ? 'ACKNOWLEDGED' : alert.state,
  };
}

/** A dead letter as the rejects index stores it (bytes as base64). */
export interface RejectDocument {
  readonly deadLetterId: string;
  readonly originalTopic: string | null;
  readonly originalPartition: number | null;
  readonly originalOffset: number | null;
  readonly originalKey: string | null;
  readonly originalValue: string;
  readonly originalHeaders: Readonly<Record<string, string>>;
  readonly reasonCode: string;
  readonly reasonMessage: string;
  readonly paths: readonly string[];
  readonly stage: string;
  readonly component: string;
  readonly deviceId: string | null;
  readonly transport: string | null;
  readonly failedAt: number;
  readonly attempt: number;
  readonly details: Readonly<Record<string, string>>;
}

export const rejectNode = (d: RejectDocument) => ({
  id: d.deadLetterId,
  reasonCode: d.reasonCode,
  reasonMessage: d.reasonMessage,
  paths: d.paths ?? [],
  stage: d.stage,
  component: d.component,
  deviceId: d.deviceId,
  transport: d.transport,
  originalTopic: d.originalTopic,
  failedAt: d.failedAt,
  attempt: d.attempt,
  sizeBytes: Buffer.byteLength(d.originalValue ?? '', 'base64'),
  details: entries(d.details),
});

/** A device.v1 record as a DeviceStatusEvent (without cursor). */
export const deviceStatusNode = (d: RecordTypes['Device']) => ({
  deviceId: d.deviceId,
  siteId: d.siteId,
  status: d.status,
  change: d.change,
  lastSeenAt: d.lastSeenAt,
  batteryPercent: d.batteryPercent,
  rssiDbm: d.rssiDbm,
  revision: d.revision,
});
