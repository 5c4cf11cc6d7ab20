import { describe, expect, it } from 'vitest';
import { divRound, formatNano, nanoFromNumber, parseNano } from './nano.js';

describe('nano-units', () => {
  it('parses decimals exactly, rounding half to even at the ninth fraction digit', () => {
    expect(parseNano('12.5')).toBe(12_500_000_000n);
    expect(parseNano('-3')).toBe(-3_000_000_000n);
    expect(parseNano('1.5e-7')).toBe(150n);
    expect(parseNano('0.0000000005')).toBe(0n);
    expect(parseNano('0.0000000015')).toBe(2n);
    expect(parseNano('99999999999999999999.123456789')).toBe(99999999999999999999123456789n);
    expect(() => parseNano('12,5')).toThrow(/expected a decimal number/);
    expect(() => parseNano('')).toThrow(RangeError);
  });

  it('reads doubles through their shortest decimal', () => {
    expect(nanoFromNumber(0.1 + 0.2)).toBe(300_000_000n);
    expect(nanoFromNumber(1e21)).toBe(10n ** 30n);
    expect(() => nanoFromNumber(Number.NaN)).toThrow(RangeError);
  });

  it('formats with exactly nine fraction digits', () => {
    expect(formatNano(12_500_000_000n)).toBe('12.500000000');
    expect(formatNano(-5n)).toBe('-0.000000005');
    expect(formatNano(0n)).toBe('0.000000000');
  });

  it('divides rounding half away from zero', () => {
    expect([divRound(5n, 2n), divRound(-5n, 2n), divRound(4n, 3n), divRound(-4n, 3n), divRound(5n, 3n)]).toEqual([3n, -3n, 1n, -1n, 2n]);
  });
});
