import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { amountMinor, divideHalfUp, formatScaled, parseScaled, rescale, unitRatio } from './decimal.js';

describe('parseScaled and formatScaled', () => {
  it('read the record decimals exactly, at any scale up to 9', () => {
    expect(parseScaled('12.500000000', 9)).toBe(12_500_000_000n);
    expect(parseScaled('-0.000000001', 9)).toBe(-1n);
    expect(parseScaled('3', 6)).toBe(3_000_000n);
    expect(parseScaled('0.125000', 3)).toBe(125n);
  });

  it('refuse exponents, blanks and digits beyond the scale', () => {
    expect(() => parseScaled('1e3', 9)).toThrow(/plain decimal/);
    expect(() => parseScaled('', 9)).toThrow(/plain decimal/);
    expect(() => parseScaled('0.0000000001', 9)).toThrow(/at most 9 fraction digits/);
  });

  it('print the minimum fraction digits and any further non-zero ones', () => {
    expect(formatScaled(12_500_000_000n, 9, { minFraction: 3, separator: ',' })).toBe('12,500');
    expect(formatScaled(12_345_678_901n, 9, { minFraction: 3 })).toBe('12.345678901');
    expect(formatScaled(-5n, 2)).toBe('-0.05');
    expect(formatScaled(7n, 9, { minFraction: 0 })).toBe('0.000000007');
    expect(formatScaled(7_000_000_000n, 9, { minFraction: 0 })).toBe('7');
  });

  it('round-trip every scaled integer', () => {
    fc.assert(fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), (value) => {
      expect(parseScaled(formatScaled(value, 9), 9)).toBe(value);
    }));
  });
});

describe('divideHalfUp', () => {
  it('rounds halves away from zero and everything else to the nearest', () => {
    expect(divideHalfUp(5n, 10n)).toBe(1n);
    expect(divideHalfUp(4n, 10n)).toBe(0n);
    expect(divideHalfUp(-5n, 10n)).toBe(-1n);
    expect(divideHalfUp(-4n, 10n)).toBe(0n);
    expect(divideHalfUp(15n, 10n)).toBe(2n);
    expect(divideHalfUp(25n, 10n)).toBe(3n);
    expect(rescale(123_455_000n, 9, 2)).toBe(12n);
    expect(rescale(125n, 3, 2)).toBe(13n);
  });

  it('is never more than half a unit away from the exact quotient', () => {
    fc.assert(fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.bigInt({ min: 1n, max: 10n ** 12n }), (n, d) => {
      const q = divideHalfUp(n, d);
      const error = q * d - n;
      expect(2n * (error < 0n ? -error : error) <= d).toBe(true);
    }));
  });
});

describe('unitRatio', () => {
  it('converts canonical units to tariff units exactly', () => {
    expect(unitRatio('Wh', 'kWh')).toEqual({ numerator: 1n, denominator: 1000n });
    expect(unitRatio('Wh', 'Gcal')).toEqual({ numerator: 1n, denominator: 1_163_000n });
    expect(unitRatio('Wh', 'GJ')).toEqual({ numerator: 9n, denominator: 2_500_000n });
    expect(unitRatio('m3', 'l')).toEqual({ numerator: 1000n, denominator: 1n });
    expect(unitRatio('m3', 'm3')).toEqual({ numerator: 1n, denominator: 1n });
  });

  it('knows no conversion between volume and energy, or of unknown units', () => {
    expect(unitRatio('m3', 'kWh')).toBeUndefined();
    expect(unitRatio('W', 'kWh')).toBeUndefined();
  });
});

describe('amountMinor', () => {
  it('prices consumption with one half-up rounding to kopecks', () => {
    // 12.345 m3 × 1.234567 BYN/m3 = 15.240729615 → 15.24
    expect(amountMinor(12_345_000_000n, { numerator: 1n, denominator: 1n }, [{ priceMicros: 1_234_567n, days: 31 }], 31)).toBe(1524n);
    // 1 234 500 Wh = 1234.5 kWh × 0.25 = 308.625 → 308.63 (the half goes up)
    expect(amountMinor(1_234_500_000_000_000n, unitRatio('Wh', 'kWh')!, [{ priceMicros: 250_000n, days: 30 }], 30)).toBe(30863n);
  });

  it('splits a month between tariffs by days', () => {
    // 31 m3 over March: 10 days at 1.00, 21 days at 2.00 → 10 + 42 = 52.00
    expect(amountMinor(31_000_000_000n, { numerator: 1n, denominator: 1n },
      [{ priceMicros: 1_000_000n, days: 10 }, { priceMicros: 2_000_000n, days: 21 }], 31)).toBe(5200n);
  });

  it('rounds negative amounts (corrections downwards) away from zero too', () => {
    expect(amountMinor(-5_000_000n, { numerator: 1n, denominator: 1n }, [{ priceMicros: 1_000_000n, days: 1 }], 1)).toBe(-1n);
  });
});
