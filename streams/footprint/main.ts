/**
 * The footprint process: `tsx streams/footprint/main.ts`. Reads the environment (the README's
 * variable table), checks that Kafka, the schema registry and PostgreSQL answer, then runs the
 * repartition stage, the footprint stage and the emission-factor poller until SIGTERM or SIGINT,
 * serving `/metrics` and `/healthz` on `METRICS_PORT`.
 *
 * Exports {@link createFootprintProcess} for tests and tools that run it in-process with their own
 * catalogue and prefix.
 */
import type { Component } from '../../core/lifecycle.js';
import type { Logger } from '../../core/log.js';
import { runIfEntryPoint } from '../../core/process-main.js';
import type { StatefulWorker } from '../runtime/stateful-worker.js';
import type { WorkerProcessOptions } from '../runtime/worker-process.js';
import { createWorkerConnections, registerStateSizeGauge, runWorkerProcess, workerComponent } from '../runtime/worker-process.js';
import { createFactorSource, type FactorSource } from './factors.js';
import { createFootprintMetrics } from './metrics.js';
import { createRegistryDirectory } from './registry.js';
import { createFootprintRepartitionWorker, createFootprintWorker } from './worker.js';

/** Options of {@link createFootprintProcess}. */
export interface FootprintProcessOptions extends WorkerProcessOptions {
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
  const { config, logger } = options;
  const { pool, postgres, deps } = createWorkerConnections(options, 2);
  const factors = createFactorSource({ db: pool, logger });
  const pollMs = config.footprint.factorPollS * 1000;
  const repartition = createFootprintRepartitionWorker(deps);
  const footprint = createFootprintWorker({
    ...deps,
    factors,
    directory: createRegistryDirectory({ db: pool }),
    factorCheckMs: pollMs,
    counters: createFootprintMetrics(options.metrics),
    timerIntervalMs: options.timerIntervalMs,
  });
  registerStateSizeGauge(options.metrics, footprint, {
    name: 'meterflux_footprint_state_keys',
    help: 'Keys in the footprint state of the partitions this process owns (organisations and their months).',
  });
  return {
    repartition,
    footprint,
    factors,
    components: [
      postgres,
      factorPoller(factors, pollMs, logger),
      workerComponent('footprint-worker', footprint),
      workerComponent('footprint-repartition', repartition),
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
  await runWorkerProcess({ name: 'footprint', create: createFootprintProcess }, env);
}

runIfEntryPoint(import.meta.url, () => main());
