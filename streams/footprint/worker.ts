/**
 * The footprint's two stateful workers (README.md, "Repartitioning"):
 *
 * - `footprint-repartition` reads `consumption.monthly.v1` (keyed by register and period) and writes
 *   each assigned record unchanged to `footprint.consumption-by-organisation.v1`, keyed by
 *   organisation, so that all of an organisation's registers meet on one partition;
 * - `footprint` reads that topic and writes `footprint.monthly.v1`, keeping each organisation's
 *   months in its state and re-checking them against the emission factors on a timer.
 *
 * Both run on the stateful runner, so each batch's outputs and offsets (and state) commit in one
 * Kafka transaction: a record is re-keyed exactly once, and counted exactly once.
 */
import type { RegistryCodec } from '../../core/avro/registry-codec.js';
import type { KafkaClient } from '../../core/kafka/client.js';
import type { Logger } from '../../core/log.js';
import type { TopicCatalogue } from '../../core/topics.js';
import { jsonStateCodec } from '../runtime/state-codec.js';
import { createStatefulWorker, type StatefulWorker } from '../runtime/stateful-worker.js';
import type { FactorSource } from './factors.js';
import { createFootprintHandler, type FootprintCounters } from './handler.js';
import type { RegistryDirectory } from './registry.js';
import { footprintStateCodec } from './state.js';

export const FOOTPRINT_REPARTITION_WORKER = 'footprint-repartition';
export const FOOTPRINT_WORKER = 'footprint';

/** What both workers are built from. */
export interface FootprintWorkerDeps {
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  readonly catalogue: TopicCatalogue;
  readonly logger: Logger;
  /**
   * Prefix of the consumer groups and changelogs (tests use the catalogue prefix).
   * @default ''
   */
  readonly prefix?: string;
  /** @default Date.now */
  readonly now?: () => number;
}

function runnerDeps(deps: FootprintWorkerDeps, timerIntervalMs?: number) {
  return {
    kafka: deps.kafka,
    codec: deps.codec,
    catalogue: deps.catalogue,
    logger: deps.logger,
    prefix: deps.prefix ?? '',
    ...(deps.now === undefined ? {} : { now: deps.now }),
    ...(timerIntervalMs === undefined ? {} : { timerIntervalMs }),
  };
}

/** The stage that re-keys monthly consumption by organisation. It keeps no state. */
export function createFootprintRepartitionWorker(deps: FootprintWorkerDeps): StatefulWorker {
  const { catalogue } = deps;
  return createStatefulWorker(
    {
      name: FOOTPRINT_REPARTITION_WORKER,
      input: catalogue.consumptionMonthly,
      outputs: [catalogue.footprintConsumption],
      stateCodec: jsonStateCodec<never>(),
      handle({ value }, ctx) {
        // Unassigned registers have no footprint; daily records never come here, but a stray one is not re-keyed.
        if (value.granularity === 'MONTHLY' && value.organisationId !== null) ctx.emit(catalogue.footprintConsumption, value);
      },
    },
    runnerDeps(deps),
  );
}

/** Options of {@link createFootprintWorker}. */
export interface FootprintStageDeps extends FootprintWorkerDeps {
  readonly factors: FactorSource;
  readonly directory: RegistryDirectory;
  /** How often each organisation's months are checked against the factor table, ms. */
  readonly factorCheckMs: number;
  readonly counters?: FootprintCounters;
  /** How often due timers are looked for, ms. @default 1000 */
  readonly timerIntervalMs?: number;
}

/** The keyed stage: per organisation, the monthly footprints. */
export function createFootprintWorker(deps: FootprintStageDeps): StatefulWorker {
  const { catalogue, factors, directory } = deps;
  const handler = createFootprintHandler({
    catalogue,
    factors,
    directory,
    factorCheckMs: deps.factorCheckMs,
    ...(deps.counters === undefined ? {} : { counters: deps.counters }),
  });
  return createStatefulWorker(
    {
      name: FOOTPRINT_WORKER,
      input: catalogue.footprintConsumption,
      outputs: [catalogue.footprintMonthly],
      stateCodec: footprintStateCodec,
      handle: (record, ctx) => handler.handle(record, ctx),
      async beforeBatch(_partition, records) {
        // Without factors every line would be left out; a failed first read aborts the batch, which is retried.
        if (factors.current().version === '') await factors.refresh();
        await directory.load({
          deviceIds: records.map((r) => r.value.deviceId),
          siteIds: records.flatMap((r) => (r.value.siteId === null ? [] : [r.value.siteId])),
          organisationIds: records.flatMap((r) => (r.value.organisationId === null ? [] : [r.value.organisationId])),
        });
      },
      timerOf: (value) => handler.timerOf(value),
      onTimer: (key, ctx) => handler.onTimer(key, ctx),
    },
    runnerDeps(deps, deps.timerIntervalMs),
  );
}
