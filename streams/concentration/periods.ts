/**
 * Local hours and days of an IANA time zone as UTC instants. Hours start on a whole hour of the
 * local clock (so in a zone at UTC+05:30 they start at :30 UTC); days start at local midnight and
 * last 23 to 25 hours across DST changes. Each hour lies inside one day.
 */
import { offsetAt } from '../../core/time-zone.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

const floorTo = (value: number, unit: number): number => value - (((value % unit) + unit) % unit);

/** Start of the local hour holding `epochMs`. */
export function hourStart(timeZone: string, epochMs: number): number {
  const offset = offsetAt(timeZone, epochMs);
  const start = floorTo(epochMs + offset, HOUR_MS) - offset;
  // Only a zone whose offset changes by a non-hour step inside an hour could land here.
  return start <= epochMs ? start : floorTo(epochMs, HOUR_MS);
}

/** End (exclusive) of the local hour starting at `start`: the next hour's start. */
export function hourEnd(timeZone: string, start: number): number {
  const next = hourStart(timeZone, start + HOUR_MS);
  return next > start ? next : start + HOUR_MS;
}

/** Start of the local day holding `epochMs`: local midnight, as an instant. */
export function dayStart(timeZone: string, epochMs: number): number {
  const offset = offsetAt(timeZone, epochMs);
  const midnightWall = floorTo(epochMs + offset, DAY_MS);
  // The offset at midnight may differ from the offset at epochMs when the day has a DST change.
  const guess = midnightWall - offset;
  const offsetThen = offsetAt(timeZone, guess);
  // Where a DST change skips midnight, this is the change's instant: the first of the local day.
  const start = midnightWall - offsetThen;
  return start <= epochMs ? start : guess;
}

/** End (exclusive) of the local day starting at `start`: the next day's start. */
export function dayEnd(timeZone: string, start: number): number {
  // Days last 23 to 25 hours, so 27 hours after a start is always inside the next day.
  return dayStart(timeZone, start + 27 * HOUR_MS);
}
