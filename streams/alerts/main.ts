/**
 * The alerts process: `tsx streams/alerts/main.ts`. Reads the environment (the README's variable
 * table; `ALERTS_*` set the rules), checks that Kafka, the schema registry and PostgreSQL answer,
 * then raises and clears alerts from `reading.v1` until SIGTERM or SIGINT, serving `/metrics` and
 * `/healthz` on `METRICS_PORT`.
 *
 * Exports {@link createAlertsProcess} for tests and tools that run the worker in-process with their
 * own catalogue, prefix and clock.
 */
import pg from 'pg';
import { Counter, Gauge, type Registry } from 'prom-client';
import { createRegistryCodec } from '../../core/avro/registry-codec.js';
import type { Config } from '../../core/config.js';
import { createKafkaClient } from '../../core/kafka/client.js';
import type { Component } from '../../core/lifecycle.js';
import type { Logger } from '../../core/log.js';
import { runIfEntryPoint, runProcess } from '../../core/process-main.js';
import { createTopicCatalogue, type TopicCatalogue } from '../../core/topics.js';
import type { StatefulWorker } from '../runtime/stateful-worker.js';
import type { AlertsRules } from './handler.js';
import { createAlertsRegistry } from './registry.js';
import { createAlertsWorker } from './worker.js';

/** Options of {@link createAlertsProcess}. */
export interface AlertsProcessOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly catalogue: TopicCatalogue;
  /** Where the alerts metrics are registered. */
  readonly metrics: Registry;
  /**
   * Prefix of the consumer group and the changelog (tests use the catalogue prefix).
   * @default ''
   */
  readonly prefix?: string;
  /** Rules beyond the configured ones (e.g. `criticalAfterWindows`). */
  readonly rules?: Partial<AlertsRules>;
  /** Wall clock of the silence rule and of the registry cache. @default Date.now */
  readonly now?: () => number;
  /** How often due silence timers are looked for. @default 1000 */
  readonly timerIntervalMs?: number;
  /** How long registry rows and thresholds are cached. @default 60000 */
  readonly registryTtlMs?: number;
}

/** The alerts process's parts. */
export interface AlertsProcess {
  /** In start order: PostgreSQL, the worker. */
  readonly components: readonly Component[];
  readonly worker: StatefulWorker;
}

/** Builds the alerts process's components; nothing connects until they are started. */
export function createAlertsProcess(options: AlertsProcessOptions): AlertsProcess {
  const { config, logger, catalogue } = options;
  const pool = new pg.Pool({ connectionString: config.postgres.url, max: 2, connectionTimeoutMillis: 5_000 });
  pool.on('error', (err) => logger.warn({ err }, 'PostgreSQL connection lost; the pool reconnects on demand'));
  const emitted = new Counter({
    name: 'meterflux_alerts_emitted_total',
    help: 'Alert records the alerts worker emitted, by kind and state (aborted batches may count twice).',
    labelNames: ['kind', 'state'] as const,
    registers: [options.metrics],
  });
  const worker = createAlertsWorker({
    kafka: createKafkaClient(config.kafka, logger),
    codec: createRegistryCodec(config.schemaRegistry.url),
    catalogue,
    logger,
    prefix: options.prefix ?? '',
    registry: createAlertsRegistry({
      db: pool,
      ...(options.registryTtlMs === undefined ? {} : { ttlMs: options.registryTtlMs }),
      ...(options.now === undefined ? {} : { now: options.now }),
    }),
    rules: {
      factor: config.alerts.silenceFactor,
      defaultIntervalS: config.alerts.defaultIntervalS,
      continuousFlowHours: config.alerts.continuousFlowHours,
      ...options.rules,
    },
    onEmitted: (alert) => emitted.inc({ kind: alert.kind, state: alert.state }),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.timerIntervalMs === undefined ? {} : { timerIntervalMs: options.timerIntervalMs }),
  });
  new Gauge({
    name: 'meterflux_alerts_state_keys',
    help: 'Keys in the alerts state of the partitions this process owns (one per device, one per partition).',
    registers: [options.metrics],
    collect() {
      this.set(worker.stateSize());
    },
  });
  return {
    worker,
    components: [
      { name: 'postgres', start: async () => (await pool.connect()).release(), stop: () => pool.end() },
      { name: 'alerts-worker', start: () => worker.start(), stop: () => worker.stop() },
    ],
  };
}

/**
 * Runs the alerts process until a signal stops it.
 *
 * @throws {ConfigError} for an invalid environment, {@link PreflightError} when a dependency does
 *   not answer, or the start or stop error of a component.
 */
export async function main(env: Readonly<Record<string, string | undefined>> = process.env): Promise<void> {
  await runProcess(
    {
      name: 'alerts',
      needs: ['kafka', 'schemaRegistry', 'postgres'],
      components: ({ config, logger, metrics }) =>
        createAlertsProcess({ config, logger, catalogue: createTopicCatalogue({ partitions: config.kafka.partitions }), metrics }).components,
    },
    env,
  );
}

runIfEntryPoint(import.meta.url, () => main());
