/**
 * Meter clocks show local wall time without a zone (M-Bus types F and I). The site's IANA time zone
 * turns that into an instant; without it the time cannot be placed and is not used.
 */
import { DecodeError } from '../../../core/errors.js';
import { isTimeZone, offsetAt } from '../../../core/time-zone.js';

const DAY_MS = 86_400_000;

/**
 * The instant a wall-clock time denotes in `timeZone`. In the hour a DST change repeats, the
 * meter's summer-time flag picks the instance (M-Bus type F sends one), else the earlier one; in the
 * hour a change skips, the instant the offset before the change gives.
 *
 * @throws {DecodeError} `BAD_TIME_ZONE` when `timeZone` is not an IANA zone name.
 */
export function localToEpoch(
  timeZone: string,
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  summerTime: boolean | null = null,
): number {
  if (!isTimeZone(timeZone)) {
    throw new DecodeError('BAD_TIME_ZONE', `time zone: expected an IANA name such as Europe/Minsk, got "${timeZone}"`);
  }
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  // No offset exceeds a day, so the instant lies within a day of the wall time read as UTC.
  const offsetBefore = offsetAt(timeZone, wall - DAY_MS);
  const offsetAfter = offsetAt(timeZone, wall + DAY_MS);
  const before = wall - offsetBefore;
  if (offsetBefore === offsetAfter) return before;
  const after = wall - offsetAfter;
  const beforeValid = offsetAt(timeZone, before) === offsetBefore;
  const afterValid = offsetAt(timeZone, after) === offsetAfter;
  if (beforeValid && afterValid) {
    // The larger offset is summer time, and its instance of the repeated hour comes first.
    const summer = offsetBefore > offsetAfter ? before : after;
    const winter = summer === before ? after : before;
    return summerTime === false ? winter : summer;
  }
  if (afterValid) return after;
  return before;
}
