import { Kind } from 'graphql/index.js';
import { describe, expect, it } from 'vitest';
import { DateTime, Decimal, parseInstant } from './scalars.js';
import { decodePosition, encodePosition, pageSize } from './paging.js';

describe('scalars', () => {
  it('DateTime reads ISO-8601 or epoch milliseconds and writes ISO-8601 in UTC', () => {
    expect(DateTime.parseValue('2026-03-01T01:00:00+01:00')).toBe(Date.parse('2026-03-01T00:00:00Z'));
    expect(DateTime.parseValue(0)).toBe(0);
    expect(DateTime.serialize(Date.parse('2026-03-01T00:00:00Z'))).toBe('2026-03-01T00:00:00.000Z');
    expect(DateTime.serialize(new Date(0))).toBe('1970-01-01T00:00:00.000Z');
    expect(() => DateTime.parseValue('yesterday')).toThrow('ISO-8601');
    expect(parseInstant('2026-13-45')).toBeUndefined();
  });

  it('Decimal keeps exact strings and refuses anything else', () => {
    expect(Decimal.parseValue('12.500000000')).toBe('12.500000000');
    expect(Decimal.parseLiteral({ kind: Kind.STRING, value: '-0.1' })).toBe('-0.1');
    expect(() => Decimal.parseValue(12.5)).toThrow('decimal string');
    expect(() => Decimal.parseValue('1e5')).toThrow('decimal string');
  });
});

describe('paging', () => {
  it('caps page sizes', () => {
    expect(pageSize(10, 100)).toBe(10);
    expect(() => pageSize(101, 100)).toThrow('from 1 to 100');
    expect(() => pageSize(0, 100)).toThrow('from 1 to 100');
  });

  it('round-trips positions and refuses foreign cursors', () => {
    expect(decodePosition(encodePosition([5, 'a']), 2)).toEqual([5, 'a']);
    expect(decodePosition(undefined, 2)).toBeUndefined();
    expect(() => decodePosition(encodePosition([5]), 2)).toThrow('not a cursor');
    expect(() => decodePosition('!!', 1)).toThrow('not a cursor');
  });
});
