/**
 * Which tariffs price a month, and the reason when none can. Pure: the exporter loads the rows of
 * `tariffs` for an organisation, tariff group and resource and asks {@link resolveTariff}.
 */
import type { PriceSegment } from './decimal.js';

/** One row of `tariffs`, as the billing connector needs it. */
export interface Tariff {
  readonly id: string;
  readonly organisationId: string;
  readonly tariffGroup: string;
  readonly resource: string;
  readonly priceMicros: bigint;
  readonly unit: string;
  readonly currency: string;
  /** First day it applies, `YYYY-MM-DD`. */
  readonly validFrom: string;
  /** First day it no longer applies (exclusive), `YYYY-MM-DD`; null while open-ended. */
  readonly validTo: string | null;
}

/** Why a month cannot be priced; stable codes, shown in `billing_problems.reason`. */
export type TariffProblemReason = 'ACCOUNT_WITHOUT_TARIFF' | 'TARIFF_GAP' | 'TARIFF_OVERLAP' | 'TARIFF_INCONSISTENT';

/** The tariffs pricing a month, or why there are none. */
export type TariffResolution =
  | { readonly ok: true; readonly unit: string; readonly currency: string; readonly segments: readonly PriceSegment[]; readonly totalDays: number; readonly tariffIds: readonly string[] }
  | { readonly ok: false; readonly reason: TariffProblemReason; readonly message: string };

const DAY_MS = 86_400_000;

/** Days since 1970-01-01 of a `YYYY-MM-DD` date. */
export function dayNumber(date: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) throw new RangeError(`expected a date YYYY-MM-DD, got "${date}"`);
  return Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / DAY_MS;
}

/** First day of the month and first day of the next one, `YYYY-MM-DD`, of a `YYYY-MM` period. */
export function periodDays(period: string): { first: string; next: string } {
  const match = /^(\d{4})-(\d{2})$/.exec(period);
  if (!match) throw new RangeError(`expected a period YYYY-MM, got "${period}"`);
  const year = Number(match[1]);
  const month = Number(match[2]);
  const next = month === 12 ? `${year + 1}-01` : `${year}-${String(month + 1).padStart(2, '0')}`;
  return { first: `${period}-01`, next: `${next}-01` };
}

/**
 * The tariffs in effect over the local month `period`, clipped to it. Every day must be covered by
 * exactly one tariff; when several follow each other, each prices its share of days. All must
 * share unit and currency.
 */
export function resolveTariff(tariffs: readonly Tariff[], period: string, what: string): TariffResolution {
  const { first, next } = periodDays(period);
  const start = dayNumber(first);
  const end = dayNumber(next);
  const applicable = tariffs
    .filter((t) => dayNumber(t.validFrom) < end && (t.validTo === null || dayNumber(t.validTo) > start))
    .sort((a, b) => dayNumber(a.validFrom) - dayNumber(b.validFrom));
  if (applicable.length === 0) {
    return { ok: false, reason: 'ACCOUNT_WITHOUT_TARIFF', message: `no tariff for ${what} is in effect in ${period}` };
  }
  const segments: PriceSegment[] = [];
  let covered = start;
  for (const tariff of applicable) {
    const from = Math.max(dayNumber(tariff.validFrom), start);
    const to = tariff.validTo === null ? end : Math.min(dayNumber(tariff.validTo), end);
    if (from > covered) {
      return { ok: false, reason: 'TARIFF_GAP', message: `no tariff for ${what} covers ${isoDay(covered)} to ${isoDay(from - 1)} of ${period}` };
    }
    if (from < covered) {
      return { ok: false, reason: 'TARIFF_OVERLAP', message: `tariffs for ${what} overlap from ${isoDay(from)} in ${period} (${applicable.map((t) => t.id).join(', ')})` };
    }
    segments.push({ priceMicros: tariff.priceMicros, days: to - from });
    covered = to;
  }
  if (covered < end) {
    return { ok: false, reason: 'TARIFF_GAP', message: `no tariff for ${what} covers ${isoDay(covered)} to ${isoDay(end - 1)} of ${period}` };
  }
  const [head] = applicable;
  if (applicable.some((t) => t.unit !== head!.unit || t.currency !== head!.currency)) {
    return { ok: false, reason: 'TARIFF_INCONSISTENT', message: `tariffs for ${what} in ${period} differ in unit or currency (${applicable.map((t) => `${t.id}: ${t.currency}/${t.unit}`).join(', ')})` };
  }
  return { ok: true, unit: head!.unit, currency: head!.currency, segments, totalDays: end - start, tariffIds: applicable.map((t) => t.id) };
}

function isoDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}
