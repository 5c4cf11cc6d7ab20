/**
 * The footprint process: `tsx streams/footprint/main.ts`. Reads the environment (the README's
 * variable table), checks that Kafka, the schema registry and PostgreSQL answer, then runs the
 * repartition stage, the footprint stage and the emission-factor poller until SIGTERM or SIGINT,
 * serving `/metrics` and `/healthz` on `METRICS_PORT`.
 *
 * Exports {@link createFootprintProcess} for tests and tools that run it in-process with their own
 * catalogue and prefix.
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
import { createFactorSource, type FactorSource } from './factors.js';
import { createFootprintMetrics } from './metrics.js';
import { createRegistryDirectory } from './registry.js';
import { createFootprintRepartitionWorker, createFootprintWorker } from './worker.js';

/** Options of {@link createFootprintProcess}. */
export interface FootprintProcessOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly catalogue: TopicCatalogue;
  readonly metrics: Registry;
  /**
   * Prefix of the consumer groups and changelogs (tests use the catalogue prefix).
   * @default ''
   */
  readonly prefix?: string;
  /** How often due timers are looked for, ms. @default 1000 */
  readonly timerIntervalMs?: number;
}

/** The process's parts. */
export interface FootprintProcess {
  /** In start order: PostgreSQL, the factor poller, the footprint stage, the repartition stage. */
  readonly components: readonly Component[];
  readonly repartition: StatefulWorker;
  readonly footprint: StatefulWorker;
  readonly factors: FactorSource;
}

/** The poller that keeps the factor table current: a failed poll is logged and retried on the next. */
function factorPoller(factors: FactorSource, intervalMs: number, logger: Logger): Component {
  let timer: NodeJS.Timeout | undefined;
  const poll = () => factors.refresh().catch((err: unknown) => logger.warn({ err }, 'reading emission factors failed; retried on the next poll'));
  return {
    name: 'factor-poller',
    async start() {
      await poll();
      timer = setInterval(() => void poll(), intervalMs);
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

/** Builds the process's components; nothing connects until they are started. */
export function createFootprintProcess(options: FootprintProcessOptions): FootprintProcess {
  const { config, logger, catalogue } = options;
  const pool = new pg.Pool({ connectionString: config.postgres.url, max: 2, connectionTimeoutMillis: 5_000 });
  pool.on('error', (err) => logger.warn({ err }, 'PostgreSQL connection lost; the pool reconnects on demand'));
  const kafka = createKafkaClient(config.kafka, logger);
  const codec = createRegistryCodec(config.schemaRegistry.url);
  const base = { kafka, codec, catalogue, logger, prefix: options.prefix ?? '' };
  const factors = createFactorSource({ db: pool, logger });
  const pollMs = config.footprint.factorPollS * 1000;
  const repartition = createFootprintRepartitionWorker(base);
  const footprint = createFootprintWorker({
    ...base,
    factors,
    directory: createRegistryDirectory({ db: pool }),
    factorCheckMs: pollMs,
    counters: createFootprintMetrics(options.metrics),
    ...(options.timerIntervalMs === undefined ? {} : { timerIntervalMs: options.timerIntervalMs }),
  });
  new Gauge({
    name: 'meterflux_footprint_state_keys',
    help: 'Keys in the footprint state of the partitions this process owns (organisations and their months).',
    registers: [options.metrics],
    collect() {
      this.set(footprint.stateSize());
    },
  });
  return {
    repartition,
    footprint,
    factors,
    components: [
      { name: 'postgres', start: async () => (await pool.connect()).release(), stop: () => pool.end() },
      factorPoller(factors, pollMs, logger),
      { name: 'footprint-worker', start: () => footprint.start(), stop: () => footprint.stop() },
      { name: 'footprint-repartition', start: () => repartition.start(), stop: () => repartition.stop() },
    ],
  };
}

/**
 * Runs the footprint process until a signal stops it.
 *
 * @throws {ConfigError} for an invalid environment, {@link PreflightError} when a dependency does
 *   not answer, or the start or stop error of a component.
 */
export async function main(env: Readonly<Record<string, string | undefined>> = process.env): Promise<void> {
  await runProcess(
    {
      name: 'footprint',
      needs: ['kafka', 'schemaRegistry', 'postgres'],
      components: ({ config, logger, metrics }) =>
        createFootprintProcess({ config, logger, catalogue: createTopicCatalogue({ partitions: config.kafka.partitions }), metrics }).components,
    },
    env,
  );
}

runIfEntryPoint(import.meta.url, () => main());
