/**
 * Local hours and days of an IANA time zone as UTC instants. Hours start on a whole hour of the
 * local clock (so in a zone at UTC+05:30 they start at :30 UTC); days start at local midnight and
 * last 23 to 25 hours across DST changes. Each hour lies inside one day.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Offsets change only on quarter hours of UTC in the tz database's modern rules; cached per slice. */
const SLICE_MS = 900_000;
const MAX_CACHED = 100_000;

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsets = new Map<string, number>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Whether `timeZone` is an IANA zone name this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/**
 * Local time minus UTC at `epochMs`, in milliseconds.
 *
 * @throws {RangeError} when `timeZone` is not an IANA zone name.
 */
export function offsetAt(timeZone: string, epochMs: number): number {
  const slice = Math.floor(epochMs / SLICE_MS);
  const key = `${timeZone}@${slice}`;
  const cached = offsets.get(key);
  if (cached !== undefined) return cached;
  const at = slice * SLICE_MS;
  const fields = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of formatterFor(timeZone).formatToParts(at)) {
    if (part.type in fields) fields[part.type as keyof typeof fields] = Number(part.value);
  }
  const offset = Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour, fields.minute, fields.second) - at;
  if (offsets.size >= MAX_CACHED) offsets.clear();
  offsets.set(key, offset);
  return offset;
}

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
