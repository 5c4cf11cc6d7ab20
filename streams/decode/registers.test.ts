import { describe, expect, it } from 'vitest';
import { checkRegister, type RegisterCounter } from './registers.js';
import type { RegisterMark } from './state.js';

const T0 = Date.parse('2026-03-29T00:00:00Z');
const HOUR = 3_600_000;
const EIGHT: RegisterCounter = { digits: 8, resolution: undefined };

describe('register monotonicity', () => {
  const mark = (value: number, step = -3, at = T0): RegisterMark => ({ value, at, step });

  it('keeps the first value as the mark without a flag', () => {
    const check = checkRegister(undefined, 12.345, '12.345', T0, EIGHT);
    expect(check.flag).toBeUndefined();
    expect(check.mark).toEqual({ value: 12.345, at: T0, step: -3 });
  });

  it('keeps no resolution estimate while the register shows zero', () => {
    expect(checkRegister(undefined, 0, '0', T0, EIGHT).mark).toEqual({ value: 0, at: T0 });
    expect(checkRegister({ value: 0, at: T0 }, 12_000, '12000', T0 + HOUR, EIGHT).mark.step).toBe(3);
  });

  it('lets a register advance or stay without a flag', () => {
    expect(checkRegister(mark(12.345), 12.5, '12.5', T0 + HOUR, EIGHT).flag).toBeUndefined();
    expect(checkRegister(mark(12.345), 12.345, '12.345', T0 + HOUR, EIGHT).flag).toBeUndefined();
  });

  it('calls a drop of more than half the range a rollover: 8 digits of litres wrap at 100000 m3', () => {
    const check = checkRegister(mark(99_999.9), 0.25, '0.25', T0 + HOUR, EIGHT);
    expect(check.range).toBe(100_000);
    expect(check.flag).toBe('ROLLOVER');
    expect(check.mark.value).toBe(0.25);
  });

  it('calls a smaller drop a suspected reset, and continues the chain from the new value', () => {
    const check = checkRegister(mark(30_000), 12, '12', T0 + HOUR, EIGHT);
    expect(check.flag).toBe('SUSPECTED_RESET');
    expect(check.previous?.value).toBe(30_000);
    expect(check.mark).toEqual({ value: 12, at: T0 + HOUR, step: -3 });
  });

  it('uses the registry digit count: 5 digits of litres wrap at 100 m3', () => {
    const five: RegisterCounter = { digits: 5, resolution: undefined };
    expect(checkRegister(mark(99.9), 0.1, '0.1', T0 + HOUR, five).flag).toBe('ROLLOVER');
    expect(checkRegister(mark(40), 0.1, '0.1', T0 + HOUR, five).flag).toBe('SUSPECTED_RESET');
  });

  it('keeps the smallest step it has seen, so a value ending in zeros does not coarsen the range', () => {
    const check = checkRegister(mark(100.001), 100.01, '100.01', T0 + HOUR, EIGHT);
    expect(check.mark.step).toBe(-3);
  });

  it('raises the range above a value that already exceeds it instead of calling every drop a rollover', () => {
    const check = checkRegister(mark(250_000, -3), 200_000, '200000', T0 + HOUR, EIGHT);
    expect(check.range).toBe(1_000_000);
    expect(check.flag).toBe('SUSPECTED_RESET');
  });

  it('does not judge a value older than the mark (a late or re-driven uplink), and keeps the newer mark', () => {
    const check = checkRegister(mark(500, -3, T0 + HOUR), 400, '400', T0, EIGHT);
    expect(check.flag).toBeUndefined();
    expect(check.mark.value).toBe(500);
    expect(check.mark.at).toBe(T0 + HOUR);
  });

  it('tells when a value exceeds what the digits can show', () => {
    expect(checkRegister(mark(1), 100_000, '100000', T0 + HOUR, EIGHT).exceedsDigits).toBe(true);
    expect(checkRegister(mark(1), 99_999.999, '99999.999', T0 + HOUR, EIGHT).exceedsDigits).toBe(false);
  });
});

describe('the wrap range with the registry resolution', () => {
  it('wraps an 8-digit water meter at 0.001 m3 at 100000 m3, from its first values on: 99999.998 → 0.003 is a rollover', () => {
    const water: RegisterCounter = { digits: 8, resolution: '0.001000000000' };
    const check = checkRegister({ value: 99_999.998, at: T0 }, 0.003, '0.003', T0 + HOUR, water);
    expect(check.range).toBe(100_000);
    expect(check.flag).toBe('ROLLOVER');
    expect(checkRegister(undefined, 99_999.998, '99999.998', T0, water).exceedsDigits).toBe(false);
    expect(checkRegister(undefined, 100_000, '100000', T0, water).exceedsDigits).toBe(true);
  });

  it('does not wait for the estimate: after round values (step 0.1 m3, range 10^7) the wrap 99999.9 → 0.1 is still a rollover', () => {
    const roundMark: RegisterMark = { value: 99_999.9, at: T0, step: -1 };
    expect(checkRegister(roundMark, 0.1, '0.1', T0 + HOUR, { digits: 8, resolution: '0.001' }).flag).toBe('ROLLOVER');
    expect(checkRegister(roundMark, 0.1, '0.1', T0 + HOUR, EIGHT).flag).toBe('SUSPECTED_RESET');
  });

  it('wraps an energy register counting 1000 Wh steps in 8 digits at 10^11 Wh', () => {
    const energy: RegisterCounter = { digits: 8, resolution: '1000' };
    const check = checkRegister({ value: 99_999_998_000, at: T0 }, 3000, '3000', T0 + HOUR, energy);
    expect(check.range).toBe(100_000_000_000);
    expect(check.flag).toBe('ROLLOVER');
    // A drop the estimate alone (10^3 from 3000, likewise 10^11) would judge the same way.
    expect(checkRegister({ value: 99_999_998_000, at: T0, step: 3 }, 3000, '3000', T0 + HOUR, EIGHT).flag).toBe('ROLLOVER');
    expect(checkRegister({ value: 40_000_000_000, at: T0 }, 3000, '3000', T0 + HOUR, energy).flag).toBe('SUSPECTED_RESET');
  });

  it('takes a resolution that is no power of ten: minutes of on-time in 6 digits wrap at 6 × 10^7 s', () => {
    const minutes: RegisterCounter = { digits: 6, resolution: '60' };
    expect(checkRegister({ value: 59_999_940, at: T0 }, 120, '120', T0 + HOUR, minutes)).toMatchObject({ range: 60_000_000, flag: 'ROLLOVER' });
  });
});

describe('the wrap range with the resolution estimated', () => {
  it('estimates an 8-digit water meter from its litre values: 99999.998 → 0.003 is a rollover', () => {
    const first = checkRegister(undefined, 99_999.998, '99999.998', T0, EIGHT);
    expect(first.mark.step).toBe(-3);
    const check = checkRegister(first.mark, 0.003, '0.003', T0 + HOUR, EIGHT);
    expect(check.range).toBe(100_000);
    expect(check.flag).toBe('ROLLOVER');
  });

  it('estimates an energy register in kWh steps from values in Wh', () => {
    const first = checkRegister(undefined, 99_999_998_000, '99999998000', T0, EIGHT);
    expect(first.mark.step).toBe(3);
    expect(checkRegister(first.mark, 2000, '2000', T0 + HOUR, EIGHT)).toMatchObject({ range: 100_000_000_000, flag: 'ROLLOVER' });
  });

  it('takes resolution 1 until a nonzero value was seen', () => {
    expect(checkRegister({ value: 0, at: T0 }, 0, '0', T0 + HOUR, EIGHT).range).toBe(100_000_000);
  });
});
