/**
 * Monotonicity of cumulative registers (the design page's rollover and suspected-reset rule),
 * against the register's last value kept in state. Pure.
 *
 * A register counts in steps of its resolution and wraps after 10^digits steps. The resolution is
 * not in the decoded value, so it is estimated as the smallest decimal step seen in the register's
 * values (12.345 m3 → 0.001; 12345000 Wh → 1000), which converges after a few readings and is kept
 * in state. Until it has, the range may come out too large, so a real wrap can be reported as a
 * suspected reset: quarantined and alerted, never silently counted.
 */
import type { RegisterMark } from './state.js';

/** Digits of a register whose count the registry does not know. */
export const DEFAULT_REGISTER_DIGITS = 8;

/** What the check found for one value. */
export interface RegisterCheck {
  /** Set when the value went back: past half the range (`ROLLOVER`) or not (`SUSPECTED_RESET`). */
  readonly flag?: 'ROLLOVER' | 'SUSPECTED_RESET';
  /** The register's last value before this one, when this one was compared with it. */
  readonly previous?: RegisterMark;
  /** The mark to keep: this value, or the previous one when this value is older than it. */
  readonly mark: RegisterMark;
  /** 10^(digits + step): the value at which the register wraps. */
  readonly range: number;
}

/**
 * Compares a cumulative value with the register's last one. Only a value at or after the last
 * one's time is compared (a late value, e.g. a re-driven uplink, cannot be judged against a newer
 * one) and becomes the new mark; after a reset or a wrap the chain continues from the new value.
 *
 * @param exact the value as an exact decimal, when the decoder had one.
 * @param digits the register's digit count (registry, else {@link DEFAULT_REGISTER_DIGITS}).
 */
export function checkRegister(
  previous: RegisterMark | undefined,
  value: number,
  exact: string | undefined,
  observedAt: number,
  digits: number,
): RegisterCheck {
  const seenStep = stepOf(exact ?? String(value));
  const step = Math.min(previous?.step ?? Number.POSITIVE_INFINITY, seenStep ?? Number.POSITIVE_INFINITY);
  const knownStep = Number.isFinite(step) ? step : 0;
  const range = rangeOf(digits, knownStep, Math.max(value, previous?.value ?? 0));
  if (previous === undefined) return { mark: { value, at: observedAt, step: knownStep }, range };
  if (observedAt < previous.at) return { mark: { ...previous, step: knownStep }, range };
  const mark: RegisterMark = { value, at: observedAt, step: knownStep };
  if (value >= previous.value) return { mark, range, previous };
  const flag = previous.value - value > range / 2 ? 'ROLLOVER' : 'SUSPECTED_RESET';
  return { flag, mark, range, previous };
}

/** Whether a value exceeds what `digits` digits in steps of 10^step can show. */
export function exceedsDigits(value: number, digits: number, step: number): boolean {
  return value >= 10 ** (digits + step);
}

/**
 * The wrap value: 10^(digits + step), raised to the next power of ten above `largest` when a value
 * already exceeded it (the digit count or the resolution estimate was too small).
 */
function rangeOf(digits: number, step: number, largest: number): number {
  const range = 10 ** (digits + step);
  return largest < range ? range : 10 ** (Math.floor(Math.log10(largest)) + 1);
}

/**
 * The power of ten of the least significant nonzero digit of a decimal (`"12.340"` → -2,
 * `"12000"` → 3, `"1.5e-7"` → -8); undefined for zero, which tells nothing.
 */
export function stepOf(decimal: string): number | undefined {
  const match = /^-?(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(decimal);
  if (match === null) return undefined;
  const whole = match[1] ?? '';
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  const exponent = Number(match[3] ?? '0');
  if (fraction !== '') return exponent - fraction.length;
  const trimmed = whole.replace(/0+$/, '');
  if (trimmed.replace(/^0+/, '') === '') return undefined;
  return exponent + whole.length - trimmed.length;
}
