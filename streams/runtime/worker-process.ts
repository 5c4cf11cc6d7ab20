/**
 * The assembly that the stateful stream worker processes share (consumption, concentration,
 * footprint, alerts, decode): their PostgreSQL pool, Kafka client and schema-registry codec, the
 * gauge of the keys their state holds, the lifecycle components of the pool and the workers, and
 * their `main` on top of {@link runProcess}. Each process's own module says only what is its own:
 * its workers, their rules and metrics, and any further components.
 */
import pg from 'pg';
import { Gauge, type Registry } from 'prom-client';
import { createRegistryCodec, type RegistryCodec } from '../../core/avro/registry-codec.js';
import type { Config } from '../../core/config.js';
import { createKafkaClient, type KafkaClient } from '../../core/kafka/client.js';
import type { Component } from '../../core/lifecycle.js';
import type { Logger } from '../../core/log.js';
import type { ServiceName } from '../../core/preflight.js';
import { runProcess } from '../../core/process-main.js';
import { createTopicCatalogue, type TopicCatalogue } from '../../core/topics.js';
import type { StatefulWorker } from './stateful-worker.js';

/** What every worker process is built from: by its `main`, or by a test or tool running it in-process. */
export interface WorkerProcessOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly catalogue: TopicCatalogue;
  /** Where the process's metrics are registered. */
  readonly metrics: Registry;
  /**
   * Prefix of the consumer groups and changelogs (tests use the catalogue prefix).
   * @default ''
   */
  readonly prefix?: string;
}

/** A process of one stateful worker. */
export interface WorkerProcess {
  /** In start order. */
  readonly components: readonly Component[];
  readonly worker: StatefulWorker;
}

/** What every stateful worker of a process gets, whatever else its own deps hold. */
export interface SharedWorkerDeps {
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  readonly catalogue: TopicCatalogue;
  readonly logger: Logger;
  readonly prefix: string;
}

/** The connections of a worker process; nothing connects until its components start. */
export interface WorkerConnections {
  readonly pool: pg.Pool;
  /** Checks a connection out (and back) at start, so PostgreSQL answers first; ends the pool at stop. */
  readonly postgres: Component;
  readonly deps: SharedWorkerDeps;
}

/**
 * Builds a process's PostgreSQL pool of `poolSize` connections (a lost connection is logged and
 * replaced on demand), its Kafka client and its codec.
 */
export function createWorkerConnections(options: WorkerProcessOptions, poolSize: number): WorkerConnections {
  const { config, logger, catalogue } = options;
  const pool = new pg.Pool({ connectionString: config.postgres.url, max: poolSize, connectionTimeoutMillis: 5_000 });
  pool.on('error', (err) => logger.warn({ err }, 'PostgreSQL connection lost; the pool reconnects on demand'));
  return {
    pool,
    postgres: { name: 'postgres', start: async () => (await pool.connect()).release(), stop: () => pool.end() },
    deps: {
      kafka: createKafkaClient(config.kafka, logger),
      codec: createRegistryCodec(config.schemaRegistry.url),
      catalogue,
      logger,
      prefix: options.prefix ?? '',
    },
  };
}

/** The name and help text of a {@link registerStateSizeGauge} gauge. */
export interface StateSizeGauge {
  readonly name: string;
  readonly help: string;
}

/** Registers in `metrics` a gauge that reads `worker.stateSize()` at every scrape. */
export function registerStateSizeGauge(metrics: Registry, worker: StatefulWorker, gauge: StateSizeGauge): void {
  new Gauge({
    ...gauge,
    registers: [metrics],
    collect() {
      this.set(worker.stateSize());
    },
  });
}

/** `worker` as a lifecycle component named `name`. */
export function workerComponent(name: string, worker: StatefulWorker): Component {
  return { name, start: () => worker.start(), stop: () => worker.stop() };
}

/** The services a worker process checks before it starts, unless its definition names others. */
export const WORKER_PROCESS_NEEDS: readonly ServiceName[] = ['kafka', 'schemaRegistry', 'postgres'];

/** What a worker process brings to {@link runWorkerProcess}. */
export interface WorkerProcessDefinition {
  /** The logger's name, e.g. `consumption`. */
  readonly name: string;
  /** @default {@link WORKER_PROCESS_NEEDS} */
  readonly needs?: readonly ServiceName[];
  /** Builds the process from its options; nothing connects until its components start. */
  readonly create: (options: WorkerProcessOptions) => { readonly components: readonly Component[] };
}

/**
 * Runs a worker process until SIGTERM or SIGINT: {@link runProcess} with the process built on the
 * topic catalogue of the configured partition count, without a prefix.
 *
 * @throws {ConfigError} for an invalid environment, {@link PreflightError} when a dependency does
 *   not answer, or the start or stop error of a component.
 */
export async function runWorkerProcess(definition: WorkerProcessDefinition, env: Readonly<Record<string, string | undefined>>): Promise<void> {
  await runProcess(
    {
      name: definition.name,
      needs: definition.needs ?? WORKER_PROCESS_NEEDS,
      components: ({ config, logger, metrics }) =>
        definition.create({ config, logger, metrics, catalogue: createTopicCatalogue({ partitions: config.kafka.partitions }) }).components,
    },
    env,
  );
}
