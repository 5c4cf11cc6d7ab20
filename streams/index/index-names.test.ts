import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.js';
import {
  assertIndexNaming,
  generationIndex,
  generationPattern,
  monthlyIndex,
  readAlias,
  templateName,
  type IndexNaming,
} from './index-names.js';

const live: IndexNaming = { prefix: '', generation: 1 };
const test: IndexNaming = { prefix: 'it-3f9a1c.', generation: 2 };

describe('index names', () => {
  it.each([
    ['readAlias', () => readAlias('', 'readings'), 'readings'],
    ['readAlias with a prefix', () => readAlias('it-3f9a1c.', 'alerts'), 'it-3f9a1c.alerts'],
    ['generationIndex', () => generationIndex(live, 'devices'), 'devices-v1'],
    ['generationIndex with a prefix', () => generationIndex(test, 'rejects'), 'it-3f9a1c.rejects-v2'],
    ['generationPattern of a monthly type', () => generationPattern(live, 'readings'), 'readings-v1-*'],
    ['generationPattern of other types is the index itself', () => generationPattern(test, 'consumption'), 'it-3f9a1c.consumption-v2'],
    ['templateName', () => templateName(test, 'footprint'), 'it-3f9a1c.meterflux-footprint-v2'],
  ])('%s', (_name, build, expected) => {
    expect(build()).toBe(expected);
  });

  it.each([
    ['2026-03-29T07:15:02.318Z', 'readings-v1-2026.03'],
    // Months are UTC: this instant is already 1 April in Minsk (UTC+3), and still March in the name.
    ['2026-03-31T23:59:59.999Z', 'readings-v1-2026.03'],
    ['2026-04-01T00:00:00.000Z', 'readings-v1-2026.04'],
    ['1970-01-01T00:00:00.000Z', 'readings-v1-1970.01'],
    ['0999-12-31T00:00:00.000Z', 'readings-v1-0999.12'],
    ['9999-12-31T23:59:59.999Z', 'readings-v1-9999.12'],
  ])('puts a reading observed at %s into %s', (at, expected) => {
    expect(monthlyIndex(live, 'readings', Date.parse(at))).toBe(expected);
  });

  it.each([
    ['after the year 9999', Date.parse('9999-12-31T23:59:59.999Z') + 1],
    ['beyond what a Date holds', 8.64e15 + 1],
    ['before the year 0', Date.parse('0000-01-01T00:00:00.000Z') - 1],
    ['NaN', Number.NaN],
  ])('refuses a time %s with a RangeError', (_name, at) => {
    expect(() => monthlyIndex(live, 'readings', at)).toThrow(RangeError);
  });

  it.each(['', 'it-3f9a1c.', 'staging.', 'a', '2026_'])('accepts the prefix %j', (prefix) => {
    expect(() => assertIndexNaming({ prefix, generation: 1 })).not.toThrow();
  });

  it.each(['Upper.', '-x.', '_x.', 'a b.', 'a*', 'a/b', '.', '..'])('refuses the prefix %j with a ConfigError', (prefix) => {
    expect(() => assertIndexNaming({ prefix, generation: 1 })).toThrow(ConfigError);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses the generation %s', (generation) => {
    expect(() => assertIndexNaming({ prefix: '', generation })).toThrow(/index generation must be a positive integer/);
  });
});
