/**
 * The concentration worker: a stateful worker `concentration` on `reading.v1` writing
 * `concentration.hourly.v1` and `concentration.daily.v1`, run by the stateful runner, so each
 * batch's records, state changes and offsets commit in one Kafka transaction. The runner's
 * `beforeBatch` hook loads the batch's stations from the registry at once. Rules: README.md.
 */
import type { RegistryCodec } from '../../core/avro/registry-codec.js';
import type { KafkaClient } from '../../core/kafka/client.js';
import type { Logger } from '../../core/log.js';
import type { TopicCatalogue } from '../../core/topics.js';
import { createStatefulWorker, type StatefulWorker } from '../runtime/stateful-worker.js';
import { createConcentrationHandler, STATION_PREFIX, type ConcentrationCounters, type ConcentrationOptions } from './handler.js';
import { concentrationStateCodec } from './state.js';
import type { LoadingStationDirectory } from './stations.js';

/** The worker's name: its consumer group, changelog topic and transactional ids derive from it. */
export const CONCENTRATION_WORKER = 'concentration';

/** Everything the concentration worker is built from. */
export interface ConcentrationWorkerDeps {
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  readonly catalogue: TopicCatalogue;
  readonly logger: Logger;
  readonly stations: LoadingStationDirectory;
  readonly options: ConcentrationOptions;
  readonly counters?: ConcentrationCounters;
  /**
   * Prefix of the consumer group and changelog (tests use the catalogue prefix).
   * @default ''
   */
  readonly prefix?: string;
  /** Wall clock (idle closing, computedAt). @default Date.now */
  readonly now?: () => number;
  /** How often due timers are looked for, ms. @default 1000 */
  readonly timerIntervalMs?: number;
}

/** Creates the worker; the caller starts and stops it (a lifecycle component). */
export function createConcentrationWorker(deps: ConcentrationWorkerDeps): StatefulWorker {
  const { catalogue, stations } = deps;
  const handler = createConcentrationHandler({
    catalogue,
    options: deps.options,
    stations,
    ...(deps.counters === undefined ? {} : { counters: deps.counters }),
  });
  return createStatefulWorker(
    {
      name: CONCENTRATION_WORKER,
      input: catalogue.readings,
      outputs: [catalogue.concentrationHourly, catalogue.concentrationDaily],
      stateCodec: concentrationStateCodec,
      handle: (record, ctx) => handler.handle(record, ctx),
      async beforeBatch(partition, records) {
        handler.beginBatch(partition);
        const ids = new Set<string>();
        for (const { value } of records) if (value.deviceId.startsWith(STATION_PREFIX)) ids.add(value.deviceId);
        if (ids.size > 0) await stations.load(ids);
      },
      timerOf: (value) => handler.timerOf(value),
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
