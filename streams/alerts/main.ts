/**
 * The alerts process: `tsx streams/alerts/main.ts`. Reads the environment (the README's variable
 * table; `ALERTS_*` set the rules), checks that Kafka, the schema registry and PostgreSQL answer,
 * then raises and clears alerts from `reading.v1` until SIGTERM or SIGINT, serving `/metrics` and
 * `/healthz` on `METRICS_PORT`.
 *
 * Exports {@link createAlertsProcess} for tests and tools that run the worker in-process with their
 * own catalogue, prefix and clock.
 */
import { Counter } from 'prom-client';
import { runIfEntryPoint } from '../../core/process-main.js';
import type { WorkerProcess, WorkerProcessOptions } from '../runtime/worker-process.js';
import { createWorkerConnections, registerStateSizeGauge, runWorkerProcess, workerComponent } from '../runtime/worker-process.js';
import type { AlertsRules } from './handler.js';
import { createAlertsRegistry } from './registry.js';
import { createAlertsWorker } from './worker.js';

/** Options of {@link createAlertsProcess}. */
export interface AlertsProcessOptions extends WorkerProcessOptions {
  /** Rules beyond the configured ones (e.g. `criticalAfterWindows`). */
  readonly rules?: Partial<AlertsRules>;
  /** Wall clock of the silence rule and of the registry cache. @default Date.now */
  readonly now?: () => number;
  /** How often due silence timers are looked for. @default 1000 */
  readonly timerIntervalMs?: number;
  /** How long registry rows and thresholds are cached. @default 60000 */
  readonly registryTtlMs?: number;
}

/** The alerts process's parts; components in start order: PostgreSQL, the worker. */
export type AlertsProcess = WorkerProcess;

/** Builds the alerts process's components; nothing connects until they are started. */
export function createAlertsProcess(options: AlertsProcessOptions): AlertsProcess {
  const { config } = options;
  const { pool, postgres, deps } = createWorkerConnections(options, 2);
  const emitted = new Counter({
    name: 'meterflux_alerts_emitted_total',
    help: 'Alert records the alerts worker emitted, by kind and state (aborted batches may count twice).',
    labelNames: ['kind', 'state'] as const,
    registers: [options.metrics],
  });
  const worker = createAlertsWorker({
    ...deps,
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
    now: options.now,
    timerIntervalMs: options.timerIntervalMs,
  });
  registerStateSizeGauge(options.metrics, worker, {
    name: 'meterflux_alerts_state_keys',
    help: 'Keys in the alerts state of the partitions this process owns (one per device, one per partition).',
  });
  return { worker, components: [postgres, workerComponent('alerts-worker', worker)] };
}

/**
 * Runs the alerts process until a signal stops it.
 *
 * @throws {ConfigError} for an invalid environment, {@link PreflightError} when a dependency does
 *   not answer, or the start or stop error of a component.
 */
export async function main(env: Readonly<Record<string, string | undefined>> = process.env): Promise<void> {
  await runWorkerProcess({ name: 'alerts', create: createAlertsProcess }, env);
}

runIfEntryPoint(import.meta.url, () => main());
