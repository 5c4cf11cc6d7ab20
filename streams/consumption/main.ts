/**
 * The consumption process: `tsx streams/consumption/main.ts`. Reads the environment (the README's
 * variable table), checks that Kafka, the schema registry and PostgreSQL answer, then turns
 * `reading.v1` into `consumption.daily.v1` and `consumption.monthly.v1` until SIGTERM or SIGINT,
 * serving `/metrics` and `/healthz` on `METRICS_PORT`.
 *
 * Exports {@link createConsumptionProcess} for tests and tools that run the worker in-process with
 * their own catalogue and prefix.
 */
import pg from 'pg';
import { Gauge, type Registry } from 'prom-client';
import { createRegistryCodec } from '../../core/avro/registry-codec.js';
import type { Config } from '../../core/config.js';
import { createKafkaClient } from '../../core/kafka/client.js';
import type { Component } from '../../core/lifecycle.js';
import type { Logger } from '../../core/log.js';
import { runIfEntryPoint, runProcess } from '../../core/process-main.js';
import { createTopicCatalogue, type TopicCatalogue } from '../../core/topics.js';
import type { StatefulWorker } from '../runtime/stateful-worker.js';
import { createConsumptionMetrics } from './metrics.js';
import { createRegistry } from './registry.js';
import { createConsumptionWorker } from './worker.js';

/** Options of {@link createConsumptionProcess}. */
export interface ConsumptionProcessOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly catalogue: TopicCatalogue;
  /** Where the consumption metrics are registered. */
  readonly metrics: Registry;
  /**
   * Prefix of the consumer group and the changelog (tests use the catalogue prefix).
   * @default ''
   */
  readonly prefix?: string;
  /** How often due timers are looked for. @default 1000 */
  readonly timerIntervalMs?: number;
}

/** The consumption process's parts. */
export interface ConsumptionProcess {
  /** In start order: PostgreSQL, the worker. */
  readonly components: readonly Component[];
  readonly worker: StatefulWorker;
}

/** Builds the consumption process's components; nothing connects until they are started. */
export function createConsumptionProcess(options: ConsumptionProcessOptions): ConsumptionProcess {
  const { config, logger, catalogue } = options;
  const pool = new pg.Pool({ connectionString: config.postgres.url, max: 4, connectionTimeoutMillis: 5_000 });
  pool.on('error', (err) => logger.warn({ err }, 'PostgreSQL connection lost; the pool reconnects on demand'));
  const worker = createConsumptionWorker({
    kafka: createKafkaClient(config.kafka, logger),
    codec: createRegistryCodec(config.schemaRegistry.url),
    catalogue,
    logger,
    registry: createRegistry({ db: pool, logger }),
    rules: { graceMs: config.consumption.graceMs, lateWindowMs: config.consumption.lateWindowMs },
    metrics: createConsumptionMetrics(options.metrics),
    prefix: options.prefix ?? '',
    ...(options.timerIntervalMs === undefined ? {} : { timerIntervalMs: options.timerIntervalMs }),
  });
  new Gauge({
    name: 'meterflux_consumption_registers',
    help: 'Registers held in the consumption state of the partitions this process owns.',
    registers: [options.metrics],
    collect() {
      this.set(worker.stateSize());
    },
  });
  return {
    worker,
    components: [
      { name: 'postgres', start: async () => (await pool.connect()).release(), stop: () => pool.end() },
      { name: 'consumption-worker', start: () => worker.start(), stop: () => worker.stop() },
    ],
  };
}

/**
 * Runs the consumption process until a signal stops it.
 *
 * @throws {ConfigError} for an invalid environment, {@link PreflightError} when a dependency does
 *   not answer, or the start or stop error of a component.
 */
export async function main(env: Readonly<Record<string, string | undefined>> = process.env): Promise<void> {
  await runProcess(
    {
      name: 'consumption',
      needs: ['kafka', 'schemaRegistry', 'postgres'],
      components: ({ config, logger, metrics }) =>
        createConsumptionProcess({ config, logger, catalogue: createTopicCatalogue({ partitions: config.kafka.partitions }), metrics }).components,
    },
    env,
  );
}

runIfEntryPoint(import.meta.url, () => main());
