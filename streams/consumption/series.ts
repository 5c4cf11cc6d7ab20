/**
 * The delta algorithm of one register, pure and exact (nano-unit bigints): from its readings, its
 * meter replacements and the frozen base left by pruning, the chain of accepted points with their
 * cumulative advance, the value of the register at any instant, and the figures of each period.
 *
 * - **Advance.** Every accepted point carries `advance`, the register's cumulative consumption since
 *   an arbitrary origin: wraps included, summed across meter replacements. The delta of a period
 *   is `advance(end) − advance(start)`, so the daily deltas of a month add up to the month's and the
 *   deltas over any span add up to the advance over it, exactly.
 * - **Rollover.** Readings are judged in event-time order against the last accepted value of the
 *   same chain. A value lower by more than half the register's range wrapped (the range is added);
 *   lower by less is a **suspected reset**: quarantined — kept in state, counted, never used. With
 *   no known range every drop is a suspected reset. A drop from a value at or above the range is
 *   judged with the range given a digit more (× 10) until it exceeds that value, as decode does
 *   (core/register-range.ts): the register has more digits than assumed.
 * - **Meter replacement** at `at`: the old chain ends at `at` with `oldFinalValue`, the new one starts
 *   at `at` with `newInitialValue`; readings at or after `at` belong to the new meter. The old
 *   chain's last advance (from its last reading to its final value) and the new one's first (from its
 *   initial value) are both consumption.
 * - **Boundary value** at `b`: the last point at `b` when one exists (measured), else the line
 *   between the last point before and the first after (interpolated, or estimated when those two
 *   are further apart than the register's max gap). No point after `b`: unknown yet (open); no
 *   point before: unknown (the period began before the register's history).
 */
import { divRound } from './nano.js';

/** Quality of a boundary value, best first. */
export type Quality = 'MEASURED' | 'INTERPOLATED' | 'ESTIMATED';

const QUALITY_RANK: Record<Quality, number> = { MEASURED: 0, INTERPOLATED: 1, ESTIMATED: 2 };

/** The worse of two qualities. */
export function worseQuality(a: Quality, b: Quality): Quality {
  return QUALITY_RANK[a] >= QUALITY_RANK[b] ? a : b;
}

/** A reading as kept: event time and value in nano-units. */
export interface RawPoint {
  readonly at: number;
  readonly value: bigint;
}

/** A meter replacement, as in `meter_replacements` (values in nano-units). */
export interface Replacement {
  readonly id: string;
  readonly at: number;
  readonly oldFinalValue: bigint;
  readonly newInitialValue: bigint;
}

/** The value of a boundary that pruning froze: the readings around it are gone, so it is kept as computed. */
export interface FrozenBoundary {
  readonly at: number;
  readonly advance: bigint;
  /** The register's value shown at `at`. */
  readonly value: bigint;
  readonly quality: Quality;
}

/** What pruning leaves of the past: the history begins at `at` (a daily boundary). */
export interface SeriesBase {
  /** Readings at or before this instant are too late; periods starting before it are no longer computed. */
  readonly at: number;
  /** The last accepted point at or before `at`, kept so boundaries after `at` come out exactly as before pruning. */
  readonly anchor: AnchorPoint;
  /** When `base.at` is not the start of its month: the month's start, frozen. */
  readonly monthStart?: FrozenBoundary;
  /** Wraps and replacements between `monthStart.at` (or `at`) and `at`. */
  readonly monthRollovers: number;
  readonly monthReplacements: number;
}

/** Register facts the algorithm needs. */
export interface SeriesSpec {
  /** The value at which the register wraps, in nano-units; null when unknown. */
  readonly range: bigint | null;
  /** Longer gaps around a boundary make its value estimated. */
  readonly maxGapMs: number;
}

/** A point as the base keeps it. */
export interface AnchorPoint {
  readonly at: number;
  readonly value: bigint;
  readonly advance: bigint;
  readonly readingAt: number;
}

/** An accepted point of the chain. */
export interface ChainPoint {
  readonly at: number;
  readonly value: bigint;
  readonly advance: bigint;
  /** Event time of the reading behind it (the base: of the last reading before it), for gaps. */
  readonly readingAt: number;
  /** Quality of a boundary exactly at `at`: MEASURED, except a base that was not. */
  readonly quality: Quality;
}

/** The classified history of a register. */
export interface Chain {
  /** Accepted points in event-time order; several may share an instant (a replacement). */
  readonly points: readonly ChainPoint[];
  /** Event times of quarantined readings (suspected resets). */
  readonly quarantined: readonly number[];
  /** Interpolated instants at which the value passed the range. */
  readonly rollovers: readonly number[];
  /** Instants of the replacements applied. */
  readonly replacements: readonly number[];
}

/** A boundary's value. */
export interface BoundaryValue {
  readonly advance: bigint;
  readonly value: bigint;
  readonly quality: Quality;
}

/**
 * Classifies readings (sorted by time, one per instant) into the chain. Replacements at or before
 * the base are already inside it and are skipped.
 */
export function buildChain(spec: SeriesSpec, readings: readonly RawPoint[], replacements: readonly Replacement[], base?: SeriesBase): Chain {
  const points: ChainPoint[] = [];
  const quarantined: number[] = [];
  const rollovers: number[] = [];
  const applied: number[] = [];
  let last: ChainPoint | undefined;
  if (base !== undefined) {
    last = { ...base.anchor, quality: 'MEASURED' };
    points.push(last);
  }
  const pending = replacements.filter((r) => base === undefined || r.at > base.at).sort((a, b) => a.at - b.at);
  let next = 0;
  const replace = (r: Replacement): void => {
    // The registry states the old meter's final value: taken as given, a wrap only past half the range.
    const advance = last === undefined ? r.oldFinalValue : isWrap(last.value, r.oldFinalValue) ? step(last, r.oldFinalValue, r.at) : last.advance + (r.oldFinalValue - last.value);
    points.push({ at: r.at, value: r.oldFinalValue, advance, readingAt: r.at, quality: 'MEASURED' });
    last = { at: r.at, value: r.newInitialValue, advance, readingAt: r.at, quality: 'MEASURED' };
    points.push(last);
    applied.push(r.at);
  };
  const isWrap = (from: bigint, to: bigint): boolean => spec.range !== null && to < from && (from - to) * 2n > rangeFrom(spec.range, from);
  /** The advance of going from `from` to `value` at `at`, counting a wrap; the caller ensured it is not a reset. */
  const step = (from: ChainPoint, value: bigint, at: number): bigint => {
    if (!isWrap(from.value, value) || spec.range === null) return from.advance + (value - from.value);
    const range = rangeFrom(spec.range, from.value);
    const gained = value + range - from.value;
    const toRange = range - from.value;
    rollovers.push(from.at + Number(divRound(toRange * BigInt(at - from.at), gained > 0n ? gained : 1n)));
    return from.advance + gained;
  };
  for (const reading of readings) {
    while (next < pending.length && pending[next]!.at <= reading.at) replace(pending[next++]!);
    if (base !== undefined && reading.at <= base.at) continue;
    if (last !== undefined && reading.value < last.value && !isWrap(last.value, reading.value)) {
      quarantined.push(reading.at);
      continue;
    }
    const advance = last === undefined ? reading.value : step(last, reading.value, reading.at);
    last = { at: reading.at, value: reading.value, advance, readingAt: reading.at, quality: 'MEASURED' };
    points.push(last);
  }
  while (next < pending.length) replace(pending[next++]!);
  return { points, quarantined, rollovers, replacements: applied };
}

/**
 * The chain of `readings` plus one reading later than every point of `chain` (the common case of a
 * reading arriving in order): the same result as {@link buildChain} on all of them, without
 * judging the earlier readings again. Undefined when `reading` is not later than every point.
 */
export function extendChain(spec: SeriesSpec, chain: Chain, reading: RawPoint): Chain | undefined {
  const last = chain.points.at(-1);
  if (last === undefined || reading.at <= last.at) return undefined;
  if (reading.value < last.value) {
    const drop = last.value - reading.value;
    const range = spec.range === null ? null : rangeFrom(spec.range, last.value);
    if (range === null || drop * 2n <= range) return { ...chain, quarantined: [...chain.quarantined, reading.at] };
    const gained = reading.value + range - last.value;
    const crossing = last.at + Number(divRound((range - last.value) * BigInt(reading.at - last.at), gained > 0n ? gained : 1n));
    const point: ChainPoint = { at: reading.at, value: reading.value, advance: last.advance + gained, readingAt: reading.at, quality: 'MEASURED' };
    return { ...chain, points: [...chain.points, point], rollovers: [...chain.rollovers, crossing] };
  }
  const point: ChainPoint = { at: reading.at, value: reading.value, advance: last.advance + (reading.value - last.value), readingAt: reading.at, quality: 'MEASURED' };
  return { ...chain, points: [...chain.points, point] };
}

/** The range a drop from `from` is judged with: `range`, with a digit more for each one `from` needs beyond it. */
function rangeFrom(range: bigint, from: bigint): bigint {
  let wider = range;
  while (wider <= from && wider > 0n) wider *= 10n;
  return wider;
}

/** Index of the first point at or after `at` (points.length when none). */
function lowerBound(points: readonly ChainPoint[], at: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]!.at < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The register at instant `at`, or undefined when it cannot be known: no point after it yet
 * (open), or none before it (before the history).
 */
export function valueAt(spec: SeriesSpec, chain: Chain, at: number): BoundaryValue | undefined {
  const { points } = chain;
  const i = lowerBound(points, at);
  if (i < points.length && points[i]!.at === at) {
    let j = i;
    while (j + 1 < points.length && points[j + 1]!.at === at) j++;
    const p = points[j]!;
    return { advance: p.advance, value: p.value, quality: p.quality };
  }
  if (i === 0 || i === points.length) return undefined;
  const before = points[i - 1]!;
  const after = points[i]!;
  const gained = after.advance - before.advance;
  const advance = before.advance + divRound(gained * BigInt(at - before.at), BigInt(after.at - before.at));
  let value = before.value + (advance - before.advance);
  // The line crossed a wrap: past the range the register shows the value from zero again.
  if (spec.range !== null && gained !== after.value - before.value) {
    const range = rangeFrom(spec.range, before.value);
    if (value >= range) value -= range;
  }
  const quality: Quality = after.readingAt - before.readingAt > spec.maxGapMs ? 'ESTIMATED' : 'INTERPOLATED';
  return { advance, value, quality };
}

/** Instants in `[from, to)`. */
export function countBetween(instants: readonly number[], from: number, to: number): number {
  let n = 0;
  for (const t of instants) if (t >= from && t < to) n++;
  return n;
}
