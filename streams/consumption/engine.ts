/**
 * The consumption of one register, pure: its state (readings inside the late-data window, meter
 * replacements, the frozen base, what was emitted), and what a reading or a timer does to it —
 * recompute every period the history still covers, emit each one whose figures or status changed
 * with the next revision, and prune history older than the late-data window.
 *
 * Statuses: PROVISIONAL while a period is open or its grace has not passed (wall clock, after its
 * end); FINAL once it has (by a new reading or by the timer this module asks for); RESTATED when
 * figures change after FINAL. A recomputation that yields the same figures and status emits nothing.
 */
import type { Consumption, ConsumptionGranularity, ResultStatus } from '../../schemas/avro/index.js';
import { monthOf, periodOf, periodsBetween, type CalendarSpec, type Granularity, type Period } from './calendar.js';
import { formatNano } from './nano.js';
import {
  buildChain,
  countBetween,
  extendChain,
  valueAt,
  worseQuality,
  type Chain,
  type ChainPoint,
  type FrozenBoundary,
  type Quality,
  type RawPoint,
  type Replacement,
  type SeriesBase,
  type SeriesSpec,
} from './series.js';

/** Everything about a register that is not its readings: from the registry, else defaults. */
export interface RegisterProfile extends CalendarSpec, SeriesSpec {
  readonly registerId: string;
  readonly deviceId: string;
  readonly registerKey: string;
  readonly unit: string;
  readonly organisationId: string | null;
  readonly siteId: string | null;
}

/** The status of a period emitted under one key, and what it was computed from. */
export interface EmittedPeriod {
  readonly revision: number;
  readonly status: Exclude<ResultStatus, 'UNKNOWN'>;
  /** The figures of the last emission, as text (equal text: nothing changed). */
  readonly figures: string;
  readonly endAt: number;
  readonly open: boolean;
  /**
   * Set when the last computation no longer produced this period (its start value became unknown,
   * or the register's calendar changed): it keeps its last record and wants no timer.
   */
  readonly detached?: true;
}

/** The state of one register (the worker's state value, key registerId). */
export interface RegisterState {
  readonly profile: RegisterProfile;
  /** Readings after `base.at` (all of them, quarantined ones included), by time, one per instant. */
  readonly readings: readonly RawPoint[];
  /** Replacements after `base.at`, as the registry listed them at the last computation. */
  readonly replacements: readonly Replacement[];
  readonly base?: SeriesBase;
  /** Latest event time of a reading seen. */
  readonly watermark: number;
  /**
   * Resolution estimate (range.ts): the register's count moves in steps of 10^step, the smallest
   * step among its values so far; absent while none was nonzero, and in states written before it
   * was kept (then their readings and anchor give it).
   */
  readonly step?: number;
  /** By `{D|M}{periodStartAt}`. */
  readonly emitted: Readonly<Record<string, EmittedPeriod>>;
}

/** Rules of the computation. */
export interface ConsumptionRules {
  /** A closed period becomes FINAL this long after its end (wall clock). */
  readonly graceMs: number;
  /**
   * History is kept back to the start of the local day containing `watermark − lateWindowMs` (and
   * no further back than a period still PROVISIONAL); older readings are too late.
   */
  readonly lateWindowMs: number;
}

/** A computed period. */
export interface PeriodFigures {
  readonly period: Period;
  readonly startValue: bigint;
  readonly endValue: bigint | null;
  readonly delta: bigint | null;
  readonly quality: Quality;
  readonly open: boolean;
  readonly rollovers: number;
  readonly meterReplacements: number;
}

/** What one step produced. */
export interface StepResult {
  readonly state: RegisterState;
  readonly daily: Consumption[];
  readonly monthly: Consumption[];
  /** The reading was at or before the start of the kept history: not used. */
  readonly tooLate: boolean;
  /** The reading is quarantined as a suspected reset. */
  readonly quarantined: boolean;
}

/** A fresh state for a register that has no history. */
export function emptyState(profile: RegisterProfile): RegisterState {
  return { profile, readings: [], replacements: [], watermark: Number.NEGATIVE_INFINITY, emitted: {} };
}

/**
 * Adds one reading and recomputes. A second reading at the same instant keeps the larger value
 * (deterministic whatever the arrival order). A reading at or before `state.base.at` is too late:
 * the state is returned unchanged with `tooLate`.
 */
export function applyReading(
  state: RegisterState,
  profile: RegisterProfile,
  replacements: readonly Replacement[],
  reading: RawPoint,
  now: number,
  rules: ConsumptionRules,
): StepResult {
  if (state.base !== undefined && reading.at <= state.base.at) {
    return { state, daily: [], monthly: [], tooLate: true, quarantined: false };
  }
  const readings = insertReading(state.readings, reading);
  const next: RegisterState = { ...state, readings, watermark: Math.max(state.watermark, reading.at) };
  const same = sameFacts(state, profile, replacements);
  // In order (the usual case): extend the chain computed for the previous readings instead of rebuilding it.
  const cached = same && reading.at > (state.readings.at(-1)?.at ?? Number.NEGATIVE_INFINITY) ? chains.get(state.readings) : undefined;
  // Only a chain computed from this very state's facts (an aborted batch may have left another).
  const usable = cached !== undefined && cached.replacements === state.replacements && cached.range === state.profile.range;
  const chain = usable ? extendChain(profile, cached.chain, reading) : undefined;
  const result = recompute(next, profile, replacements, now, rules, same ? reading.at : undefined, chain, chain !== undefined);
  return { ...result, quarantined: result.quarantinedAt.includes(reading.at) };
}

/** Recomputes without a new reading: a timer, or new registry facts (a replacement registered late). */
export function refresh(
  state: RegisterState,
  profile: RegisterProfile,
  replacements: readonly Replacement[],
  now: number,
  rules: ConsumptionRules,
): StepResult {
  return { ...recompute(state, profile, replacements, now, rules), quarantined: false };
}

/** When the state wants its timer: the earliest grace end of a closed PROVISIONAL period. */
export function nextTimer(state: RegisterState, graceMs: number): number | undefined {
  let due: number | undefined;
  for (const entry of Object.values(state.emitted)) {
    if (entry.status !== 'PROVISIONAL' || entry.open || entry.detached) continue;
    const at = entry.endAt + graceMs;
    if (due === undefined || at < due) due = at;
  }
  return due;
}

function insertReading(readings: readonly RawPoint[], reading: RawPoint): RawPoint[] {
  let lo = 0;
  let hi = readings.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (readings[mid]!.at < reading.at) lo = mid + 1;
    else hi = mid;
  }
  const copy = readings.slice();
  if (lo === copy.length) {
    copy.push(reading);
    return copy;
  }
  const same = copy[lo];
  if (same !== undefined && same.at === reading.at) {
    if (reading.value > same.value) copy[lo] = reading;
  } else {
    copy.splice(lo, 0, reading);
  }
  return copy;
}

interface Recomputed {
  readonly state: RegisterState;
  readonly daily: Consumption[];
  readonly monthly: Consumption[];
  readonly tooLate: false;
  readonly quarantinedAt: readonly number[];
}

/** Whether the register's facts are those its state was last computed with. */
function sameFacts(state: RegisterState, profile: RegisterProfile, replacements: readonly Replacement[]): boolean {
  const a = state.profile;
  if (a.timeZone !== profile.timeZone || a.billingDayStartHour !== profile.billingDayStartHour || a.range !== profile.range || a.maxGapMs !== profile.maxGapMs
    || a.unit !== profile.unit || a.organisationId !== profile.organisationId || a.siteId !== profile.siteId || a.deviceId !== profile.deviceId) return false;
  let i = 0;
  for (const r of replacements) {
    if (state.base !== undefined && r.at <= state.base.at) continue;
    const b = state.replacements[i++];
    if (b === undefined || r.id !== b.id || r.at !== b.at || r.oldFinalValue !== b.oldFinalValue || r.newInitialValue !== b.newInitialValue) return false;
  }
  return i === state.replacements.length;
}

/**
 * Recomputes the periods a change can touch. With `newReadingAt` (a reading added, facts
 * unchanged) that is every period ending at or after the last accepted point before it: readings
 * are judged in time order, so nothing before that point moves. Otherwise every period covered.
 */
function recompute(
  state: RegisterState,
  profile: RegisterProfile,
  allReplacements: readonly Replacement[],
  now: number,
  rules: ConsumptionRules,
  newReadingAt?: number,
  known?: Chain,
  appended = false,
): Recomputed {
  const { base } = state;
  const replacements = allReplacements.filter((r) => base === undefined || r.at > base.at);
  const chain = known ?? buildChain(profile, state.readings, replacements, base);
  let from = Number.NEGATIVE_INFINITY;
  if (newReadingAt !== undefined) {
    for (const point of chain.points) {
      if (point.at >= newReadingAt) break;
      from = point.at;
    }
  }
  // Copied on the first change only: most readings change no period.
  let emitted = state.emitted;
  const change = (key: string, entry: EmittedPeriod): void => {
    if (emitted === state.emitted) emitted = { ...state.emitted };
    (emitted as Record<string, EmittedPeriod>)[key] = entry;
  };
  const out: Record<Granularity, Consumption[]> = { DAILY: [], MONTHLY: [] };
  const computedKeys = new Set<string>();
  for (const figures of computeFigures(profile, chain, base, from)) {
    const key = emittedKey(figures.period);
    computedKeys.add(key);
    const text = figuresText(profile, figures);
    const previous = emitted[key];
    const decision = decide(previous, text, figures, now, rules.graceMs);
    if (decision === undefined && previous?.detached) change(key, { revision: previous.revision, status: previous.status, figures: text, endAt: previous.endAt, open: previous.open });
    if (decision === undefined) continue;
    change(key, { revision: decision.revision, status: decision.status, figures: text, endAt: figures.period.endAt, open: figures.open });
    out[figures.period.granularity].push({ ...toRecord(profile, figures, now), status: decision.status, revision: decision.revision });
  }
  // A reading after every other one cannot make a period's start unknown; anything else can.
  if (!appended) {
    for (const [key, entry] of Object.entries(emitted)) {
      if (!computedKeys.has(key) && !entry.detached && entry.endAt >= from) change(key, { ...entry, detached: true });
    }
  }
  const computed: RegisterState = { ...state, profile, replacements, emitted };
  const pruned = prune(computed, chain, rules);
  if (pruned.readings === state.readings) chains.set(pruned.readings, { chain, replacements: pruned.replacements, range: profile.range });
  return { state: pruned, daily: out.DAILY, monthly: out.MONTHLY, tooLate: false, quarantinedAt: chain.quarantined };
}

/** The chain last computed for a readings array (states share the array until it changes). */
const chains = new WeakMap<readonly RawPoint[], { chain: Chain; replacements: readonly Replacement[]; range: bigint | null }>();

const emittedKey = (period: Period): string => `${period.granularity === 'DAILY' ? 'D' : 'M'}${period.startAt}`;

/**
 * The figures of every period the chain covers that ends at or after `from`: from the period
 * holding the first point to the one holding the last, skipping those whose start value cannot be
 * known.
 */
export function computeFigures(profile: RegisterProfile, chain: Chain, base?: SeriesBase, from = Number.NEGATIVE_INFINITY): PeriodFigures[] {
  const { points } = chain;
  const first = points[0];
  const last = points.at(-1);
  if (first === undefined || last === undefined) return [];
  const figures: PeriodFigures[] = [];
  for (const granularity of ['DAILY', 'MONTHLY'] as const) {
    for (const period of periodsBetween(profile, granularity, Math.max(first.at, from), last.at)) {
      const frozen = frozenStart(period, base);
      const start = frozen ?? (base !== undefined && period.startAt < base.at ? undefined : valueAt(profile, chain, period.startAt));
      if (start === undefined) continue;
      const end = valueAt(profile, chain, period.endAt);
      // Counts before the base were frozen with it; after it they come from the chain.
      const countFrom = frozen !== undefined && base !== undefined ? base.at : period.startAt;
      const carried = frozen !== undefined && base !== undefined ? base : undefined;
      figures.push({
        period,
        startValue: start.value,
        endValue: end?.value ?? null,
        delta: end === undefined ? null : end.advance - start.advance,
        quality: end === undefined ? start.quality : worseQuality(start.quality, end.quality),
        open: end === undefined,
        rollovers: (carried?.monthRollovers ?? 0) + countBetween(chain.rollovers, countFrom, period.endAt),
        meterReplacements: (carried?.monthReplacements ?? 0) + countBetween(chain.replacements, countFrom, period.endAt),
      });
    }
  }
  return figures;
}

/** A monthly period that began before the base starts at the frozen month start. */
function frozenStart(period: Period, base?: SeriesBase): FrozenBoundary | undefined {
  if (base?.monthStart === undefined || period.granularity !== 'MONTHLY') return undefined;
  return period.startAt === base.monthStart.at ? base.monthStart : undefined;
}

function toRecord(profile: RegisterProfile, f: PeriodFigures, now: number): Consumption {
  return {
    registerId: profile.registerId,
    deviceId: profile.deviceId,
    registerKey: profile.registerKey,
    organisationId: profile.organisationId,
    siteId: profile.siteId,
    granularity: f.period.granularity satisfies ConsumptionGranularity,
    periodStartAt: f.period.startAt,
    periodEndAt: f.period.endAt,
    localPeriod: f.period.localPeriod,
    timeZone: profile.timeZone,
    billingDayStartHour: profile.billingDayStartHour,
    startValue: formatNano(f.startValue),
    endValue: f.endValue === null ? null : formatNano(f.endValue),
    delta: f.delta === null ? null : formatNano(f.delta),
    unit: profile.unit,
    quality: f.quality,
    status: 'PROVISIONAL',
    open: f.open,
    revision: 0,
    rollovers: f.rollovers,
    meterReplacements: f.meterReplacements,
    computedAt: now,
  };
}

/** Everything of a record except status, revision and computedAt, as text (values in nano-units). */
function figuresText(p: RegisterProfile, f: PeriodFigures): string {
  return `${p.deviceId}|${p.organisationId ?? ''}|${p.siteId ?? ''}|${f.period.endAt}|${p.timeZone}|${p.billingDayStartHour}|${f.startValue}|` +
    `${f.endValue ?? ''}|${f.delta ?? ''}|${p.unit}|${f.quality}|${f.open ? 1 : 0}|${f.rollovers}|${f.meterReplacements}`;
}

/** The status and revision to emit, or undefined when nothing changed. */
export function decide(
  previous: EmittedPeriod | undefined,
  figures: string,
  computed: { readonly open: boolean; readonly period: Period },
  now: number,
  graceMs: number,
): { status: EmittedPeriod['status']; revision: number } | undefined {
  const changed = previous === undefined || previous.figures !== figures;
  const graceOver = !computed.open && now >= computed.period.endAt + graceMs;
  let status: EmittedPeriod['status'];
  if (previous === undefined || previous.status === 'PROVISIONAL') status = graceOver ? 'FINAL' : 'PROVISIONAL';
  else status = changed ? 'RESTATED' : previous.status;
  if (!changed && previous !== undefined && previous.status === status) return undefined;
  return { status, revision: (previous?.revision ?? 0) + 1 };
}

/**
 * Drops history the late-data window no longer needs: the new base is the start of the local day
 * containing `watermark − lateWindowMs`, frozen with the month start it needs, unless a period
 * ending by then is still PROVISIONAL (it must be able to turn FINAL with its own figures).
 */
function prune(state: RegisterState, chain: Chain, rules: ConsumptionRules): RegisterState {
  const cut = periodOf(state.profile, 'DAILY', state.watermark - rules.lateWindowMs).startAt;
  if (state.base !== undefined && cut <= state.base.at) return state;
  if (Object.values(state.emitted).some((e) => e.endAt <= cut && e.status === 'PROVISIONAL' && e.detached !== true)) return state;
  let anchor: ChainPoint | undefined;
  for (const point of chain.points) if (point.at <= cut) anchor = point;
  if (anchor === undefined || valueAt(state.profile, chain, cut) === undefined) return state;
  const old = state.base;
  const month = monthOf(state.profile, cut);
  let monthStart: FrozenBoundary | undefined;
  let carriedRollovers = 0;
  let carriedReplacements = 0;
  if (month.startAt < cut) {
    if (old?.monthStart?.at === month.startAt) {
      monthStart = old.monthStart;
    } else if (old === undefined || month.startAt >= old.at) {
      const value = valueAt(state.profile, chain, month.startAt);
      if (value !== undefined) monthStart = { at: month.startAt, ...value };
    }
    if (old !== undefined && old.at > month.startAt) {
      carriedRollovers = old.monthRollovers;
      carriedReplacements = old.monthReplacements;
    }
  }
  const countFrom = old !== undefined && old.at > month.startAt ? old.at : month.startAt;
  const base: SeriesBase = {
    at: cut,
    anchor: { at: anchor.at, value: anchor.value, advance: anchor.advance, readingAt: anchor.readingAt },
    ...(monthStart === undefined ? {} : { monthStart }),
    monthRollovers: carriedRollovers + countBetween(chain.rollovers, countFrom, cut),
    monthReplacements: carriedReplacements + countBetween(chain.replacements, countFrom, cut),
  };
  const emitted = Object.fromEntries(Object.entries(state.emitted).filter(([, e]) => e.endAt > cut));
  return {
    ...state,
    base,
    readings: state.readings.filter((r) => r.at > cut),
    replacements: state.replacements.filter((r) => r.at > cut),
    emitted,
  };
}
