import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Consumption } from '../../schemas/avro/index.js';
import { divRound, formatNano, NANO } from './nano.js';
import { runReadings, testProfile, type TestReading } from './testing/series.js';

const RANGE = 1000n * NANO;

/** A generated register: strictly increasing times, the true advance at each, raw values wrapping at RANGE. */
interface Series {
  readonly timeZone: string;
  readonly billingDayStartHour: number;
  readonly times: number[];
  /** True cumulative advance at each time, nano-units. */
  readonly advance: bigint[];
  readonly readings: TestReading[];
  /** Arrival order: indices into readings, duplicates included. */
  readonly arrival: number[];
}

const seriesArb = fc
  .record({
    timeZone: fc.constantFrom('UTC', 'Europe/Berlin', 'Europe/Moscow', 'Europe/Minsk', 'America/New_York'),
    billingDayStartHour: fc.constantFrom(0, 2, 6, 10, 23),
    start: fc.date({ min: new Date('2023-12-01T00:00:00Z'), max: new Date('2025-12-01T00:00:00Z'), noInvalidDate: true }),
    startValue: fc.bigInt(0n, RANGE - 1n),
    // minutes between readings (up to 4 days: gaps) and the advance in nano-units (below half the range)
    steps: fc.array(fc.tuple(fc.integer({ min: 1, max: 4 * 24 * 60 }), fc.bigInt(0n, 450n * NANO)), { minLength: 2, maxLength: 60 }),
    duplicates: fc.array(fc.nat(), { maxLength: 10 }),
    order: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 80, maxLength: 80 }),
  })
  .map(({ timeZone, billingDayStartHour, start, startValue, steps, duplicates, order }): Series => {
    const times = [start.getTime()];
    const advance = [0n];
    for (const [minutes, gained] of steps) {
      times.push(times.at(-1)! + minutes * 60_000);
      advance.push(advance.at(-1)! + gained);
    }
    const readings = times.map((t, i) => [new Date(t).toISOString(), formatNano((startValue + advance[i]!) % RANGE)] as const);
    const indices = [...readings.keys(), ...duplicates.map((d) => d % readings.length)];
    const arrival = indices.map((index, i) => ({ index, key: order[i % order.length]! + i * 1e-9 })).sort((a, b) => a.key - b.key).map((a) => a.index);
    return { timeZone, billingDayStartHour, times, advance, readings, arrival };
  });

/** The true advance at instant `at` by linear interpolation over the generated series (undefined outside it). */
function trueAdvance(s: Series, at: number): bigint | undefined {
  for (let i = 0; i < s.times.length; i++) {
    if (s.times[i] === at) return s.advance[i];
    if (s.times[i]! > at) {
      if (i === 0) return undefined;
      const [t0, t1, a0, a1] = [s.times[i - 1]!, s.times[i]!, s.advance[i - 1]!, s.advance[i]!];
      return a0 + divRound((a1 - a0) * BigInt(at - t0), BigInt(t1 - t0));
    }
  }
  return undefined;
}

const deltaOf = (r: Consumption): bigint => BigInt(r.delta!.replace('.', ''));

describe('consumption invariants (property)', () => {
  it('matches the true advance for every closed period, whatever the arrival order, duplicates, gaps and wraps', () => {
    fc.assert(
      fc.property(seriesArb, (s) => {
        const profile = testProfile({ timeZone: s.timeZone, billingDayStartHour: s.billingDayStartHour, range: RANGE });
        const run = runReadings(s.arrival.map((i) => s.readings[i]!), { profile });
        const sorted = runReadings(s.readings, { profile });
        expect(sorted.quarantined).toEqual([]); // in disorder a reading can look like a reset until the readings before it arrive
        const figures = (m: Map<string, Consumption>) => [...m].map(([k, r]) => [k, r.startValue, r.endValue, r.delta, r.quality, r.rollovers]).sort();
        expect(figures(run.latest)).toEqual(figures(sorted.latest));

        const closed = [...run.latest.values()].filter((r) => !r.open);
        for (const r of closed) {
          expect(deltaOf(r)).toBe(trueAdvance(s, r.periodEndAt)! - trueAdvance(s, r.periodStartAt)!);
        }
        const days = closed.filter((r) => r.granularity === 'DAILY').sort((a, b) => a.periodStartAt - b.periodStartAt);
        for (const month of closed.filter((r) => r.granularity === 'MONTHLY')) {
          const inside = days.filter((d) => d.periodStartAt >= month.periodStartAt && d.periodEndAt <= month.periodEndAt);
          expect(inside[0]?.periodStartAt).toBe(month.periodStartAt);
          expect(inside.at(-1)?.periodEndAt).toBe(month.periodEndAt);
          expect(inside.reduce((sum, d) => sum + deltaOf(d), 0n)).toBe(deltaOf(month));
        }
        if (days.length > 0) {
          // consecutive closed days span from the first's start to the last's end
          for (let i = 1; i < days.length; i++) expect(days[i]!.periodStartAt).toBe(days[i - 1]!.periodEndAt);
          const span = days.reduce((sum, d) => sum + deltaOf(d), 0n);
          expect(span).toBe(trueAdvance(s, days.at(-1)!.periodEndAt)! - trueAdvance(s, days[0]!.periodStartAt)!);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('gives the same figures with a pruned history as with the whole history when readings arrive in order', () => {
    fc.assert(
      fc.property(seriesArb, (s) => {
        const profile = testProfile({ timeZone: s.timeZone, billingDayStartHour: s.billingDayStartHour, range: RANGE });
        const pruned = runReadings(s.readings, { profile, rules: { graceMs: 3_600_000, lateWindowMs: 2 * 86_400_000 } });
        const whole = runReadings(s.readings, { profile });
        expect(pruned.tooLate).toEqual([]);
        for (const [key, record] of pruned.latest) {
          const reference = whole.latest.get(key);
          expect([key, record.startValue, record.endValue, record.delta, record.quality, record.rollovers]).toEqual([
            key, reference?.startValue, reference?.endValue, reference?.delta, reference?.quality, reference?.rollovers,
          ]);
        }
      }),
      { numRuns: 150 },
    );
  });
});
