/**
 * The concentration process: `tsx streams/concentration/main.ts`. Reads the environment (the
 * README's variable table), checks that Kafka, the schema registry and PostgreSQL answer, then turns
 * station readings of `reading.v1` into hourly and daily concentration statistics until SIGTERM or
 * SIGINT, serving `/metrics` and `/healthz` on `METRICS_PORT`.
 *
 * Exports {@link createConcentrationProcess} for tests and tools that run it in-process with their
 * own catalogue and prefix.
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
import { GWP_SETS } from './gases.js';
import type { ConcentrationOptions } from './handler.js';
import { createConcentrationMetrics } from './metrics.js';
import { createStationDirectory } from './stations.js';
import { createConcentrationWorker } from './worker.js';

/** The rules as the configuration states them. */
export function concentrationOptions(config: Config): ConcentrationOptions {
  return {
    gwpSet: GWP_SETS[config.concentration.gwpSet],
    defaultIntervalS: config.concentration.defaultIntervalS,
    latenessMs: config.concentration.latenessH * 3_600_000,
    idleCloseMs: config.concentration.idleCloseS * 1000,
  };
}

/** Options of {@link createConcentrationProcess}. */
export interface ConcentrationProcessOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly catalogue: TopicCatalogue;
  /** Where the metrics are registered. */
  readonly metrics: Registry;
  /**
   * Prefix of the consumer group and changelog (tests use the catalogue prefix).
   * @default ''
   */
  readonly prefix?: string;
  /** Overrides of the configured rules (tests shorten the idle close). */
  readonly options?: Partial<ConcentrationOptions>;
  /** How often due timers are looked for, ms. @default 1000 */
  readonly timerIntervalMs?: number;
}

/** The process's parts. */
export interface ConcentrationProcess {
  /** In start order: PostgreSQL, the worker. */
  readonly components: readonly Component[];
  readonly worker: StatefulWorker;
}

/** Builds the process's components; nothing connects until they are started. */
export function createConcentrationProcess(options: ConcentrationProcessOptions): ConcentrationProcess {
  const { config, logger, catalogue } = options;
  const pool = new pg.Pool({ connectionString: config.postgres.url, max: 2, connectionTimeoutMillis: 5_000 });
  pool.on('error', (err) => logger.warn({ err }, 'PostgreSQL connection lost; the pool reconnects on demand'));
  const worker = createConcentrationWorker({
    kafka: createKafkaClient(config.kafka, logger),
    codec: createRegistryCodec(config.schemaRegistry.url),
    catalogue,
    logger,
    stations: createStationDirectory({ db: pool, logger }),
    options: { ...concentrationOptions(config), ...options.options },
    counters: createConcentrationMetrics(options.metrics),
    prefix: options.prefix ?? '',
    ...(options.timerIntervalMs === undefined ? {} : { timerIntervalMs: options.timerIntervalMs }),
  });
  new Gauge({
    name: 'meterflux_concentration_state_keys',
    help: 'Keys in the concentration state of the partitions this process owns (stations, their retained hours and days).',
    registers: [options.metrics],
    collect() {
      this.set(worker.stateSize());
    },
  });
  return {
    worker,
    components: [
      { name: 'postgres', start: async () => (await pool.connect()).release(), stop: () => pool.end() },
      { name: 'concentration-worker', start: () => worker.start(), stop: () => worker.stop() },
    ],
  };
}

/**
 * Runs the concentration process until a signal stops it.
 *
 * @throws {ConfigError} for an invalid environment, {@link PreflightError} when a dependency does
 *   not answer, or the start or stop error of a component.
 */
export async function main(env: Readonly<Record<string, string | undefined>> = process.env): Promise<void> {
  await runProcess(
    {
      name: 'concentration',
      needs: ['kafka', 'schemaRegistry', 'postgres'],
      components: ({ config, logger, metrics }) =>
        createConcentrationProcess({ config, logger, catalogue: createTopicCatalogue({ partitions: config.kafka.partitions }), metrics }).components,
    },
    env,
  );
}

runIfEntryPoint(import.meta.url, () => main());
