/**
 * Meter clocks show local wall time without a zone (M-Bus types F and I). The site's IANA time zone
 * turns that into an instant; without it the time cannot be placed and is not used.
 */
import { DecodeError } from '../../../core/errors.js';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    try {
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
    } catch (err) {
      throw new DecodeError('BAD_TIME_ZONE', `time zone: expected an IANA name such as Europe/Minsk, got "${timeZone}"`, {
        cause: err,
      });
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Local time minus UTC at `epochMs`, in milliseconds (whole seconds). */
function offsetAt(formatter: Intl.DateTimeFormat, epochMs: number): number {
  const fields = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of formatter.formatToParts(epochMs)) {
    if (part.type in fields) fields[part.type as keyof typeof fields] = Number(part.value);
  }
  const wall = Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour, fields.minute, fields.second);
  return wall - (epochMs - (((epochMs % 1000) + 1000) % 1000));
}

const DAY_MS = 86_400_000;

/** Per zone, the last span of instants known to share one UTC offset: most meter times fall in it. */
interface SteadySpan {
  readonly from: number;
  readonly to: number;
  readonly offset: number;
}
const steadySpans = new Map<string, SteadySpan>();

function rememberSteady(timeZone: string, from: number, to: number, offset: number): void {
  const span = steadySpans.get(timeZone);
  // Overlapping spans with the same offset have it throughout their union.
  if (span !== undefined && span.offset === offset && from <= span.to && span.from <= to) {
    steadySpans.set(timeZone, { from: Math.min(from, span.from), to: Math.max(to, span.to), offset });
  } else {
    steadySpans.set(timeZone, { from, to, offset });
  }
}

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
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  // No offset exceeds a day, so the instant lies within a day of the wall time read as UTC.
  const span = steadySpans.get(timeZone);
  if (span !== undefined && span.from <= wall - DAY_MS && wall + DAY_MS <= span.to) return wall - span.offset;
  const formatter = formatterFor(timeZone);
  const offsetBefore = offsetAt(formatter, wall - DAY_MS);
  const offsetAfter = offsetAt(formatter, wall + DAY_MS);
  const before = wall - offsetBefore;
  if (offsetBefore === offsetAfter) {
    rememberSteady(timeZone, wall - DAY_MS, wall + DAY_MS, offsetBefore);
    return before;
  }
  const after = wall - offsetAfter;
  const beforeValid = offsetAt(formatter, before) === offsetBefore;
  const afterValid = offsetAt(formatter, after) === offsetAfter;
  if (beforeValid && afterValid) {
    // The larger offset is summer time, and its instance of the repeated hour comes first.
    const summer = offsetBefore > offsetAfter ? before : after;
    const winter = summer === before ? after : before;
    return summerTime === false ? winter : summer;
  }
  if (afterValid) return after;
  return before;
}
