/**
 * The consumption stage's Prometheus metrics, on the process registry (core/metrics.ts).
 */
import { Counter, type Registry } from 'prom-client';

/** What the worker counts. */
export interface ConsumptionMetrics {
  /** A reading was taken (`used`), skipped as not a consumption register (`ignored`), or too late. */
  reading(outcome: 'used' | 'ignored' | 'too_late'): void;
  /** A reading was quarantined as a suspected reset. */
  quarantined(): void;
  /** Records emitted, by granularity and status. */
  emitted(granularity: 'DAILY' | 'MONTHLY', status: string, count: number): void;
}

/** Registers the consumption metrics on `registry`. Once per registry. */
export function createConsumptionMetrics(registry: Registry): ConsumptionMetrics {
  const readings = new Counter({
    name: 'meterflux_consumption_readings_total',
    help: 'Readings the consumption stage saw, by outcome: used, ignored (not a current cumulative register value), too_late (before the kept history; dead-lettered).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const quarantined = new Counter({
    name: 'meterflux_consumption_quarantined_total',
    help: 'Readings quarantined as suspected resets (kept in state, excluded from consumption).',
    registers: [registry],
  });
  const records = new Counter({
    name: 'meterflux_consumption_records_total',
    help: 'Consumption records emitted, by granularity and status.',
    labelNames: ['granularity', 'status'],
    registers: [registry],
  });
  return {
    reading: (outcome) => readings.labels(outcome).inc(),
    quarantined: () => quarantined.inc(),
    emitted: (granularity, status, count) => {
      if (count > 0) records.labels(granularity, status).inc(count);
    },
  };
}

/** Metrics that count nothing, for tests and benchmarks that do not read them. */
export const noConsumptionMetrics: ConsumptionMetrics = { reading: () => undefined, quarantined: () => undefined, emitted: () => undefined };
