/**
 * Runs the hand-computed scenarios of test/fixtures/consumption/*.json: each holds the register
 * profile (a fixed range, or the registry's counter to judge each reading as the worker does), the readings in arrival order (in steps with their wall clock, or timer runs), the
 * expected latest record per period (only the fields listed are compared), periods that must have
 * no record, and the readings expected too late or quarantined, beside a comment with the
 * hand computation.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Consumption } from '../../schemas/avro/index.js';
import { emptyState, type RegisterState } from './engine.js';
import { parseNano } from './nano.js';
import { counterOf } from './range.js';
import { rangeOf } from './registry.js';
import { DEFAULT_TEST_RULES, latestOf, runReadings, runTimer, testProfile } from './testing/series.js';

const DIR = fileURLToPath(new URL('../../test/fixtures/consumption/', import.meta.url));

interface Fixture {
  readonly comment: string;
  /**
   * `range` fixes the range; `counter` gives the registry's columns instead (NULL ones left out), and
   * each reading is judged as the worker judges it, the resolution estimated when it is not given.
   */
  readonly profile: {
    timeZone?: string;
    billingDayStartHour?: number;
    range?: string | null;
    counter?: { digits?: number; resolution?: string; multiplier?: string };
    maxGapS?: number;
  };
  readonly rules?: { graceMs: number; lateWindowMs: number };
  readonly replacements?: Array<{ id: string; at: string; oldFinalValue: string; newInitialValue: string }>;
  readonly steps: Array<{ now?: string; readings?: Array<[string, string]>; timer?: string }>;
  readonly expected: Array<Record<string, unknown> & { granularity: string; localPeriod: string }>;
  readonly absent?: string[];
  readonly tooLate?: string[];
  readonly quarantined?: string[];
}

const cases = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

describe('hand-computed consumption scenarios', () => {
  it('has scenarios', () => expect(cases.length).toBeGreaterThanOrEqual(12));

  it.each(cases)('%s', (file) => {
    const fixture = JSON.parse(readFileSync(DIR + file, 'utf8')) as Fixture;
    expect(fixture.comment.length).toBeGreaterThan(20);
    const profile = testProfile({
      timeZone: fixture.profile.timeZone ?? 'UTC',
      billingDayStartHour: fixture.profile.billingDayStartHour ?? 0,
      range: fixture.profile.range === null ? null : fixture.profile.range === undefined ? rangeOf(null, null) : parseNano(fixture.profile.range),
      maxGapMs: (fixture.profile.maxGapS ?? 172_800) * 1000,
    });
    const replacements = (fixture.replacements ?? []).map((r) => ({
      id: r.id, at: Date.parse(r.at), oldFinalValue: parseNano(r.oldFinalValue), newInitialValue: parseNano(r.newInitialValue),
    }));
    const rules = fixture.rules ?? DEFAULT_TEST_RULES;
    const { counter: columns } = fixture.profile;
    const counter = columns === undefined ? undefined : counterOf(columns.digits ?? null, columns.multiplier ?? null, columns.resolution ?? null);
    const judging = counter === undefined ? {} : { counter };
    let state: RegisterState = emptyState(profile);
    const records: Consumption[] = [];
    const tooLate: string[] = [];
    const quarantined: string[] = [];
    for (const step of fixture.steps) {
      if (step.timer !== undefined) {
        const result = runTimer(state, step.timer, { profile, replacements, rules, ...judging });
        state = result.state;
        records.push(...result.records);
        continue;
      }
      const run = runReadings(step.readings ?? [], { profile, replacements, rules, state, ...judging, ...(step.now === undefined ? {} : { now: step.now }) });
      state = run.state;
      records.push(...run.records);
      tooLate.push(...run.tooLate);
      quarantined.push(...run.quarantined);
    }
    const latest = latestOf(records);
    for (const expected of fixture.expected) {
      const actual = latest.get(`${expected.granularity}|${expected.localPeriod}`);
      expect(actual, `${expected.granularity} ${expected.localPeriod}`).toBeDefined();
      const wanted = Object.fromEntries(
        Object.entries(expected).map(([k, v]) => [k, (k === 'periodStartAt' || k === 'periodEndAt') && typeof v === 'string' ? Date.parse(v) : v]),
      );
      expect(actual).toMatchObject(wanted);
    }
    for (const key of fixture.absent ?? []) expect(latest.has(key), key).toBe(false);
    if (fixture.tooLate !== undefined) expect(tooLate.map(Date.parse)).toEqual(fixture.tooLate.map(Date.parse));
    if (fixture.quarantined !== undefined) expect(quarantined.map(Date.parse)).toEqual(fixture.quarantined.map(Date.parse));
  });
});
