/**
 * Local calendar periods of a register: days and months of an IANA time zone, each starting at the
 * register's billing-day start hour (0 for calendar days, e.g. 10 for a gas day from 10:00). Pure:
 * offsets come from `Intl.DateTimeFormat`, so every zone the runtime's ICU knows works, DST days
 * have 23 or 25 hours, and zones without DST (Europe/Moscow, Europe/Minsk) have 24.
 *
 * A start hour that does not exist on a date (it falls in a spring-forward gap) starts at the
 * moment the clock jumps; one that occurs twice (autumn fall-back) starts at its first occurrence.
 */
import { offsetAt } from '../../core/time-zone.js';

/** Daily or monthly. */
export type Granularity = 'DAILY' | 'MONTHLY';

/** One period: `[startAt, endAt)` in UTC epoch ms and its local label. */
export interface Period {
  readonly granularity: Granularity;
  readonly startAt: number;
  readonly endAt: number;
  /** `YYYY-MM-DD` (daily) or `YYYY-MM` (monthly): the local date or month the period starts on. */
  readonly localPeriod: string;
}

/** The calendar of one register: its zone and the local hour its days start at. */
export interface CalendarSpec {
  readonly timeZone: string;
  /** 0 to 23. */
  readonly billingDayStartHour: number;
}

const HOUR_MS = 3_600_000;
/** A quarter of an hour: offsets change, and periods start, on such boundaries in every zone in use. */
const QUARTER_MS = 900_000;

interface LocalDate {
  readonly year: number;
  /** 1 to 12. */
  readonly month: number;
  readonly day: number;
}

/** Periods by calendar, granularity and UTC quarter hour, where the period covers the whole quarter. */
const periodCache = new Map<string, Period>();
const CACHE_LIMIT = 200_000;

function localDateOf(timeZone: string, epochMs: number): LocalDate {
  const local = new Date(epochMs + offsetAt(timeZone, epochMs));
  return { year: local.getUTCFullYear(), month: local.getUTCMonth() + 1, day: local.getUTCDate() };
}

/** The date `days` after `date` (negative: before), across month and year ends. */
function addDays(date: LocalDate, days: number): LocalDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

function addMonths(date: LocalDate, months: number): LocalDate {
  const d = new Date(Date.UTC(date.year, date.month - 1 + months, 1));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: 1 };
}

/**
 * The instant at which the local clock of `timeZone` shows `hour`:00 on `date` (see the module
 * comment for hours that do not exist or occur twice).
 */
export function localHourToUtc(timeZone: string, date: LocalDate, hour: number): number {
  const wall = Date.UTC(date.year, date.month - 1, date.day, hour);
  const before = offsetAt(timeZone, wall - 12 * HOUR_MS);
  const after = offsetAt(timeZone, wall + 12 * HOUR_MS);
  const candidates = [wall - before, wall - after].filter((t) => t + offsetAt(timeZone, t) === wall);
  // A gap: no instant shows this wall time; with the offset from before the jump it maps to the
  // instant the clock jumps (for whole-hour gaps and hours), the first that exists afterwards.
  if (candidates.length === 0) return wall - before;
  return Math.min(...candidates);
}

function dayStart(spec: CalendarSpec, date: LocalDate): number {
  return localHourToUtc(spec.timeZone, date, spec.billingDayStartHour);
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** The (billing) day containing `epochMs`. */
export function dayOf(spec: CalendarSpec, epochMs: number): Period {
  let date = localDateOf(spec.timeZone, epochMs);
  let start = dayStart(spec, date);
  if (epochMs < start) {
    date = addDays(date, -1);
    start = dayStart(spec, date);
  }
  return {
    granularity: 'DAILY',
    startAt: start,
    endAt: dayStart(spec, addDays(date, 1)),
    localPeriod: `${pad(date.year, 4)}-${pad(date.month)}-${pad(date.day)}`,
  };
}

/** The (billing) month containing `epochMs`: from its first day's start hour to the next month's. */
export function monthOf(spec: CalendarSpec, epochMs: number): Period {
  let first = { ...localDateOf(spec.timeZone, epochMs), day: 1 };
  let start = dayStart(spec, first);
  if (epochMs < start) {
    first = addMonths(first, -1);
    start = dayStart(spec, first);
  }
  return {
    granularity: 'MONTHLY',
    startAt: start,
    endAt: dayStart(spec, addMonths(first, 1)),
    localPeriod: `${pad(first.year, 4)}-${pad(first.month)}`,
  };
}

/** The period of `granularity` containing `epochMs`. */
export function periodOf(spec: CalendarSpec, granularity: Granularity, epochMs: number): Period {
  const quarter = Math.floor(epochMs / QUARTER_MS);
  const key = `${spec.timeZone}|${spec.billingDayStartHour}|${granularity}|${quarter}`;
  const cached = periodCache.get(key);
  if (cached !== undefined) return cached;
  const period = granularity === 'DAILY' ? dayOf(spec, epochMs) : monthOf(spec, epochMs);
  if (period.startAt <= quarter * QUARTER_MS && period.endAt >= (quarter + 1) * QUARTER_MS) {
    if (periodCache.size > CACHE_LIMIT) periodCache.clear();
    periodCache.set(key, period);
  }
  return period;
}

/** Every period of `granularity` overlapping `[from, to]`, in order. */
export function periodsBetween(spec: CalendarSpec, granularity: Granularity, from: number, to: number): Period[] {
  const periods: Period[] = [];
  for (let p = periodOf(spec, granularity, from); p.startAt <= to; p = periodOf(spec, granularity, p.endAt)) {
    periods.push(p);
  }
  return periods;
}
