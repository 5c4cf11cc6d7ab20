/**
 * The footprint of one organisation, month and scope from its registers' monthly consumption and
 * the emission factors: pure, so the reference scenarios test it without a broker.
 */
import type { EmissionScope, Footprint, FootprintLine, ResultStatus } from '../../schemas/avro/index.js';
import { formatNano, multiplyNano, divideHalfEven, parseNano } from './decimal.js';
import { chooseFactor, type EmissionFactor, type FactorTable } from './factors.js';
import { factorConversion, type RegisterResource } from './resources.js';

/** A scope a footprint is written for. */
export type Scope = Exclude<EmissionScope, 'UNKNOWN'>;
export const SCOPES: readonly Scope[] = ['SCOPE_1', 'SCOPE_2'];

/** The latest monthly consumption of one register, as the footprint keeps it. */
export interface ConsumptionLine {
  readonly registerId: string;
  readonly resource: RegisterResource;
  /** Factor region (the site's, else the organisation's); null when neither has one. */
  readonly region: string | null;
  /** Consumption.delta; null while the month is open. */
  readonly consumption: string | null;
  readonly consumptionRevision: number;
  readonly status: ResultStatus;
  readonly periodStartAt: number;
  readonly periodEndAt: number;
}

/**
 * A register of the organisation that counts toward the footprint, as PostgreSQL holds it, and the
 * months it existed in: until it has a line in such a month, the month's scope is not FINAL.
 */
export interface ExpectedRegister {
  readonly registerId: string;
  readonly scope: Scope;
  /**
   * Expected in the months after this one (`YYYY-MM`, the register's own calendar): the month
   * holding the instant just before its device was first seen. Consumption writes a month only
   * when the register has a point at or before the month's start.
   */
  readonly after: string;
  /** Expected up to and including this month: a retired device's last heard month; null while not retired. */
  readonly through: string | null;
}

/**
 * The registers expected in `month` for `scope` that have no line in it yet, by id: while there
 * are any, the scope is PROVISIONAL even if every line it has is FINAL.
 */
export function awaitedRegisters(month: string, scope: Scope, lines: Readonly<Record<string, ConsumptionLine>>,
  expected: readonly ExpectedRegister[]): string[] {
  const out: string[] = [];
  for (const e of expected) {
    if (e.scope !== scope || month <= e.after || (e.through !== null && month > e.through)) continue;
    if (lines[e.registerId] === undefined) out.push(e.registerId);
  }
  return out.sort();
}

/** Why a register's line is not in a footprint. */
export type LineIssue = 'open' | 'no_region' | 'no_factor' | 'unit_mismatch';

/** A scope's footprint before revision bookkeeping. */
export interface ScopeFootprint {
  readonly lines: FootprintLine[];
  readonly emissionsKgCo2e: string;
  /**
   * PROVISIONAL while any of the scope's registers is PROVISIONAL (open ones included), else FINAL;
   * the handler also holds it PROVISIONAL while an expected register has no line ({@link awaitedRegisters}).
   */
  readonly baseStatus: 'PROVISIONAL' | 'FINAL';
  readonly periodStartAt: number;
  readonly periodEndAt: number;
  /** Registers of the scope left out, and why. */
  readonly issues: ReadonlyArray<readonly [registerId: string, issue: LineIssue]>;
}

/** The factor of a line, per canonical unit at scale 9 (nano-units), or why the line is left out. */
export function lineFactor(organisationId: string, month: string, line: ConsumptionLine, factors: FactorTable):
  { readonly factor: EmissionFactor; readonly perUnitNano: bigint } | { readonly issue: LineIssue } {
  if (line.consumption === null) return { issue: 'open' };
  if (line.region === null) return { issue: 'no_region' };
  const factor = chooseFactor(factors, {
    resource: line.resource.factorResource,
    scope: line.resource.scope === 'SCOPE_1' ? 1 : 2,
    region: line.region,
    month,
    organisationId,
  });
  if (factor === undefined) return { issue: 'no_factor' };
  const conversion = factorConversion(line.resource.unit, factor.unit);
  if (conversion === undefined) return { issue: 'unit_mismatch' };
  // The factor per canonical unit at scale 9 is what the line shows, and what its emissions are computed from.
  return { factor, perUnitNano: divideHalfEven(parseNano(factor.kgCo2ePerUnit) * conversion[0], conversion[1]) };
}

/**
 * The lines and total of one scope of a month, or undefined when no register of the scope has a
 * line (nothing to write).
 */
export function computeScope(organisationId: string, month: string, scope: Scope, lines: readonly ConsumptionLine[],
  factors: FactorTable): ScopeFootprint | undefined {
  const out: FootprintLine[] = [];
  const issues: Array<readonly [string, LineIssue]> = [];
  let provisional = false;
  let start = Infinity;
  let end = -Infinity;
  let total = 0n;
  const inScope = lines.filter((l) => l.resource.scope === scope).sort((a, b) => (a.registerId < b.registerId ? -1 : a.registerId > b.registerId ? 1 : 0));
  for (const line of inScope) {
    if (line.status === 'PROVISIONAL') provisional = true;
    const resolved = lineFactor(organisationId, month, line, factors);
    if ('issue' in resolved) {
      issues.push([line.registerId, resolved.issue]);
      continue;
    }
    const { factor, perUnitNano: perUnit } = resolved;
    const consumption = parseNano(line.consumption!);
    const emissions = multiplyNano(consumption, perUnit);
    total += emissions;
    start = Math.min(start, line.periodStartAt);
    end = Math.max(end, line.periodEndAt);
    out.push({
      resource: line.resource.resource,
      registerId: line.registerId,
      consumption: formatNano(consumption),
      consumptionRevision: line.consumptionRevision,
      unit: line.resource.unit,
      factorKgCo2ePerUnit: formatNano(perUnit),
      factorId: factor.id,
      factorSource: factor.source,
      region: factor.region,
      emissionsKgCo2e: formatNano(emissions),
    });
  }
  if (out.length === 0) return undefined;
  return { lines: out, emissionsKgCo2e: formatNano(total), baseStatus: provisional ? 'PROVISIONAL' : 'FINAL', periodStartAt: start, periodEndAt: end, issues };
}

/** What the worker remembers of the last record of a scope. */
export interface ScopeMark {
  readonly revision: number;
  /** The content of the last record (lines, total, base status, period), to tell a changed result. */
  readonly fingerprint: string;
  /** True once a FINAL (or RESTATED) record was written: later changes are RESTATED. */
  readonly wasFinal: boolean;
  /** The period of the last record, kept for an empty record when the last register leaves. */
  readonly periodStartAt: number;
  readonly periodEndAt: number;
}

/**
 * The record to write for a scope given what was written before, and the new mark; undefined when
 * the result is unchanged (re-emitting would not change it, so its revision stays).
 */
export function nextFootprint(organisationId: string, month: string, scope: Scope, computed: ScopeFootprint | undefined,
  mark: ScopeMark | undefined, computedAt: number): { record: Footprint; mark: ScopeMark } | undefined {
  // A scope whose last register left (moved to another organisation) is written once more, empty.
  if (computed === undefined && mark === undefined) return undefined;
  const lines = computed?.lines ?? [];
  const base = computed?.baseStatus ?? 'FINAL';
  const periodStartAt = computed?.periodStartAt ?? mark!.periodStartAt;
  const periodEndAt = computed?.periodEndAt ?? mark!.periodEndAt;
  const total = computed?.emissionsKgCo2e ?? formatNano(0n);
  const fingerprint = JSON.stringify([base, total, periodStartAt, periodEndAt, lines]);
  if (mark !== undefined && mark.fingerprint === fingerprint) return undefined;
  const status: ResultStatus = base === 'PROVISIONAL' ? 'PROVISIONAL' : mark?.wasFinal ? 'RESTATED' : 'FINAL';
  const revision = (mark?.revision ?? 0) + 1;
  return {
    record: { organisationId, month, periodStartAt, periodEndAt, scope, emissionsKgCo2e: total, lines, status, revision, computedAt },
    mark: { revision, fingerprint, wasFinal: (mark?.wasFinal ?? false) || status !== 'PROVISIONAL', periodStartAt, periodEndAt },
  };
}
