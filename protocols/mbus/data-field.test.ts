import { describe, expect, it } from 'vitest';

import { lvarKind, lvarLength, numberValue, readBcd, readInteger, readReal, readText } from './data-field.js';
import { scaledDecimal } from './decimal.js';
import { parseHex } from './testing/libmbus-fixtures.js';

describe('readBcd', () => {
  it.each([
    ['78 56 34 12', 12345678],
    ['00 00 00 00', 0],
    ['99', 99],
    ['05 00', 5],
    ['56 34 12 90 78 56', 567890123456],
  ])('reads %s LSB first as %i', (hex, expected) => {
    const bytes = parseHex(hex);
    expect(readBcd(bytes, 0, bytes.length, false)).toBe(expected);
  });

  it('reads MSB first when asked', () => {
    expect(readBcd(parseHex('12 34 56 78'), 0, 4, true)).toBe(12345678);
  });

  it('takes an F in the most significant digit as a minus sign', () => {
    expect(readBcd(parseHex('18 00 F0'), 0, 3, false)).toBe(-18);
    expect(readBcd(parseHex('00 F0'), 0, 2, false)).toBe(0);
  });

  it.each([
    ['BD EB DD', 'DDEBBD'],
    ['0A 00', '000A'],
    ['00 0F', '0F00'],
    ['FF FF', 'FFFF'],
  ])('reports %s as the invalid digits %s', (hex, digits) => {
    const bytes = parseHex(hex);
    expect(readBcd(bytes, 0, bytes.length, false)).toBe(digits);
  });
});

describe('readInteger', () => {
  it.each([
    ['FE', true, -2],
    ['FE', false, 254],
    ['BE FF FF', true, -66],
    ['FE FF FF FF', true, -2],
    ['FC 03 6D 00 2D 00', true, 193280672764],
    ['FF FF FF FF FF FF', true, -1],
    ['01 00 00 00 00 00 00 00', true, 1],
    ['FF FF FF FF FF FF FF FF', true, -1],
  ])('reads %s (signed: %s) as %i', (hex, signed, expected) => {
    const bytes = parseHex(hex);
    expect(readInteger(bytes, 0, bytes.length, false, signed)).toBe(expected);
  });

  it('keeps 64-bit values beyond the safe integer range exact as bigint', () => {
    expect(readInteger(parseHex('FF FF FF FF FF FF FF 7F'), 0, 8, false, true)).toBe(9223372036854775807n);
    expect(readInteger(parseHex('FF FF FF FF FF FF FF FF'), 0, 8, false, false)).toBe(18446744073709551615n);
  });

  it('reads MSB first when asked', () => {
    expect(readInteger(parseHex('01 02'), 0, 2, true, true)).toBe(0x0102);
  });
});

describe('readReal', () => {
  it('reads a 32-bit IEEE 754 value LSB first', () => {
    expect(readReal(parseHex('2B 4B AC 41'), 0, false)).toBeCloseTo(21.536703, 6);
    expect(readReal(parseHex('41 AC 4B 2B'), 0, true)).toBeCloseTo(21.536703, 6);
  });
});

describe('readText', () => {
  it('reverses text sent last character first', () => {
    expect(readText(parseHex('48 52 25'), 0, 3, false)).toBe('%RH');
    expect(readText(parseHex('25 52 48'), 0, 3, true)).toBe('%RH');
  });
});

describe('LVAR', () => {
  it.each([
    [0x00, 'text', 0],
    [0xbf, 'text', 0xbf],
    [0xc3, 'positive-bcd', 3],
    [0xd9, 'negative-bcd', 9],
    [0xe5, 'binary', 5],
    [0xf0, 'binary', 16],
    [0xf4, 'binary', 32],
    [0xf5, 'binary', 48],
    [0xf6, 'binary', 64],
  ])('reads LVAR %i as %s of %i bytes', (lvar, kind, length) => {
    expect(lvarKind(lvar)).toBe(kind);
    expect(lvarLength(lvar)).toBe(length);
  });

  it.each([0xca, 0xcf, 0xda, 0xf7, 0xff])('treats LVAR %i as reserved', (lvar) => {
    expect(lvarKind(lvar)).toBeNull();
  });
});

describe('scaled values', () => {
  it.each([
    [54321, 1, -3, '54.321'],
    [11, 1, -6, '0.000011'],
    [-18, 1, -2, '-0.18'],
    [2000, 1, -2, '20'],
    [5, 1, 3, '5000'],
    [0, 1, -3, '0'],
    [-0, 1, 2, '0'],
    [24, 3600, 0, '86400'],
    [9007199254740991, 60, 0, '540431955284459460'],
    [9223372036854775807n, 1, -3, '9223372036854775.807'],
  ])('writes %s × %i × 10^%i exactly as %s', (mantissa, factor, exponent, decimal) => {
    expect(scaledDecimal(mantissa, factor, exponent)).toBe(decimal);
  });

  it('gives the decimal string and the nearest double for integers, only the double for reals', () => {
    expect(numberValue(54321, 1, -3, true)).toEqual({ kind: 'number', number: 54.321, decimal: '54.321' });
    expect(numberValue(1.5, 1, -1, false)).toEqual({ kind: 'number', number: 0.15, decimal: null });
  });
});
