/**
 * Test helpers for the pure consumption engine: a register profile, and running readings through
 * the engine in a given arrival order while keeping the latest record per output key.
 */
import type { Consumption } from '../../../schemas/avro/index.js';
import { applyReading, emptyState, refresh, type ConsumptionRules, type RegisterProfile, type RegisterState } from '../engine.js';
import { parseNano } from '../nano.js';
import { readingRange, stepOfState, withStep, wrapRange, type RegisterCounter } from '../range.js';
import type { Replacement } from '../series.js';

/** A profile with test defaults (UTC, calendar days, range 100000 units, max gap 48 h). */
export function testProfile(overrides: Partial<RegisterProfile> = {}): RegisterProfile {
  return {
    registerId: 'mbus:1/volume',
    deviceId: 'mbus:1',
    registerKey: 'volume',
    unit: 'm3',
    organisationId: null,
    siteId: null,
    timeZone: 'UTC',
    billingDayStartHour: 0,
    range: parseNano('100000'),
    maxGapMs: 48 * 3_600_000,
    ...overrides,
  };
}

/** One reading as tests write it: ISO time and decimal value. */
export type TestReading = readonly [at: string, value: string];

/** What a run produced. */
export interface Run {
  readonly state: RegisterState;
  /** Every record, in emission order. */
  readonly records: Consumption[];
  /** The last record per `{granularity}|{localPeriod}`. */
  readonly latest: Map<string, Consumption>;
  readonly tooLate: string[];
  readonly quarantined: string[];
}

/** Options of {@link runReadings}. */
export interface RunOptions {
  readonly profile?: RegisterProfile;
  readonly replacements?: readonly Replacement[];
  readonly rules?: ConsumptionRules;
  /** Wall clock for each reading, ISO; default far after everything (all grace over). */
  readonly now?: string;
  readonly state?: RegisterState;
  /**
   * The registry's counter: when given, each reading is judged with the range it and the state's
   * resolution estimate give, as the worker does, instead of the profile's.
   */
  readonly counter?: RegisterCounter;
}

export const DEFAULT_TEST_RULES: ConsumptionRules = { graceMs: 2 * 86_400_000, lateWindowMs: 400 * 86_400_000 };

/** Feeds readings in the given order (the arrival order) and collects what was emitted. */
export function runReadings(readings: readonly TestReading[], options: RunOptions = {}): Run {
  const profile = options.profile ?? testProfile();
  const rules = options.rules ?? DEFAULT_TEST_RULES;
  const now = Date.parse(options.now ?? '2100-01-01T00:00:00Z');
  let state = options.state ?? emptyState(profile);
  const records: Consumption[] = [];
  const tooLate: string[] = [];
  const quarantined: string[] = [];
  for (const [at, text] of readings) {
    const value = parseNano(text);
    let judged = profile;
    if (options.counter !== undefined) {
      const { step, range } = readingRange(state, options.counter, value);
      judged = { ...profile, range };
      state = withStep(state, step);
    }
    const result = applyReading(state, judged, options.replacements ?? [], { at: Date.parse(at), value }, now, rules);
    state = result.state;
    if (result.tooLate) tooLate.push(at);
    if (result.quarantined) quarantined.push(at);
    records.push(...result.daily, ...result.monthly);
  }
  return { state, records, latest: latestOf(records), tooLate, quarantined };
}

/** Recomputes a state at wall clock `now` (a timer), returning the records. */
export function runTimer(state: RegisterState, now: string, options: Omit<RunOptions, 'now' | 'state'> = {}): { state: RegisterState; records: Consumption[] } {
  let profile = options.profile ?? state.profile;
  if (options.counter !== undefined) profile = { ...profile, range: wrapRange(options.counter, stepOfState(state, options.counter.multiplier)) };
  const result = refresh(state, profile, options.replacements ?? state.replacements, Date.parse(now), options.rules ?? DEFAULT_TEST_RULES);
  return { state: result.state, records: [...result.daily, ...result.monthly] };
}

/** The last record per `{granularity}|{localPeriod}`. */
export function latestOf(records: readonly Consumption[]): Map<string, Consumption> {
  const latest = new Map<string, Consumption>();
  for (const r of records) latest.set(`${r.granularity}|${r.localPeriod}`, r);
  return latest;
}
