/**
 * The consumption process: `tsx streams/consumption/main.ts`. Reads the environment (the README's
 * variable table), checks that Kafka, the schema registry and PostgreSQL answer, then turns
 * `reading.v1` into `consumption.daily.v1` and `consumption.monthly.v1` until SIGTERM or SIGINT,
 * serving `/metrics` and `/healthz` on `METRICS_PORT`.
 *
 * Exports {@link createConsumptionProcess} for tests and tools that run the worker in-process with
 * their own catalogue and prefix.
 */
import { runIfEntryPoint } from '../../core/process-main.js';
import type { WorkerProcess, WorkerProcessOptions } from '../runtime/worker-process.js';
import { createWorkerConnections, registerStateSizeGauge, runWorkerProcess, workerComponent } from '../runtime/worker-process.js';
import { createConsumptionMetrics } from './metrics.js';
import { createRegistry } from './registry.js';
import { createConsumptionWorker } from './worker.js';

/** Options of {@link createConsumptionProcess}. */
export interface ConsumptionProcessOptions extends WorkerProcessOptions {
  /** How often due timers are looked for. @default 1000 */
  readonly timerIntervalMs?: number;
}

/** The consumption process's parts; components in start order: PostgreSQL, the worker. */
export type ConsumptionProcess = WorkerProcess;

/** Builds the consumption process's components; nothing connects until they are started. */
export function createConsumptionProcess(options: ConsumptionProcessOptions): ConsumptionProcess {
  const { config, logger } = options;
  const { pool, postgres, deps } = createWorkerConnections(options, 4);
  const worker = createConsumptionWorker({
    ...deps,
    registry: createRegistry({ db: pool, logger }),
    rules: { graceMs: config.consumption.graceMs, lateWindowMs: config.consumption.lateWindowMs },
    metrics: createConsumptionMetrics(options.metrics),
    timerIntervalMs: options.timerIntervalMs,
  });
  registerStateSizeGauge(options.metrics, worker, {
    name: 'meterflux_consumption_registers',
    help: 'Registers held in the consumption state of the partitions this process owns.',
  });
  return { worker, components: [postgres, workerComponent('consumption-worker', worker)] };
}

/**
 * Runs the consumption process until a signal stops it.
 *
 * @throws {ConfigError} for an invalid environment, {@link PreflightError} when a dependency does
 *   not answer, or the start or stop error of a component.
 */
export async function main(env: Readonly<Record<string, string | undefined>> = process.env): Promise<void> {
  await runWorkerProcess({ name: 'consumption', create: createConsumptionProcess }, env);
}

runIfEntryPoint(import.meta.url, () => main());
