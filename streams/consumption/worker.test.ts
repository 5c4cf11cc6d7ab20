import { describe, expect, it } from 'vitest';
import type { Reading } from '../../schemas/avro/index.js';
import { SAMPLE_RECORDS } from '../../schemas/avro/samples.js';
import { parseNano } from './nano.js';
import { counterOf } from './range.js';
import { DEFAULT_MAX_GAP_MS, rangeOf } from './registry.js';
import { feedsConsumption, profileOf, registerIdOf } from './worker.js';

const reading = (overrides: Partial<Reading> = {}): Reading => ({
  ...SAMPLE_RECORDS.Reading,
  deviceId: 'mbus:1',
  registerKey: 'volume',
  cumulative: true,
  function: 'INSTANTANEOUS',
  storageNumber: 0,
  value: 12.5,
  unit: 'm3',
  qualityFlags: [],
  ...overrides,
});

describe('which readings feed consumption', () => {
  it('takes the current value of a cumulative register', () => {
    expect(feedsConsumption(reading())).toBe(true);
    expect(feedsConsumption(reading({ qualityFlags: ['ROLLOVER', 'LOW_BATTERY'] }))).toBe(true);
  });

  it('ignores instantaneous quantities, stored values, extremes, implausible values and clocks running ahead', () => {
    expect(feedsConsumption(reading({ cumulative: false }))).toBe(false);
    expect(feedsConsumption(reading({ storageNumber: 1 }))).toBe(false);
    expect(feedsConsumption(reading({ function: 'MAXIMUM' }))).toBe(false);
    expect(feedsConsumption(reading({ value: Number.POSITIVE_INFINITY }))).toBe(false);
    expect(feedsConsumption(reading({ qualityFlags: ['OUT_OF_RANGE'] }))).toBe(false);
    expect(feedsConsumption(reading({ qualityFlags: ['CLOCK_IN_FUTURE'] }))).toBe(false);
  });
});

describe('register profiles', () => {
  it('names the register as registers.id does', () => {
    expect(registerIdOf(reading({ registerKey: 'energy.tariff1' }))).toBe('mbus:1/energy.tariff1');
  });

  it('takes the range of the registry’s columns as 10^digits × resolution × multiplier, resolution 1 and 10^8 when unknown', () => {
    expect(rangeOf(5, '1.000000000000')).toBe(parseNano('100000'));
    expect(rangeOf(8, '0.01')).toBe(parseNano('1000000'));
    expect(rangeOf(8, '1.000000000000', '0.001000000000')).toBe(parseNano('100000'));
    expect(rangeOf(null, null)).toBe(parseNano('100000000'));
  });

  it('uses the defaults and the reading’s own unit, organisation and site for a register the registry does not know', () => {
    const profile = profileOf(reading({ organisationId: 'org-9', siteId: 'site-9', unit: 'Wh' }), undefined, parseNano('100000'));
    expect(profile).toEqual({
      registerId: 'mbus:1/volume', deviceId: 'mbus:1', registerKey: 'volume', unit: 'Wh', organisationId: 'org-9', siteId: 'site-9',
      timeZone: 'UTC', billingDayStartHour: 0, range: parseNano('100000'), maxGapMs: DEFAULT_MAX_GAP_MS,
    });
  });

  it('prefers the registry’s facts, including a device row without an organisation', () => {
    const profile = profileOf(reading({ organisationId: 'org-9', siteId: 'site-9' }), {
      timeZone: 'Europe/Minsk', billingDayStartHour: 10, counter: counterOf(5, '1', null), maxGapMs: 3_600_000, unit: 'm3',
      organisationId: null, siteId: null, replacements: [],
    }, parseNano('100000'));
    expect(profile).toMatchObject({ timeZone: 'Europe/Minsk', billingDayStartHour: 10, range: parseNano('100000'), maxGapMs: 3_600_000, organisationId: null, siteId: null });
  });
});
