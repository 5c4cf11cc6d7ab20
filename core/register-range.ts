/**
 * The wrap range of a cumulative register, one rule for decode (streams/decode/registers.ts) and
 * consumption (streams/consumption/range.ts). Pure.
 *
 * A register counts in steps of its **resolution** and wraps after 10^digits steps: its own count
 * (the canonical value before the registry's multiplier) wraps at `10^digits × resolution`, its
 * values (`Reading.value`, the count times the multiplier) at `10^digits × resolution × multiplier`.
 * `registers.digits` counts fraction digits too (NULL: {@link DEFAULT_REGISTER_DIGITS});
 * `registers.resolution` states the step (NULL: unknown). An unknown resolution is estimated here,
 * as the smallest decimal step among the register's counts (12.345 m3 → 0.001; 12345000 Wh → 1000),
 * and 1 until a nonzero count was seen. The estimate only gets finer and settles after a few
 * readings; until it has, the range may come out too large, so a real wrap can be taken for a
 * suspected reset: quarantined and alerted, never silently counted.
 *
 * A count at or above the range shows that the register has more digits than assumed: both stages
 * judge a drop from such a count with the range given one more digit (× 10) until it exceeds it.
 */

/** Digits of a register whose count the registry does not know: the BCD width of most meter indices. */
export const DEFAULT_REGISTER_DIGITS = 8;

const DECIMAL = /^-?(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i;

/**
 * The power of ten of the least significant nonzero digit of a decimal (`"12.340"` → -2,
 * `"12000"` → 3, `"1.5e-7"` → -8); undefined for zero, which tells nothing, and for a text that
 * is no decimal.
 */
export function decimalStep(decimal: string): number | undefined {
  const match = DECIMAL.exec(decimal);
  if (match === null) return undefined;
  const whole = match[1] ?? '';
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  const exponent = Number(match[3] ?? '0');
  if (fraction !== '') return exponent - fraction.length;
  const trimmed = whole.replace(/0+$/, '');
  if (trimmed.replace(/^0+/, '') === '') return undefined;
  return exponent + whole.length - trimmed.length;
}

/**
 * The resolution estimate after one more count: the finer of `step` (the register counts in steps
 * of 10^step; undefined while no nonzero count was seen) and the step of `count`, a decimal.
 */
export function finerStep(step: number | undefined, count: string): number | undefined {
  const seen = decimalStep(count);
  if (seen === undefined) return step;
  return step === undefined || seen < step ? seen : step;
}
