/**
 * The concentration process: `tsx streams/concentration/main.ts`. Reads the environment (the
 * README's variable table), checks that Kafka, the schema registry and PostgreSQL answer, then turns
 * station readings of `reading.v1` into hourly and daily concentration statistics until SIGTERM or
 * SIGINT, serving `/metrics` and `/healthz` on `METRICS_PORT`.
 *
 * Exports {@link createConcentrationProcess} for tests and tools that run it in-process with their
 * own catalogue and prefix.
 */
import type { Config } from '../../core/config.js';
import { runIfEntryPoint } from '../../core/process-main.js';
import type { WorkerProcess, WorkerProcessOptions } from '../runtime/worker-process.js';
import { createWorkerConnections, registerStateSizeGauge, runWorkerProcess, workerComponent } from '../runtime/worker-process.js';
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
export interface ConcentrationProcessOptions extends WorkerProcessOptions {
  /** Overrides of the configured rules (tests shorten the idle close). */
  readonly options?: Partial<ConcentrationOptions>;
  /** How often due timers are looked for, ms. @default 1000 */
  readonly timerIntervalMs?: number;
}

/** The process's parts; components in start order: PostgreSQL, the worker. */
export type ConcentrationProcess = WorkerProcess;

/** Builds the process's components; nothing connects until they are started. */
export function createConcentrationProcess(options: ConcentrationProcessOptions): ConcentrationProcess {
  const { config, logger } = options;
  const { pool, postgres, deps } = createWorkerConnections(options, 2);
  const worker = createConcentrationWorker({
    ...deps,
    stations: createStationDirectory({ db: pool, logger }),
    options: { ...concentrationOptions(config), ...options.options },
    counters: createConcentrationMetrics(options.metrics),
    timerIntervalMs: options.timerIntervalMs,
  });
  registerStateSizeGauge(options.metrics, worker, {
    name: 'meterflux_concentration_state_keys',
    help: 'Keys in the concentration state of the partitions this process owns (stations, their retained hours and days).',
  });
  return { worker, components: [postgres, workerComponent('concentration-worker', worker)] };
}

/**
 * Runs the concentration process until a signal stops it.
 *
 * @throws {ConfigError} for an invalid environment, {@link PreflightError} when a dependency does
 *   not answer, or the start or stop error of a component.
 */
export async function main(env: Readonly<Record<string, string | undefined>> = process.env): Promise<void> {
  await runWorkerProcess({ name: 'concentration', create: createConcentrationProcess }, env);
}

runIfEntryPoint(import.meta.url, () => main());
