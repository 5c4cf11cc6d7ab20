/**
 * Offsets of IANA time zones from UTC, from the runtime's ICU data, cached per zone and UTC quarter
 * hour. Offsets change on whole minutes and never twice within 15 minutes, so a quarter hour whose
 * first and last minutes agree has one offset throughout and most lookups are one map hit; the
 * quarter holding a change (including half-hour DST shifts) is answered per minute.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();
const QUARTER_MS = 900_000;
/** Per zone: offsets by UTC quarter hour, where constant over it, else NaN (then by minute). */
const offsetCache = new Map<string, Map<number, number>>();
const minuteCache = new Map<string, Map<number, number>>();
/** Entries per zone and cache before it is emptied, bounding memory over long runs. */
const CACHE_LIMIT = 200_000;

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether the runtime knows `timeZone` as an IANA zone name. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

function zoneMap(cache: Map<string, Map<number, number>>, timeZone: string): Map<number, number> {
  let byZone = cache.get(timeZone);
  if (byZone === undefined || byZone.size > CACHE_LIMIT) {
    byZone = new Map();
    cache.set(timeZone, byZone);
  }
  return byZone;
}

/** The offset at a whole UTC minute, from ICU. */
function offsetAtMinute(timeZone: string, minute: number): number {
  const byMinute = zoneMap(minuteCache, timeZone);
  const cached = byMinute.get(minute);
  if (cached !== undefined) return cached;
  const instant = minute * 60_000;
  const parts = formatter(timeZone).formatToParts(new Date(instant));
  const field = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value);
  const offset = Date.UTC(field('year'), field('month') - 1, field('day'), field('hour'), field('minute'), field('second')) - instant;
  byMinute.set(minute, offset);
  return offset;
}

/**
 * The zone's offset from UTC at `epochMs`, in ms (local = UTC + offset).
 *
 * @throws {RangeError} when `timeZone` is not an IANA zone name.
 */
export function offsetAt(timeZone: string, epochMs: number): number {
  const quarter = Math.floor(epochMs / QUARTER_MS);
  const byQuarter = zoneMap(offsetCache, timeZone);
  let offset = byQuarter.get(quarter);
  if (offset === undefined) {
    const first = offsetAtMinute(timeZone, quarter * 15);
    offset = offsetAtMinute(timeZone, quarter * 15 + 14) === first ? first : Number.NaN;
    byQuarter.set(quarter, offset);
  }
  return Number.isNaN(offset) ? offsetAtMinute(timeZone, Math.floor(epochMs / 60_000)) : offset;
}
