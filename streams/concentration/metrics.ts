/** Prometheus metrics of the concentration worker. */
import { Counter, type Registry } from 'prom-client';
import type { ConcentrationCounters } from './handler.js';

export function createConcentrationMetrics(registry: Registry): ConcentrationCounters {
  const samples = new Counter({
    name: 'meterflux_concentration_samples_total',
    help: 'Station gas values by outcome: accepted, duplicate (same station, gas and instant), too_late (behind the lateness window), flagged (unusable quality flags), missing_tp (no usable temperature or pressure in the uplink).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const records = new Counter({
    name: 'meterflux_concentration_records_total',
    help: 'Concentration records emitted, by granularity and whether they restate a period already emitted (late).',
    labelNames: ['granularity', 'late'],
    registers: [registry],
  });
  return {
    sample: (outcome) => samples.inc({ outcome }),
    record: (granularity, late) => records.inc({ granularity, late: String(late) }),
  };
}
