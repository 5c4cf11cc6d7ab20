/**
 * Exact decimal arithmetic for consumption: register values are held as bigint counts of
 * nano-units (value × 10^9), the scale of the Consumption record's decimal(38,9) fields, so deltas,
 * wraps and interpolations never touch floating point. Pure.
 */

/** 10^9: one unit in nano-units. */
export const NANO = 1_000_000_000n;

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i;

/**
 * Parses a decimal text (`"12.5"`, `"-3"`, `"1.5e-7"`) into nano-units, rounding half to even at the
 * ninth fraction digit.
 *
 * @throws {RangeError} when the text is not a finite decimal number.
 */
export function parseNano(text: string): bigint {
  const match = DECIMAL.exec(text.trim());
  if (match === null || (match[2] === '' && (match[3] ?? '') === '')) {
    throw new RangeError(`expected a decimal number, got "${text}"`);
  }
  const negative = match[1] === '-';
  const digits = `${match[2] ?? ''}${match[3] ?? ''}`.replace(/^0+(?=\d)/, '') || '0';
  // digits × 10^(exponent − fraction length) × 10^9
  const shift = Number(match[4] ?? '0') - (match[3] ?? '').length + 9;
  let magnitude: bigint;
  if (shift >= 0) {
    magnitude = BigInt(digits) * 10n ** BigInt(shift);
  } else {
    const divisor = 10n ** BigInt(-shift);
    const whole = BigInt(digits);
    magnitude = whole / divisor;
    const twice = (whole % divisor) * 2n;
    if (twice > divisor || (twice === divisor && magnitude % 2n === 1n)) magnitude += 1n;
  }
  return negative ? -magnitude : magnitude;
}

/**
 * A double as nano-units, read through its shortest round-trip decimal (`0.1 + 0.2` is
 * `0.30000000000000004`, so 0.300000000): the value the decoder meant, not its binary expansion.
 *
 * @throws {RangeError} for NaN and infinities.
 */
export function nanoFromNumber(value: number): bigint {
  if (!Number.isFinite(value)) throw new RangeError(`expected a finite number, got ${value}`);
  return parseNano(String(value));
}

/** Nano-units as a decimal text with exactly nine fraction digits (`12500000000n` → `"12.500000000"`). */
export function formatNano(value: bigint): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(10, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -9)}.${digits.slice(-9)}`;
}

/** `numerator / denominator` rounded half away from zero; `denominator` must be positive. */
export function divRound(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  const remainder = numerator % denominator;
  const twice = (remainder < 0n ? -remainder : remainder) * 2n;
  if (twice < denominator) return quotient;
  return numerator < 0n ? quotient - 1n : quotient + 1n;
}
