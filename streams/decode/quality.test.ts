import { describe, expect, it } from 'vitest';
import { clockFlags, orderFlags, outOfRange, PLAUSIBLE_RANGES } from './quality.js';
import { quantityInfo } from './decoders/units.js';

const RECEIVED = Date.parse('2026-03-29T07:15:00Z');
const MINUTE = 60_000;

describe('range checks', () => {
  it.each([
    ['volume', -0.001, true],
    ['volume', 0, false],
    ['flow_temperature', 95, false],
    ['flow_temperature', 250, true],
    ['relative_humidity', 101, true],
    ['co2', 421.4, false],
    ['co2', 40, true],
    ['ch4', 1.96, false],
    ['pressure', -5, true],
  ])('flag %s = %s as out of range: %s', (quantity, value, expected) => {
    expect(outOfRange(quantity, value)).toBe(expected);
  });

  it('flags a value that is not a finite number, whatever the quantity', () => {
    expect(outOfRange('power', Number.NaN)).toBe(true);
    expect(outOfRange('something_unknown', Number.POSITIVE_INFINITY)).toBe(true);
  });

  it('does not range-check a quantity the table does not list', () => {
    expect(outOfRange('something_unknown', -1e30)).toBe(false);
  });

  it('only lists quantities the decoders know, so a typo cannot silently disable a check', () => {
    for (const quantity of Object.keys(PLAUSIBLE_RANGES)) expect(quantityInfo(quantity), quantity).toBeDefined();
  });
});

describe('clock checks', () => {
  it('accepts a device time within the skew ahead of receipt', () => {
    expect(clockFlags(RECEIVED + 4 * MINUTE, RECEIVED)).toEqual([]);
  });

  it('flags a device time more than 5 minutes ahead of receipt as CLOCK_IN_FUTURE', () => {
    expect(clockFlags(RECEIVED + 6 * MINUTE, RECEIVED)).toEqual(['CLOCK_IN_FUTURE']);
  });

  it('flags a device time older than 90 days before receipt as CLOCK_TOO_OLD', () => {
    expect(clockFlags(RECEIVED - 89 * 1440 * MINUTE, RECEIVED)).toEqual([]);
    expect(clockFlags(RECEIVED - 91 * 1440 * MINUTE, RECEIVED)).toEqual(['CLOCK_TOO_OLD']);
  });

  it('takes its limits from the options', () => {
    expect(clockFlags(RECEIVED + 2 * MINUTE, RECEIVED, { futureSkewMs: MINUTE })).toEqual(['CLOCK_IN_FUTURE']);
    expect(clockFlags(RECEIVED - 2 * 1440 * MINUTE, RECEIVED, { maxAgeMs: 1440 * MINUTE })).toEqual(['CLOCK_TOO_OLD']);
  });
});

describe('flag order', () => {
  it('writes each flag once, in the order of the QualityFlag symbols', () => {
    expect(orderFlags(new Set(['LOW_BATTERY', 'TIME_FROM_RECEIPT', 'SUSPECTED_RESET', 'CLOCK_IN_FUTURE'] as const))).toEqual([
      'CLOCK_IN_FUTURE',
      'TIME_FROM_RECEIPT',
      'SUSPECTED_RESET',
      'LOW_BATTERY',
    ]);
  });
});
