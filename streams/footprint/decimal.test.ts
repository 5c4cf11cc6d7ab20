import { describe, expect, it } from 'vitest';
import { divideHalfEven, formatNano, multiplyNano, parseNano } from './decimal.js';

describe('nano-unit decimals', () => {
  it.each([
    ['12.5', 12_500_000_000n, '12.500000000'],
    ['-0.000000001', -1n, '-0.000000001'],
    ['0', 0n, '0.000000000'],
    ['123456789012345678901234567.123456789', 123456789012345678901234567123456789n, '123456789012345678901234567.123456789'],
  ])('reads %s as %s nano-units and writes it back as %s', (text, nano, formatted) => {
    expect(parseNano(text)).toBe(nano);
    expect(formatNano(nano)).toBe(formatted);
  });

  it('refuses more than 9 fraction digits, exponents and non-numbers', () => {
    for (const bad of ['1.0000000001', '1e3', 'NaN', '', '1.']) expect(() => parseNano(bad), bad).toThrow(RangeError);
  });

  it('rounds half to even', () => {
    expect([5n, 15n, 25n, -5n, -15n, 14n, 16n, -16n].map((n) => divideHalfEven(n, 10n))).toEqual([0n, 2n, 2n, 0n, -2n, 1n, 2n, -2n]);
  });

  it('multiplies exactly before rounding once: 1234.5 m3 × 2.034530000 kg/m3', () => {
    expect(formatNano(multiplyNano(parseNano('1234.5'), parseNano('2.03453')))).toBe('2511.627285000');
    // 0.000000001 × 0.5 = 0.0000000005: a tie, rounded to the even 0.
    expect(multiplyNano(1n, parseNano('0.5'))).toBe(0n);
    expect(multiplyNano(3n, parseNano('0.5'))).toBe(2n);
  });
});
