import { describe, expect, it } from 'vitest';
import { localToEpoch } from './local-time.js';

describe('meter wall-clock time in a site time zone', () => {
  it.each([
    { case: 'a winter time in Berlin', zone: 'Europe/Berlin', wall: [2026, 1, 15, 12, 0, 0], summer: null, utc: '2026-01-15T11:00:00Z' },
    { case: 'a summer time in Berlin', zone: 'Europe/Berlin', wall: [2026, 7, 15, 12, 0, 0], summer: null, utc: '2026-07-15T10:00:00Z' },
    { case: 'Minsk, which has no DST', zone: 'Europe/Minsk', wall: [2026, 7, 15, 12, 0, 0], summer: null, utc: '2026-07-15T09:00:00Z' },
    { case: 'the repeated hour, by default summer time', zone: 'Europe/Berlin', wall: [2026, 10, 25, 2, 30, 0], summer: null, utc: '2026-10-25T00:30:00Z' },
    { case: 'the repeated hour flagged summer time', zone: 'Europe/Berlin', wall: [2026, 10, 25, 2, 30, 0], summer: true, utc: '2026-10-25T00:30:00Z' },
    { case: 'the repeated hour flagged standard time', zone: 'Europe/Berlin', wall: [2026, 10, 25, 2, 30, 0], summer: false, utc: '2026-10-25T01:30:00Z' },
    { case: 'the skipped hour, read with the offset before the change', zone: 'Europe/Berlin', wall: [2026, 3, 29, 2, 30, 0], summer: null, utc: '2026-03-29T01:30:00Z' },
    { case: 'the hour after the spring change', zone: 'Europe/Berlin', wall: [2026, 3, 29, 3, 30, 0], summer: null, utc: '2026-03-29T01:30:00Z' },
    { case: 'UTC', zone: 'UTC', wall: [2008, 5, 31, 23, 50, 0], summer: null, utc: '2008-05-31T23:50:00Z' },
  ])('places $case', ({ zone, wall, summer, utc }) => {
    const [year, month, day, hour, minute, second] = wall as [number, number, number, number, number, number];
    expect(new Date(localToEpoch(zone, year, month, day, hour, minute, second, summer)).toISOString()).toBe(new Date(utc).toISOString());
  });

  it('refuses a zone that is not an IANA name with BAD_TIME_ZONE', () => {
    expect(() => localToEpoch('Nowhere/Else', 2026, 1, 1, 0, 0, 0)).toThrow(expect.objectContaining({ reason: 'BAD_TIME_ZONE' }));
  });
});
