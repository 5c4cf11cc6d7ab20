/**
 * The alerts worker: a stateful worker `alerts` on `reading.v1` writing `alert.v1` (and dead
 * letters to `reading.v1.dlq`), run by the stateful runner, so each batch's alerts, state changes
 * (`alerts.changelog.v1`) and offsets commit in one Kafka transaction, and the silence timers kept in
 * state run in transactions of their own. What it does: handler.ts; rules: README.md.
 */
import type { RegistryCodec } from '../../core/avro/registry-codec.js';
import type { KafkaClient } from '../../core/kafka/client.js';
import type { Logger } from '../../core/log.js';
import type { TopicCatalogue } from '../../core/topics.js';
import { createStatefulWorker, type StatefulWorker } from '../runtime/stateful-worker.js';
import { createAlertsHandler, type AlertsHandlerDeps } from './handler.js';
import { alertsStateCodec } from './state.js';

/** The worker's name: its consumer group, changelog topic and transactional ids derive from it. */
export const ALERTS_WORKER = 'alerts';

/** Everything the alerts worker is built from. */
export interface AlertsWorkerDeps extends Omit<AlertsHandlerDeps, 'catalogue'> {
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  readonly catalogue: TopicCatalogue;
  readonly logger: Logger;
  /**
   * Prefix of the consumer group and changelog (tests use the catalogue prefix).
   * @default ''
   */
  readonly prefix?: string;
  /** Wall clock of the silence rule. @default Date.now */
  readonly now?: () => number;
  /**
   * How often due silence timers are looked for.
   * @default 1000
   */
  readonly timerIntervalMs?: number;
}

/** Creates the worker; the caller starts and stops it (a lifecycle component). */
export function createAlertsWorker(deps: AlertsWorkerDeps): StatefulWorker {
  const { catalogue } = deps;
  const handler = createAlertsHandler(deps);
  return createStatefulWorker(
    {
      name: ALERTS_WORKER,
      input: catalogue.readings,
      outputs: [catalogue.alerts],
      stateCodec: alertsStateCodec,
      handle: (record, ctx) => handler.handle(record, ctx),
      beforeBatch: (partition, records) => handler.beforeBatch(partition, records),
      timerOf: (state) => handler.timerOf(state),
      onTimer: (key, ctx) => handler.onTimer(key, ctx),
    },
    {
      kafka: deps.kafka,
      codec: deps.codec,
      catalogue,
      logger: deps.logger,
      prefix: deps.prefix ?? '',
      ...(deps.now === undefined ? {} : { now: deps.now }),
      ...(deps.timerIntervalMs === undefined ? {} : { timerIntervalMs: deps.timerIntervalMs }),
    },
  );
}
