/** Prometheus metrics of the footprint workers. */
import { Counter, type Registry } from 'prom-client';
import type { FootprintCounters } from './handler.js';

export function createFootprintMetrics(registry: Registry): FootprintCounters {
  const consumption = new Counter({
    name: 'meterflux_footprint_consumption_total',
    help: 'Monthly consumption records by outcome: used, stale (a revision not above the one held), not_counted (not a gas, electricity or heat main register), unassigned.',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const issues = new Counter({
    name: 'meterflux_footprint_line_issues_total',
    help: 'Counted registers left out of a footprint when their consumption arrived, by reason: open, no_region, no_factor, unit_mismatch.',
    labelNames: ['issue'],
    registers: [registry],
  });
  const footprints = new Counter({
    name: 'meterflux_footprint_records_total',
    help: 'Footprint records written, by what caused them: consumption, factors (a changed emission factor) or registry (a register the month waited for left the organisation\'s registers in PostgreSQL, e.g. retired).',
    labelNames: ['trigger'],
    registers: [registry],
  });
  const registryErrors = new Counter({
    name: 'meterflux_footprint_registry_errors_total',
    help: 'Checks that could not read an organisation\'s registers from PostgreSQL; the months that needed them are decided at the next check.',
    registers: [registry],
  });
  return {
    consumption: (outcome) => consumption.inc({ outcome }),
    lineIssue: (issue) => issues.inc({ issue }),
    footprint: (trigger) => footprints.inc({ trigger }),
    registryError: () => registryErrors.inc(),
  };
}
