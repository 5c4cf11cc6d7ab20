import { describe, expect, it } from 'vitest';
import { periodDays, resolveTariff, type Tariff } from './tariffs.js';

const tariff = (id: string, validFrom: string, validTo: string | null, over: Partial<Tariff> = {}): Tariff => ({
  id, organisationId: 'org', tariffGroup: 'default', resource: 'gas', priceMicros: 1_000_000n, unit: 'm3', currency: 'BYN', validFrom, validTo, ...over,
});

describe('resolveTariff', () => {
  it('takes one open-ended tariff for the whole month', () => {
    const resolved = resolveTariff([tariff('t1', '2025-01-01', null)], '2026-02', 'gas');
    expect(resolved).toMatchObject({ ok: true, unit: 'm3', currency: 'BYN', totalDays: 28, segments: [{ days: 28 }], tariffIds: ['t1'] });
  });

  it('splits a month between tariffs that follow each other, valid_to being exclusive', () => {
    const resolved = resolveTariff([tariff('b', '2026-03-11', null, { priceMicros: 2n }), tariff('a', '2025-01-01', '2026-03-11')], '2026-03', 'gas');
    expect(resolved).toMatchObject({ ok: true, totalDays: 31, segments: [{ priceMicros: 1_000_000n, days: 10 }, { priceMicros: 2n, days: 21 }] });
  });

  it('says there is no tariff when none is in effect in the month', () => {
    expect(resolveTariff([tariff('old', '2025-01-01', '2026-03-01')], '2026-03', 'gas')).toMatchObject({ ok: false, reason: 'ACCOUNT_WITHOUT_TARIFF' });
    expect(resolveTariff([], '2026-03', 'gas')).toMatchObject({ ok: false, reason: 'ACCOUNT_WITHOUT_TARIFF' });
  });

  it('names the uncovered days of a gap, inside or at either end of the month', () => {
    expect(resolveTariff([tariff('a', '2026-01-01', '2026-03-10'), tariff('b', '2026-03-15', null)], '2026-03', 'gas'))
      .toMatchObject({ ok: false, reason: 'TARIFF_GAP', message: 'no tariff for gas covers 2026-03-10 to 2026-03-14 of 2026-03' });
    expect(resolveTariff([tariff('b', '2026-03-02', null)], '2026-03', 'gas'))
      .toMatchObject({ ok: false, reason: 'TARIFF_GAP', message: 'no tariff for gas covers 2026-03-01 to 2026-03-01 of 2026-03' });
    expect(resolveTariff([tariff('a', '2026-01-01', '2026-03-31')], '2026-03', 'gas'))
      .toMatchObject({ ok: false, reason: 'TARIFF_GAP', message: 'no tariff for gas covers 2026-03-31 to 2026-03-31 of 2026-03' });
  });

  it('refuses overlapping tariffs and tariffs that disagree on unit or currency', () => {
    expect(resolveTariff([tariff('a', '2026-01-01', null), tariff('b', '2026-03-15', null)], '2026-03', 'gas')).toMatchObject({ ok: false, reason: 'TARIFF_OVERLAP' });
    expect(resolveTariff([tariff('a', '2026-01-01', '2026-03-15'), tariff('b', '2026-03-15', null, { currency: 'EUR' })], '2026-03', 'gas'))
      .toMatchObject({ ok: false, reason: 'TARIFF_INCONSISTENT' });
  });
});

describe('periodDays', () => {
  it('gives the first day of the month and of the next, across a year end', () => {
    expect(periodDays('2026-12')).toEqual({ first: '2026-12-01', next: '2027-01-01' });
    expect(() => periodDays('2026-3')).toThrow(/YYYY-MM/);
  });
});
