/**
 * What the footprint stage does with each monthly consumption record (re-keyed by organisation)
 * and with each organisation's factor check. Rules: README.md.
 */
import type { Consumption, Footprint } from '../../schemas/avro/index.js';
import type { TopicCatalogue } from '../../core/topics.js';
import type { WorkerContext, WorkerInput } from '../runtime/stateful-worker.js';
import { computeScope, lineFactor, nextFootprint, SCOPES, type ConsumptionLine, type LineIssue } from './compute.js';
import type { FactorSource } from './factors.js';
import type { FootprintDirectory } from './registry.js';
import { registerResource } from './resources.js';
import { monthKey, type FootprintState, type MonthState, type OrganisationState } from './state.js';

/** What happened to a consumption record. */
export type ConsumptionOutcome = 'used' | 'stale' | 'not_counted' | 'unassigned';

/** Counters the handler reports to. */
export interface FootprintCounters {
  consumption(outcome: ConsumptionOutcome): void;
  /** A counted register left out of its footprint, and why. */
  lineIssue(issue: LineIssue): void;
  footprint(trigger: 'consumption' | 'factors'): void;
}

const NO_COUNTERS: FootprintCounters = { consumption: () => undefined, lineIssue: () => undefined, footprint: () => undefined };

/** Everything the handler needs. */
export interface FootprintHandlerDeps {
  readonly catalogue: TopicCatalogue;
  readonly factors: FactorSource;
  readonly directory: FootprintDirectory;
  /** How often each organisation's months are checked against the factor table, ms. */
  readonly factorCheckMs: number;
  readonly counters?: FootprintCounters;
}

export interface FootprintHandler {
  handle(record: WorkerInput<'Consumption'>, ctx: WorkerContext<FootprintState>): void;
  timerOf(value: FootprintState): number | undefined;
  onTimer(key: string, ctx: WorkerContext<FootprintState>): void;
}

export function createFootprintHandler(deps: FootprintHandlerDeps): FootprintHandler {
  const { catalogue, factors, directory } = deps;
  const counters = deps.counters ?? NO_COUNTERS;

  /** Writes each scope whose result changed; returns the month with its new marks. */
  function recompute(ctx: WorkerContext<FootprintState>, month: MonthState, trigger: 'consumption' | 'factors'): MonthState {
    const table = factors.current();
    const lines = Object.values(month.lines);
    let scopes = month.scopes;
    for (const scope of SCOPES) {
      const computed = computeScope(month.organisationId, month.month, scope, lines, table);
      const next = nextFootprint(month.organisationId, month.month, scope, computed, scopes[scope], ctx.now());
      if (next === undefined) continue;
      ctx.emit(catalogue.footprintMonthly, next.record satisfies Footprint);
      counters.footprint(trigger);
      scopes = { ...scopes, [scope]: next.mark };
    }
    return scopes === month.scopes ? month : { ...month, scopes };
  }

  function lineOf(c: Consumption, organisationId: string): ConsumptionLine | undefined {
    const resource = registerResource(directory.medium(c.deviceId), c.registerKey, c.unit);
    if (resource === undefined) return undefined;
    return {
      registerId: c.registerId,
      resource,
      region: directory.region(c.siteId, organisationId),
      consumption: c.open ? null : c.delta,
      consumptionRevision: c.revision,
      status: c.status,
      periodStartAt: c.periodStartAt,
      periodEndAt: c.periodEndAt,
    };
  }

  return {
    handle({ value: c }, ctx) {
      if (c.granularity !== 'MONTHLY' || c.organisationId === null) {
        counters.consumption('unassigned');
        return;
      }
      const organisationId = c.organisationId;
      const key = monthKey(organisationId, c.localPeriod);
      const previous = ctx.get(key) as MonthState | undefined;
      const held = previous?.lines[c.registerId];
      if (held !== undefined && c.revision <= held.consumptionRevision) {
        counters.consumption('stale');
        return;
      }
      const line = lineOf(c, organisationId);
      if (line === undefined && held === undefined) {
        counters.consumption('not_counted');
        return;
      }
      const lines = { ...previous?.lines };
      if (line === undefined) delete lines[c.registerId];
      else lines[c.registerId] = line;
      ctx.put(key, { kind: 'month', organisationId, month: c.localPeriod, lines, scopes: previous?.scopes ?? {} });
      counters.consumption(line === undefined ? 'not_counted' : 'used');
      if (line !== undefined) {
        const resolved = lineFactor(organisationId, c.localPeriod, line, factors.current());
        if ('issue' in resolved) counters.lineIssue(resolved.issue);
      }

      // The month is written at the organisation's next check, with whatever else arrived until then.
      const organisation = ctx.get(organisationId) as OrganisationState | undefined;
      if (organisation === undefined) {
        ctx.put(organisationId, { kind: 'organisation', months: [c.localPeriod], changed: [c.localPeriod], factorsVersion: factors.current().version, checkedAt: ctx.now() });
      } else if (!organisation.changed.includes(c.localPeriod)) {
        const months = organisation.months.includes(c.localPeriod) ? organisation.months : [...organisation.months, c.localPeriod].sort();
        ctx.put(organisationId, { ...organisation, months, changed: [...organisation.changed, c.localPeriod].sort() });
      }
    },

    timerOf(value) {
      return value.kind === 'organisation' ? value.checkedAt + deps.factorCheckMs : undefined;
    },

    onTimer(key, ctx) {
      const organisation = ctx.get(key);
      if (organisation?.kind !== 'organisation') return;
      const { version } = factors.current();
      const factorsChanged = version !== '' && version !== organisation.factorsVersion;
      for (const month of factorsChanged ? organisation.months : organisation.changed) {
        const mKey = monthKey(key, month);
        const state = ctx.get(mKey) as MonthState | undefined;
        if (state === undefined) continue;
        const next = recompute(ctx, state, organisation.changed.includes(month) ? 'consumption' : 'factors');
        if (next !== state) ctx.put(mKey, next);
      }
      ctx.put(key, { ...organisation, changed: [], factorsVersion: factorsChanged ? version : organisation.factorsVersion, checkedAt: ctx.now() });
    },
  };
}
