/**
 * Tails `alert.v1` as its own consumer group and records one delivery per matching subscription
 * and alert revision. Deliveries are written before the batch's offsets are committed, and the
 * table's unique key (subscription, alert id, revision) absorbs what a restart reads again, so every
 * alert change is recorded once: never lost, never twice.
 */
import type pg from 'pg';
import type { RegistryCodec } from '../../core/avro/registry-codec.js';
import type { KafkaClient } from '../../core/kafka/client.js';
import { createRecordConsumer, type RecordConsumer } from '../../core/kafka/record-consumer.js';
import type { RecordProducer } from '../../core/kafka/record-producer.js';
import type { Logger } from '../../core/log.js';
import type { TopicCatalogue } from '../../core/topics.js';
import { deliveriesForAlerts, loadCandidates, loadDeviceGroups, recordDeliveries } from './store.js';

/** Options of {@link createAlertRecorder}. */
export interface AlertRecorderOptions {
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  readonly catalogue: TopicCatalogue;
  /** Writes undecodable alerts to `alert.v1.dlq`; must be started with that topic. */
  readonly producer: RecordProducer;
  readonly db: pg.Pool;
  readonly logger: Logger;
  /** The consumer group, e.g. `notifications`; one group for every instance, which share the partitions. */
  readonly groupId: string;
  /**
   * Where a new group starts reading. The default, the end, keeps a fresh installation from
   * notifying people of a year of old alerts.
   * @default false
   */
  readonly fromBeginning?: boolean;
  /** Called with the number of deliveries each batch recorded (metrics, waking the dispatcher). */
  readonly onRecorded?: (count: number) => void;
}

/** Builds the alert consumer; nothing connects until `start`. */
export function createAlertRecorder(options: AlertRecorderOptions): RecordConsumer {
  const { db, catalogue } = options;
  const logger = options.logger.child({ component: 'notification-recorder' });
  return createRecordConsumer({
    kafka: options.kafka,
    codec: options.codec,
    producer: options.producer,
    topic: catalogue.alerts,
    dlq: catalogue.dlqOf(catalogue.alerts),
    groupId: options.groupId,
    origin: { stage: 'notifications', component: options.groupId },
    logger,
    fromBeginning: options.fromBeginning ?? false,
    async handleBatch(records) {
      const changes = records.map((r) => ({ alert: r.value, writtenAtMs: r.message.timestampMs }));
      const alerts = changes.map((c) => c.alert);
      const organisations = [...new Set(alerts.flatMap((a) => (a.organisationId === null ? [] : [a.organisationId])))];
      const candidates = await loadCandidates(db, organisations);
      if (candidates.length === 0) return [];
      const groups = await loadDeviceGroups(db, [...new Set(alerts.map((a) => a.deviceId))]);
      const inserted = await recordDeliveries(db, deliveriesForAlerts(changes, candidates, groups));
      if (inserted.length > 0) logger.debug({ count: inserted.length }, 'recorded alert deliveries');
      options.onRecorded?.(inserted.length);
      return [];
    },
  });
}
