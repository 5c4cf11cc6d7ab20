/**
 * Exact decimals as bigint nano-units (value × 10⁹), the scale of the records' `decimal(38,9)`
 * fields. Products are rounded half-even back to nano-units, as the Footprint contract states.
 */

const SCALE = 9;
const ONE = 10n ** BigInt(SCALE);
const PATTERN = /^(-?)(\d+)(?:\.(\d+))?$/;

/**
 * Parses `-?digits[.digits]` into nano-units.
 *
 * @throws {RangeError} for anything else, or more than 9 fraction digits.
 */
export function parseNano(text: string): bigint {
  const match = PATTERN.exec(text.trim());
  if (match === null) throw new RangeError(`decimal: expected -?digits[.digits], got "${text}"`);
  const fraction = match[3] ?? '';
  if (fraction.length > SCALE) throw new RangeError(`decimal: expected at most ${SCALE} fraction digits, got "${text}"`);
  const value = BigInt(match[2]! + fraction.padEnd(SCALE, '0'));
  return match[1] === '-' ? -value : value;
}

/** Formats nano-units with exactly 9 fraction digits, e.g. `12.500000000`. */
export function formatNano(value: bigint): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(SCALE + 1, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -SCALE)}.${digits.slice(-SCALE)}`;
}

/** `numerator / denominator` rounded half to even (denominator > 0). */
export function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n) throw new RangeError('divideHalfEven: the denominator must be positive');
  let quotient = numerator / denominator;
  const remainder = numerator % denominator;
  if (remainder === 0n) return quotient;
  const twice = 2n * (remainder < 0n ? -remainder : remainder);
  const away = numerator < 0n ? -1n : 1n;
  if (twice > denominator || (twice === denominator && quotient % 2n !== 0n)) quotient += away;
  return quotient;
}

/** a × b of two nano-unit values, in nano-units, rounded half to even. */
export function multiplyNano(a: bigint, b: bigint): bigint {
  return divideHalfEven(a * b, ONE);
}
