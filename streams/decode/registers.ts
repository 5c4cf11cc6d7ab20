/**
 * Monotonicity of cumulative registers (the design page's rollover and suspected-reset rule),
 * against the register's last value kept in state. Pure.
 *
 * The wrap range is the rule of core/register-range.ts, which consumption follows too: the count
 * (the canonical value, before the multiplier) wraps at 10^digits × resolution, with the registry's
 * resolution when it states one, else the estimate kept in state (the smallest decimal step seen).
 */
import { finerStep } from '../../core/register-range.js';
import type { RegisterMark } from './state.js';

/** What the registry says of a register's counter. */
export interface RegisterCounter {
  /** `registers.digits`, else `DEFAULT_REGISTER_DIGITS`. */
  readonly digits: number;
  /** `registers.resolution` as a decimal text; undefined when unknown (the estimate stands in). */
  readonly resolution: string | undefined;
}

/** What the check found for one value. */
export interface RegisterCheck {
  /** Set when the value went back: past half the range (`ROLLOVER`) or not (`SUSPECTED_RESET`). */
  readonly flag?: 'ROLLOVER' | 'SUSPECTED_RESET';
  /** The register's last value before this one, when this one was compared with it. */
  readonly previous?: RegisterMark;
  /** The mark to keep: this value, or the previous one when this value is older than it. */
  readonly mark: RegisterMark;
  /** The value at which the register wraps: 10^digits × resolution, with a digit more per digit a value already needed. */
  readonly range: number;
  /** The value is at or above 10^digits × resolution: more than the register's digits can show. */
  readonly exceedsDigits: boolean;
}

/**
 * Compares a cumulative value with the register's last one. Only a value at or after the last
 * one's time is compared (a late value, e.g. a re-driven uplink, cannot be judged against a newer
 * one) and becomes the new mark; after a reset or a wrap the chain continues from the new value.
 *
 * @param value the count, in the canonical unit before the registry's multiplier.
 * @param exact the value as an exact decimal, when the decoder had one.
 */
export function checkRegister(
  previous: RegisterMark | undefined,
  value: number,
  exact: string | undefined,
  observedAt: number,
  counter: RegisterCounter,
): RegisterCheck {
  const step = finerStep(previous?.step, exact ?? String(value));
  const nominal = nominalRange(counter, step);
  const range = withDigitsFor(nominal, Math.max(value, previous?.value ?? 0));
  const exceedsDigits = value >= nominal;
  if (previous === undefined) return { mark: markOf(value, observedAt, step), range, exceedsDigits };
  if (observedAt < previous.at) return { mark: markOf(previous.value, previous.at, step), range, exceedsDigits };
  const mark = markOf(value, observedAt, step);
  if (value >= previous.value) return { mark, range, exceedsDigits, previous };
  const flag = previous.value - value > range / 2 ? 'ROLLOVER' : 'SUSPECTED_RESET';
  return { flag, mark, range, exceedsDigits, previous };
}

function markOf(value: number, at: number, step: number | undefined): RegisterMark {
  return step === undefined ? { value, at } : { value, at, step };
}

/** 10^digits × resolution: the registry's resolution, else 10^step (the estimate), else 1. */
function nominalRange({ digits, resolution }: RegisterCounter, step: number | undefined): number {
  return resolution === undefined ? 10 ** (digits + (step ?? 0)) : Number(`${resolution}e${digits}`);
}

/** The range with one more digit for each one `largest` needs beyond it (none for a range that underflowed to 0). */
function withDigitsFor(range: number, largest: number): number {
  let wider = range;
  while (wider <= largest && wider > 0) wider *= 10;
  return wider;
}
