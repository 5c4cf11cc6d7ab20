import { describe, expect, it } from 'vitest';
import { dayOf, localHourToUtc, monthOf, periodsBetween } from './calendar.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();
const hours = (p: { startAt: number; endAt: number }): number => (p.endAt - p.startAt) / 3_600_000;

describe('local days', () => {
  const berlin = { timeZone: 'Europe/Berlin', billingDayStartHour: 0 };

  it('gives Europe/Berlin a 23-hour day when DST starts and a 25-hour day when it ends', () => {
    const spring = dayOf(berlin, at('2025-03-30T12:00:00Z'));
    expect([spring.localPeriod, iso(spring.startAt), hours(spring)]).toEqual(['2025-03-30', '2025-03-29T23:00:00.000Z', 23]);
    const autumn = dayOf(berlin, at('2025-10-26T12:00:00Z'));
    expect([autumn.localPeriod, iso(autumn.startAt), hours(autumn)]).toEqual(['2025-10-26', '2025-10-25T22:00:00.000Z', 25]);
    expect(hours(dayOf(berlin, at('2025-07-01T12:00:00Z')))).toBe(24);
  });

  it('gives zones without DST 24-hour days all year (Moscow UTC+3, Minsk UTC+3)', () => {
    for (const timeZone of ['Europe/Moscow', 'Europe/Minsk']) {
      for (const day of ['2025-03-30', '2025-10-26', '2025-01-15', '2025-07-15']) {
        const p = dayOf({ timeZone, billingDayStartHour: 0 }, at(`${day}T12:00:00Z`));
        expect([p.localPeriod, iso(p.startAt), hours(p)]).toEqual([day, iso(at(`${day}T00:00:00Z`) - 3 * 3_600_000), 24]);
      }
    }
  });

  it('puts a reading exactly at local midnight into the day it starts', () => {
    const p = dayOf(berlin, at('2025-01-14T23:00:00Z'));
    expect([p.localPeriod, iso(p.startAt)]).toEqual(['2025-01-15', '2025-01-14T23:00:00.000Z']);
    expect(dayOf(berlin, at('2025-01-14T22:59:59.999Z')).localPeriod).toBe('2025-01-14');
  });

  it('starts gas days at the billing hour, so the early morning belongs to the previous day', () => {
    const gas = { timeZone: 'Europe/Minsk', billingDayStartHour: 10 };
    const p = dayOf(gas, at('2025-05-02T06:00:00Z')); // 09:00 local
    expect([p.localPeriod, iso(p.startAt), iso(p.endAt)]).toEqual(['2025-05-01', '2025-05-01T07:00:00.000Z', '2025-05-02T07:00:00.000Z']);
  });

  it('starts a billing hour that the spring-forward gap skips when the clock jumps, and one that repeats at its first occurrence', () => {
    const h2 = { timeZone: 'Europe/Berlin', billingDayStartHour: 2 };
    expect(iso(localHourToUtc('Europe/Berlin', { year: 2025, month: 3, day: 30 }, 2))).toBe('2025-03-30T01:00:00.000Z');
    expect(iso(localHourToUtc('Europe/Berlin', { year: 2025, month: 10, day: 26 }, 2))).toBe('2025-10-26T00:00:00.000Z');
    expect(hours(dayOf(h2, at('2025-03-30T12:00:00Z')))).toBe(23);
    expect(hours(dayOf(h2, at('2025-10-26T12:00:00Z')))).toBe(25);
  });

  it('handles half-hour DST shifts and quarter-hour offsets (Australia/Lord_Howe, Asia/Kathmandu)', () => {
    const lordHowe = { timeZone: 'Australia/Lord_Howe', billingDayStartHour: 0 };
    expect(hours(dayOf(lordHowe, at('2025-04-06T06:00:00Z')))).toBe(24.5);
    expect(hours(dayOf(lordHowe, at('2025-10-05T06:00:00Z')))).toBe(23.5);
    const kathmandu = dayOf({ timeZone: 'Asia/Kathmandu', billingDayStartHour: 0 }, at('2025-06-01T12:00:00Z'));
    expect([kathmandu.localPeriod, iso(kathmandu.startAt)]).toEqual(['2025-06-01', '2025-05-31T18:15:00.000Z']);
  });

  it('gives the same periods from its cache as computed afresh, minute by minute across a DST change', () => {
    const berlin = { timeZone: 'Europe/Berlin', billingDayStartHour: 2 };
    for (let t = at('2025-10-25T22:00:00Z'); t < at('2025-10-26T03:00:00Z'); t += 60_000) {
      const p = dayOf(berlin, t);
      expect(t >= p.startAt && t < p.endAt).toBe(true);
      expect(periodsBetween(berlin, 'DAILY', t, t)).toEqual([p]);
    }
  });

  it('crosses the year end and the leap day', () => {
    const utc = { timeZone: 'UTC', billingDayStartHour: 0 };
    expect(dayOf(utc, at('2024-02-29T05:00:00Z')).localPeriod).toBe('2024-02-29');
    expect(iso(dayOf(utc, at('2024-02-28T05:00:00Z')).endAt)).toBe('2024-02-29T00:00:00.000Z');
    const nye = dayOf(berlin, at('2024-12-31T23:30:00Z'));
    expect([nye.localPeriod, iso(nye.endAt)]).toEqual(['2025-01-01', '2025-01-01T23:00:00.000Z']);
  });
});

describe('local months', () => {
  it('has months of 28, 29, 30 and 31 days', () => {
    const utc = { timeZone: 'UTC', billingDayStartHour: 0 };
    const days = (iso: string) => hours(monthOf(utc, at(iso))) / 24;
    expect([days('2025-02-10T00:00:00Z'), days('2024-02-10T00:00:00Z'), days('2025-04-10T00:00:00Z'), days('2025-01-10T00:00:00Z')]).toEqual([28, 29, 30, 31]);
  });

  it('starts billing months at the billing hour of the first day in the zone', () => {
    const m = monthOf({ timeZone: 'Europe/Minsk', billingDayStartHour: 10 }, at('2024-02-01T06:00:00Z'));
    expect([m.localPeriod, iso(m.startAt), iso(m.endAt)]).toEqual(['2024-01', '2024-01-01T07:00:00.000Z', '2024-02-01T07:00:00.000Z']);
  });

  it('lists the periods between two instants across the year end', () => {
    const berlin = { timeZone: 'Europe/Berlin', billingDayStartHour: 0 };
    expect(periodsBetween(berlin, 'MONTHLY', at('2024-11-15T00:00:00Z'), at('2025-02-01T00:00:00Z')).map((p) => p.localPeriod))
      .toEqual(['2024-11', '2024-12', '2025-01', '2025-02']);
    const march = monthOf(berlin, at('2025-03-15T00:00:00Z'));
    expect(hours(march)).toBe(31 * 24 - 1);
  });
});
