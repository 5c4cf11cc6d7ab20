/**
 * EN 13757-3 Annex A date and time types. The type follows from the data field's length:
 *
 * ```
 * G  2 bytes  date             day 0–4, year low 5–7 | month 0–3, year high 4–7
 * J  3 bytes  time             second | minute | hour
 * F  4 bytes  date and time    minute 0–5, IV 7 | hour 0–4, century 5–6, SU 7 | then as G
 * I  6 bytes  date and time    second 0–5 | minute 0–5 | hour 0–4 | then as G | week/day of week
 * ```
 */

/** A decoded date or time, with the fields exactly as transmitted. */
export interface MbusDateTime {
  readonly type: 'F' | 'G' | 'I' | 'J';
  /**
   * Four-digit year: the 7-bit year field plus 1900 + 100 × the century bits where type F sends
   * them, otherwise 2000 for 0–80 and 1900 for 81–127. `null` for type J.
   */
  readonly year: number | null;
  /** Month as sent, 1–12 when valid; `null` for type J. */
  readonly month: number | null;
  /** Day of month as sent, 1–31 when valid; `null` for type J. */
  readonly day: number | null;
  /** `null` for type G. */
  readonly hour: number | null;
  /** `null` for type G. */
  readonly minute: number | null;
  /** `null` for types F and G, which carry no seconds. */
  readonly second: number | null;
  /** The IV (time invalid) flag of type F; `null` for types without one or where it is not decoded. */
  readonly invalid: boolean | null;
  /** The SU (summer time) flag of type F; `null` otherwise. */
  readonly summerTime: boolean | null;
  /**
   * ISO 8601 local date (`2014-03-13`), date-time (`2014-03-13T11:11`, seconds for type I) or time
   * (`11:11:05`); `null` when the IV flag is set or the fields are not a real calendar date or time
   * (the all-zero "no date" and wildcard fields are both common).
   */
  readonly iso: string | null;
}

/**
 * Decodes a date/time data field of `length` bytes at `offset`; `msbFirst` for CI 0x76/0x77.
 *
 * @returns `null` when no date type has that length.
 */
export function decodeDateTime(
  bytes: Uint8Array,
  offset: number,
  length: number,
  msbFirst: boolean,
): MbusDateTime | null {
  const at = (i: number): number => bytes[msbFirst ? offset + length - 1 - i : offset + i]!;
  switch (length) {
    case 2:
      return dateTime('G', calendar(at(0), at(1), 0), null, null, null, null, null);
    case 3:
      return dateTime('J', null, at(2) & 0x1f, at(1) & 0x3f, at(0) & 0x3f, null, null);
    case 4: {
      const hourByte = at(1);
      const year = calendar(at(2), at(3), (hourByte >> 5) & 0x03);
      return dateTime('F', year, hourByte & 0x1f, at(0) & 0x3f, null, (at(0) & 0x80) !== 0, (hourByte & 0x80) !== 0);
    }
    case 6:
      return dateTime('I', calendar(at(3), at(4), 0), at(2) & 0x1f, at(1) & 0x3f, at(0) & 0x3f, null, null);
    default:
      return null;
  }
}

interface Calendar {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly yearField: number;
}

function calendar(dayByte: number, monthByte: number, century: number): Calendar {
  const yearField = ((dayByte & 0xe0) >> 5) | ((monthByte & 0xf0) >> 1);
  const year = century > 0 ? 1900 + 100 * century + yearField : yearField <= 80 ? 2000 + yearField : 1900 + yearField;
  return { year, month: monthByte & 0x0f, day: dayByte & 0x1f, yearField };
}

function dateTime(
  type: MbusDateTime['type'],
  date: Calendar | null,
  hour: number | null,
  minute: number | null,
  second: number | null,
  invalid: boolean | null,
  summerTime: boolean | null,
): MbusDateTime {
  return {
    type,
    year: date?.year ?? null,
    month: date?.month ?? null,
    day: date?.day ?? null,
    hour,
    minute,
    second,
    invalid,
    summerTime,
    iso: invalid === true ? null : isoText(date, hour, minute, second),
  };
}

function isoText(
  date: Calendar | null,
  hour: number | null,
  minute: number | null,
  second: number | null,
): string | null {
  let text = '';
  if (date !== null) {
    const { year, month, day, yearField } = date;
    if (yearField > 99 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
    text = `${year}-${pad2(month)}-${pad2(day)}`;
  }
  if (hour === null || minute === null) return text;
  if (hour > 23 || minute > 59 || (second !== null && second > 59)) return null;
  const time = `${pad2(hour)}:${pad2(minute)}${second === null ? '' : `:${pad2(second)}`}`;
  return date === null ? time : `${text}T${time}`;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function pad2(value: number): string {
  return value < 10 ? `0${value}` : `${value}`;
}
