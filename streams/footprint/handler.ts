/**
 * What the footprint stage does with each monthly consumption record (re-keyed by organisation)
 * and with each organisation's factor check. Rules: README.md.
 */
import type { Consumption, Footprint } from '../../schemas/avro/index.js';
import type { TopicCatalogue } from '../../core/topics.js';
import type { WorkerContext, WorkerInput } from '../runtime/stateful-worker.js';
import { awaitedRegisters, computeScope, lineFactor, nextFootprint, SCOPES, type ConsumptionLine, type ExpectedRegister, type LineIssue, type Scope, type ScopeFootprint } from './compute.js';
import type { FactorSource } from './factors.js';
import type { FootprintDirectory } from './registry.js';
import { registerResource } from './resources.js';
import { monthKey, type FootprintState, type MonthState, type OrganisationState } from './state.js';

/** What happened to a consumption record. */
export type ConsumptionOutcome = 'used' | 'stale' | 'not_counted' | 'unassigned';

/** What caused a footprint record: new consumption, a changed factor table, or the organisation's registers in PostgreSQL. */
export type FootprintTrigger = 'consumption' | 'factors' | 'registry';

/** Counters the handler reports to. */
export interface FootprintCounters {
  consumption(outcome: ConsumptionOutcome): void;
  /** A counted register left out of its footprint, and why. */
  lineIssue(issue: LineIssue): void;
  footprint(trigger: FootprintTrigger): void;
  /** A check could not read the organisation's registers; the months it needed them for wait for the next check. */
  registryError(): void;
}

const NO_COUNTERS: FootprintCounters = { consumption: () => undefined, lineIssue: () => undefined, footprint: () => undefined, registryError: () => undefined };

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
  onTimer(key: string, ctx: WorkerContext<FootprintState>): Promise<void>;
}

export function createFootprintHandler(deps: FootprintHandlerDeps): FootprintHandler {
  const { catalogue, factors, directory } = deps;
  const counters = deps.counters ?? NO_COUNTERS;

  /** Each scope's result from the month's lines alone. */
  function computeMonth(month: MonthState): ReadonlyArray<readonly [Scope, ScopeFootprint | undefined]> {
    const table = factors.current();
    const lines = Object.values(month.lines);
    return SCOPES.map((scope) => [scope, computeScope(month.organisationId, month.month, scope, lines, table)] as const);
  }

  /**
   * A scope whose lines are all FINAL but that was never written FINAL: it is FINAL only once every
   * register the organisation had in the month has a line (README: status). After a FINAL record,
   * later registers restate it as before.
   */
  const firstFinal = (month: MonthState, scope: Scope, computed: ScopeFootprint | undefined): boolean =>
    computed?.baseStatus === 'FINAL' && month.scopes[scope]?.wasFinal !== true;

  /**
   * Writes each scope whose result changed; returns the month with its new marks, and whether a
   * scope waits for registers (or, `expected` undefined, for the registry to answer).
   */
  function recompute(ctx: WorkerContext<FootprintState>, month: MonthState, results: ReturnType<typeof computeMonth>, trigger: FootprintTrigger,
    expected: readonly ExpectedRegister[] | undefined): { month: MonthState; waiting: boolean } {
    let scopes = month.scopes;
    let waiting = false;
    for (const [scope, result] of results) {
      let computed = result;
      if (computed !== undefined && firstFinal(month, scope, computed)) {
        // Without the registry the status cannot be told: the scope is decided at the next check.
        if (expected === undefined) {
          waiting = true;
          continue;
        }
        if (awaitedRegisters(month.month, scope, month.lines, expected).length > 0) {
          waiting = true;
          computed = { ...computed, baseStatus: 'PROVISIONAL' };
        }
      }
      const next = nextFootprint(month.organisationId, month.month, scope, computed, scopes[scope], ctx.now());
      if (next === undefined) continue;
      ctx.emit(catalogue.footprintMonthly, next.record satisfies Footprint);
      counters.footprint(trigger);
      scopes = { ...scopes, [scope]: next.mark };
    }
    return { month: scopes === month.scopes ? month : { ...month, scopes }, waiting };
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

    async onTimer(key, ctx) {
      const organisation = ctx.get(key);
      if (organisation?.kind !== 'organisation') return;
      const { version } = factors.current();
      const factorsChanged = version !== '' && version !== organisation.factorsVersion;
      const held = organisation.waiting ?? [];
      const due = factorsChanged ? organisation.months : [...new Set([...organisation.changed, ...held])].sort();
      const months = due.flatMap((month) => {
        const state = ctx.get(monthKey(key, month));
        return state?.kind === 'month' ? [{ state, results: computeMonth(state) }] : [];
      });
      // The organisation's registers (one cached query) only when a scope is about to be FINAL for the
      // first time; read before anything is written, and a failure only defers those scopes.
      let expected: readonly ExpectedRegister[] | undefined = [];
      if (months.some(({ state, results }) => results.some(([scope, computed]) => firstFinal(state, scope, computed)))) {
        expected = await Promise.resolve().then(() => directory.expectedRegisters(key)).catch(() => {
          counters.registryError();
          return undefined;
        });
      }
      const waiting: string[] = [];
      for (const { state, results } of months) {
        const trigger: FootprintTrigger = organisation.changed.includes(state.month) ? 'consumption' : factorsChanged ? 'factors' : 'registry';
        const next = recompute(ctx, state, results, trigger, expected);
        if (next.month !== state) ctx.put(monthKey(key, state.month), next.month);
        if (next.waiting) waiting.push(state.month);
      }
      ctx.put(key, {
        ...organisation,
        changed: [],
        waiting,
        factorsVersion: factorsChanged ? version : organisation.factorsVersion,
        checkedAt: ctx.now(),
      });
    },
  };
}
