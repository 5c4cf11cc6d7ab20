import { describe, expect, it } from 'vitest';
import { emptyState, type RegisterState } from './engine.js';
import { parseNano } from './nano.js';
import { counterOf, DEFAULT_COUNTER, readingRange, refineStep, stepOfState, withStep, wrapRange } from './range.js';
import { consumptionStateCodec } from './state.js';
import { runReadings, testProfile } from './testing/series.js';

const n = parseNano;

describe('the wrap range of a register', () => {
  it('is 10^digits × resolution × multiplier with the registry resolution', () => {
    expect(wrapRange(counterOf(8, '1.000000000000', '0.001000000000'), undefined)).toBe(n('100000'));
    expect(wrapRange(counterOf(8, null, '1000'), undefined)).toBe(n('100000000000'));
    // A pulse count in litres that the multiplier turns into m3.
    expect(wrapRange(counterOf(6, '0.001', '1'), undefined)).toBe(n('1000'));
    expect(wrapRange(counterOf(6, '10', '0.001'), undefined)).toBe(n('10000'));
    expect(wrapRange(counterOf(6, null, '60'), undefined)).toBe(n('60000000'));
  });

  it('takes the registry resolution over the estimate', () => {
    expect(wrapRange(counterOf(8, null, '0.001'), -1)).toBe(n('100000'));
  });

  it('estimates an unknown resolution as 10^step, and takes 1 before any estimate', () => {
    expect(wrapRange(DEFAULT_COUNTER, -3)).toBe(n('100000'));
    expect(wrapRange(DEFAULT_COUNTER, 3)).toBe(n('100000000000'));
    expect(wrapRange(counterOf(8, '0.01', null), -3)).toBe(n('1000'));
    expect(wrapRange(DEFAULT_COUNTER, undefined)).toBe(n('100000000'));
  });

  it('is never below one nano-unit', () => {
    expect(wrapRange(counterOf(1, null, null), -12)).toBe(1n);
  });
});

describe('the resolution estimate of a register', () => {
  it('is the smallest decimal step of its counts', () => {
    expect(refineStep(undefined, n('99999.998'), n('1'))).toBe(-3);
    expect(refineStep(-3, n('100.01'), n('1'))).toBe(-3);
    expect(refineStep(undefined, n('99999998000'), n('1'))).toBe(3);
  });

  it('reads the count before the multiplier', () => {
    // 12345 litres times 0.001 → 12.345 m3: the counter moves in whole litres.
    expect(refineStep(undefined, n('12.345'), n('0.001'))).toBe(0);
    expect(refineStep(undefined, n('7.5'), n('2.5'))).toBe(0);
  });

  it('learns nothing from zero, nor from a value the multiplier does not divide', () => {
    expect(refineStep(-2, 0n, n('1'))).toBe(-2);
    expect(refineStep(undefined, n('1'), n('3'))).toBeUndefined();
    expect(refineStep(undefined, n('1'), 0n)).toBeUndefined();
  });

  it('is what a state keeps, or for a state from before it was kept, what its readings and anchor give', () => {
    const kept = { ...emptyState(testProfile()), step: -1 };
    expect(stepOfState(kept, n('1'))).toBe(-1);
    const older: RegisterState = {
      ...emptyState(testProfile()),
      readings: [{ at: 2, value: n('120') }, { at: 3, value: n('130.5') }],
      base: { at: 1, anchor: { at: 1, value: n('100.25'), advance: n('100.25'), readingAt: 1 }, monthRollovers: 0, monthReplacements: 0 },
    };
    expect(stepOfState(older, n('1'))).toBe(-2);
    expect(stepOfState(emptyState(testProfile()), n('1'))).toBeUndefined();
  });

  it('refines with each reading, and the range follows it', () => {
    const first = readingRange(undefined, DEFAULT_COUNTER, n('120'));
    expect(first).toEqual({ step: 1, range: n('1000000000') });
    const state = withStep(emptyState(testProfile()), first.step);
    expect(readingRange(state, DEFAULT_COUNTER, n('120.125'))).toEqual({ step: -3, range: n('100000') });
    expect(withStep(state, 1)).toBe(state);
  });

  it('survives the changelog, and a state written before it restores without one', () => {
    const state = withStep(emptyState(testProfile()), -3);
    expect(consumptionStateCodec.decode(consumptionStateCodec.encode(state))).toEqual(state);
    const before = JSON.parse(consumptionStateCodec.encode(emptyState(testProfile())).toString('utf8')) as Record<string, unknown>;
    expect(before).not.toHaveProperty('s');
    expect(consumptionStateCodec.decode(Buffer.from(JSON.stringify(before))).step).toBeUndefined();
  });
});

describe('wraps as consumption counts them', () => {
  it('counts the wrap of an 8-digit water meter at 0.001 m3, 99999.998 → 0.003, as a rollover of 0.005 m3', () => {
    for (const counter of [counterOf(8, '1', '0.001'), DEFAULT_COUNTER]) {
      const run = runReadings(
        [['2025-03-01T00:00:00Z', '99999.990'], ['2025-03-01T12:00:00Z', '99999.998'], ['2025-03-02T00:00:00Z', '0.003'], ['2025-03-03T00:00:00Z', '1.003']],
        { counter },
      );
      expect(run.quarantined).toEqual([]);
      expect(run.latest.get('DAILY|2025-03-01')).toMatchObject({ startValue: '99999.990000000', endValue: '0.003000000', delta: '0.013000000', rollovers: 1 });
      expect(run.latest.get('DAILY|2025-03-02')).toMatchObject({ delta: '1.000000000', rollovers: 0 });
    }
  });

  it('counted that wrap as a suspected reset when it took the range as 10^8 m3', () => {
    const run = runReadings([['2025-03-01T12:00:00Z', '99999.998'], ['2025-03-02T00:00:00Z', '0.003']], { profile: testProfile({ range: n('100000000') }) });
    expect(run.quarantined).toEqual(['2025-03-02T00:00:00Z']);
  });

  it('counts the wrap of an energy register in 1000 Wh steps at 10^11 Wh, stated or estimated', () => {
    for (const counter of [counterOf(8, null, '1000'), DEFAULT_COUNTER]) {
      const run = runReadings([['2025-06-01T00:00:00Z', '99999994000'], ['2025-06-01T12:00:00Z', '99999998000'], ['2025-06-02T00:00:00Z', '3000']], { counter });
      expect(run.quarantined).toEqual([]);
      expect(run.latest.get('DAILY|2025-06-01')).toMatchObject({ delta: '9000.000000000', rollovers: 1, endValue: '3000.000000000' });
    }
  });

  it('judges a drop from a value above the range with the digits that value needs, as decode does', () => {
    // 8 digits of litres would wrap at 100000 m3; a value of 250000 m3 shows a ninth digit (range 10^6 m3).
    const run = runReadings([['2025-03-01T00:00:00Z', '250000.125'], ['2025-03-02T00:00:00Z', '10.125']], { counter: DEFAULT_COUNTER });
    expect(run.quarantined).toEqual(['2025-03-02T00:00:00Z']);
    const wrapped = runReadings([['2025-03-01T00:00:00Z', '999999.125'], ['2025-03-02T00:00:00Z', '0.125']], { counter: DEFAULT_COUNTER });
    expect(wrapped.latest.get('DAILY|2025-03-01')).toMatchObject({ delta: '1.000000000', rollovers: 1 });
  });

  it('re-judges the kept history when the estimate gets finer: round values first, then the litres', () => {
    // 99999.9 → 0.1 looks like a reset while the estimate is 0.1 m3 (range 10^7); 0.125 shows litres (range 10^5).
    const run = runReadings(
      [['2025-03-01T00:00:00Z', '99999.9'], ['2025-03-02T00:00:00Z', '0.1'], ['2025-03-03T00:00:00Z', '0.125']],
      { counter: DEFAULT_COUNTER },
    );
    expect(run.quarantined).toEqual(['2025-03-02T00:00:00Z']);
    expect(run.state.step).toBe(-3);
    expect(run.latest.get('DAILY|2025-03-01')).toMatchObject({ endValue: '0.100000000', delta: '0.200000000', rollovers: 1 });
  });
});
