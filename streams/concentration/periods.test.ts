import { describe, expect, it } from 'vitest';
import { dayEnd, dayStart, hourEnd, hourStart } from './periods.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('local days', () => {
  it.each([
    ['Europe/Berlin', '2026-03-29T12:00:00Z', '2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z', 23],
    ['Europe/Berlin', '2026-10-25T12:00:00Z', '2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z', 25],
    ['Europe/Berlin', '2026-10-24T22:00:00Z', '2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z', 25],
    ['Europe/Minsk', '2026-03-29T20:59:59.999Z', '2026-03-28T21:00:00.000Z', '2026-03-29T21:00:00.000Z', 24],
    ['Europe/Moscow', '2026-12-31T21:00:00Z', '2026-12-31T21:00:00.000Z', '2027-01-01T21:00:00.000Z', 24],
    ['UTC', '2028-02-29T23:59:59Z', '2028-02-29T00:00:00.000Z', '2028-03-01T00:00:00.000Z', 24],
    ['Asia/Kolkata', '2026-06-01T00:00:00Z', '2026-05-31T18:30:00.000Z', '2026-06-01T18:30:00.000Z', 24],
  ])('in %s, %s lies in the day from %s to %s (%i h)', (tz, t, start, end, hours) => {
    const s = dayStart(tz, at(t));
    expect(iso(s)).toBe(start);
    expect(iso(dayEnd(tz, s))).toBe(end);
    expect((dayEnd(tz, s) - s) / 3_600_000).toBe(hours);
  });
});

describe('local hours', () => {
  it.each([
    ['Europe/Berlin', '2026-10-25T00:30:00Z', '2026-10-25T00:00:00.000Z', '2026-10-25T01:00:00.000Z'],
    ['Europe/Berlin', '2026-10-25T01:30:00Z', '2026-10-25T01:00:00.000Z', '2026-10-25T02:00:00.000Z'],
    ['Europe/Berlin', '2026-03-29T01:00:00Z', '2026-03-29T01:00:00.000Z', '2026-03-29T02:00:00.000Z'],
    ['Asia/Kolkata', '2026-06-01T10:29:59Z', '2026-06-01T09:30:00.000Z', '2026-06-01T10:30:00.000Z'],
    ['Asia/Kathmandu', '2026-06-01T10:00:00Z', '2026-06-01T09:15:00.000Z', '2026-06-01T10:15:00.000Z'],
  ])('in %s, %s lies in the hour from %s to %s', (tz, t, start, end) => {
    const s = hourStart(tz, at(t));
    expect(iso(s)).toBe(start);
    expect(iso(hourEnd(tz, s))).toBe(end);
  });

  it('tile each Berlin day, DST days included, with the day\'s own number of hours', () => {
    for (const day of ['2026-03-29T12:00:00Z', '2026-10-25T12:00:00Z', '2026-07-01T12:00:00Z']) {
      const start = dayStart('Europe/Berlin', at(day));
      const end = dayEnd('Europe/Berlin', start);
      let hours = 0;
      for (let h = start; h < end; h = hourEnd('Europe/Berlin', h)) {
        expect(hourStart('Europe/Berlin', h)).toBe(h);
        hours++;
      }
      expect(hours).toBe((end - start) / 3_600_000);
    }
  });
});
