import { describe, expect, it } from 'vitest';
import { decimalOf, isDecimal, shiftDecimal } from './decimal.js';

describe('exact decimals', () => {
  it.each([
    ['12345678', -3, '12345.678'],
    ['12345.678', 3, '12345678'],
    ['0.069', 0, '0.069'],
    ['69', -3, '0.069'],
    ['1.5', 6, '1500000'],
    ['-0.5', 1, '-5'],
    ['-0.000', 2, '0'],
    ['007.50', 0, '7.5'],
    ['0', -9, '0'],
    ['123456789012345678901234567890', -20, '1234567890.1234567890123456789'],
  ])('shifts %s by 10^%i to %s', (decimal, exponent, expected) => {
    expect(shiftDecimal(decimal, exponent)).toBe(expected);
  });

  it.each([
    [1234.567, '1234.567'],
    [1e21, '1000000000000000000000'],
    [1.5e-7, '0.00000015'],
    [-2e-10, '-0.0000000002'],
    [0, '0'],
  ])('writes the number %d as %s', (value, expected) => {
    expect(decimalOf(value)).toBe(expected);
  });

  it.each([
    ['1234.567', true],
    ['-1', true],
    ['1e3', false],
    ['.5', false],
    ['1.', false],
    ['', false],
    ['0x10', false],
  ])('tells whether %j is a plain decimal: %s', (text, expected) => {
    expect(isDecimal(text)).toBe(expected);
  });
});
