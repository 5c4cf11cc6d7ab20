import { describe, expect, it } from 'vitest';
import { checkRegister, exceedsDigits, stepOf } from './registers.js';
import type { RegisterMark } from './state.js';

const T0 = Date.parse('2026-03-29T00:00:00Z');
const HOUR = 3_600_000;

describe('the resolution of a register value', () => {
  it.each([
    ['12.345', -3],
    ['12.340', -2],
    ['12345000', 3],
    ['7', 0],
    ['0.5', -1],
    ['1.5e-7', -8],
    ['1e21', 21],
    ['-40.25', -2],
  ])('of %s is 10^%i', (decimal, step) => {
    expect(stepOf(decimal)).toBe(step);
  });

  it('is unknown for zero', () => {
    expect(stepOf('0')).toBeUndefined();
    expect(stepOf('0.000')).toBeUndefined();
  });
});

describe('register monotonicity', () => {
  const mark = (value: number, step = -3, at = T0): RegisterMark => ({ value, at, step });

  it('keeps the first value as the mark without a flag', () => {
    const check = checkRegister(undefined, 12.345, '12.345', T0, 8);
    expect(check.flag).toBeUndefined();
    expect(check.mark).toEqual({ value: 12.345, at: T0, step: -3 });
  });

  it('lets a register advance or stay without a flag', () => {
    expect(checkRegister(mark(12.345), 12.5, '12.5', T0 + HOUR, 8).flag).toBeUndefined();
    expect(checkRegister(mark(12.345), 12.345, '12.345', T0 + HOUR, 8).flag).toBeUndefined();
  });

  it('calls a drop of more than half the range a rollover: 8 digits of litres wrap at 100000 m3', () => {
    const check = checkRegister(mark(99_999.9), 0.25, '0.25', T0 + HOUR, 8);
    expect(check.range).toBe(100_000);
    expect(check.flag).toBe('ROLLOVER');
    expect(check.mark.value).toBe(0.25);
  });

  it('calls a smaller drop a suspected reset, and continues the chain from the new value', () => {
    const check = checkRegister(mark(30_000), 12, '12', T0 + HOUR, 8);
    expect(check.flag).toBe('SUSPECTED_RESET');
    expect(check.previous?.value).toBe(30_000);
    expect(check.mark).toEqual({ value: 12, at: T0 + HOUR, step: -3 });
  });

  it('uses the registry digit count: 5 digits of litres wrap at 100 m3', () => {
    expect(checkRegister(mark(99.9), 0.1, '0.1', T0 + HOUR, 5).flag).toBe('ROLLOVER');
    expect(checkRegister(mark(40), 0.1, '0.1', T0 + HOUR, 5).flag).toBe('SUSPECTED_RESET');
  });

  it('keeps the smallest step it has seen, so a value ending in zeros does not coarsen the range', () => {
    const check = checkRegister(mark(100.001), 100.01, '100.01', T0 + HOUR, 8);
    expect(check.mark.step).toBe(-3);
  });

  it('raises the range above a value that already exceeds it instead of calling every drop a rollover', () => {
    const check = checkRegister(mark(250_000, -3), 200_000, '200000', T0 + HOUR, 8);
    expect(check.range).toBe(1_000_000);
    expect(check.flag).toBe('SUSPECTED_RESET');
  });

  it('does not judge a value older than the mark (a late or re-driven uplink), and keeps the newer mark', () => {
    const check = checkRegister(mark(500, -3, T0 + HOUR), 400, '400', T0, 8);
    expect(check.flag).toBeUndefined();
    expect(check.mark.value).toBe(500);
    expect(check.mark.at).toBe(T0 + HOUR);
  });

  it('tells when a value exceeds what the digits can show', () => {
    expect(exceedsDigits(100_000, 8, -3)).toBe(true);
    expect(exceedsDigits(99_999.999, 8, -3)).toBe(false);
  });
});
