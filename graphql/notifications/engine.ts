/**
 * The notification engine as lifecycle components: a listener for delivery changes, the dispatcher
 * that sends queued deliveries, and the recorder that turns `alert.v1` into deliveries. The API
 * process runs it through the notifications module (`module.ts`); tests run it on its own.
 */
import type pg from 'pg';
import { Counter, type Registry } from 'prom-client';
import type { RegistryCodec } from '../../core/avro/registry-codec.js';
import type { Config } from '../../core/config.js';
import type { KafkaClient } from '../../core/kafka/client.js';
import { createRecordProducer } from '../../core/kafka/record-producer.js';
import type { Component } from '../../core/lifecycle.js';
import type { Logger } from '../../core/log.js';
import type { TopicCatalogue } from '../../core/topics.js';
import { createEmailSender, createWebhookSender } from './channels.js';
import { createDispatcher, type Dispatcher } from './dispatcher.js';
import { createDeliveryListener, type DeliveryListener } from './listener.js';
import { createAlertRecorder } from './recorder.js';
import { webhookAllowlist } from './webhook-destination.js';

/** Options of {@link createNotificationEngine}. */
export interface NotificationEngineOptions {
  readonly db: pg.Pool;
  readonly databaseUrl: string;
  readonly notifications: Config['notifications'];
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  readonly catalogue: TopicCatalogue;
  readonly logger: Logger;
  /**
   * Prefix of the consumer group `notifications` (tests use the catalogue prefix).
   * @default ''
   */
  readonly prefix?: string;
  /** Where the attempt counters are registered; none when omitted. */
  readonly metrics?: Registry;
  /** Passed to the recorder: where a new consumer group starts. @default false */
  readonly fromBeginning?: boolean;
  /** Passed to the dispatcher. @default 1000 */
  readonly pollIntervalMs?: number;
}

/** The engine's parts. */
export interface NotificationEngine {
  /** In start order: DLQ producer, listener, dispatcher, alert recorder. */
  readonly components: readonly Component[];
  /** Delivery changes of every instance, for live subscriptions. */
  readonly listener: DeliveryListener;
  readonly dispatcher: Dispatcher;
}

/** Builds the engine; nothing connects until its components start. */
export function createNotificationEngine(options: NotificationEngineOptions): NotificationEngine {
  const { notifications, catalogue, logger } = options;
  const prefix = options.prefix ?? '';
  const attempts = options.metrics
    ? new Counter({
        name: 'meterflux_notification_attempts_total',
        help: 'Notification delivery attempts by channel and outcome (sent, retry, failed).',
        labelNames: ['channel', 'outcome'],
        registers: [options.metrics],
      })
    : undefined;
  const recorded = options.metrics
    ? new Counter({
        name: 'meterflux_notification_deliveries_recorded_total',
        help: 'Deliveries recorded for alert changes (duplicates from re-read alerts not counted).',
        registers: [options.metrics],
      })
    : undefined;

  const listener = createDeliveryListener({ databaseUrl: options.databaseUrl, logger });
  const dispatcher = createDispatcher({
    db: options.db,
    logger,
    webhook: createWebhookSender({ timeoutMs: notifications.timeoutMs, allowlist: webhookAllowlist(notifications.webhookAllowHosts) }),
    email:
      notifications.smtpUrl === undefined
        ? undefined
        : createEmailSender({ url: notifications.smtpUrl, from: notifications.smtpFrom, timeoutMs: notifications.timeoutMs }),
    retry: { maxAttempts: notifications.maxAttempts, baseDelayMs: notifications.retryBaseMs, maxDelayMs: 3_600_000 },
    ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
    onAttempt: (delivery, completion) => attempts?.inc({ channel: delivery.channel, outcome: completion.kind }),
  });
  // Deliveries queued by another instance (an operator message through another API process).
  listener.subscribe((change) => {
    if (change.state === 'queued') dispatcher.wake();
  });

  const dlqProducer = createRecordProducer({ kafka: options.kafka, codec: options.codec, topics: [catalogue.dlqOf(catalogue.alerts)] });
  const recorder = createAlertRecorder({
    kafka: options.kafka,
    codec: options.codec,
    catalogue,
    producer: dlqProducer,
    db: options.db,
    logger,
    groupId: `${prefix}notifications`,
    ...(options.fromBeginning === undefined ? {} : { fromBeginning: options.fromBeginning }),
    onRecorded(count) {
      recorded?.inc(count);
      if (count > 0) dispatcher.wake();
    },
  });

  return {
    listener,
    dispatcher,
    components: [
      { name: 'notification-dlq-producer', start: () => dlqProducer.start(), stop: () => dlqProducer.stop() },
      { name: 'notification-listener', start: () => listener.start(), stop: () => listener.stop() },
      { name: 'notification-dispatcher', start: () => dispatcher.start(), stop: () => dispatcher.stop() },
      { name: 'notification-recorder', start: () => recorder.start(), stop: () => recorder.stop() },
    ],
  };
}
