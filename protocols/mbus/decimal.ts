/**
 * Exact decimal scaling. M-Bus values are integers times a power of ten (and, for durations, an
 * integer factor); doing that in binary floating point turns 54321 × 10⁻³ into 54.321000000000005.
 * Shifting the decimal point in the digit string keeps it exact.
 */

/**
 * `mantissa × factor × 10^exponent` as a canonical decimal string: no exponent notation, no
 * trailing fractional zeros, `0` rather than `-0`.
 */
export function scaledDecimal(mantissa: number | bigint, factor: number, exponent: number): string {
  let product: number | bigint = mantissa;
  if (factor !== 1) {
    product = typeof mantissa === 'bigint' ? mantissa * BigInt(factor) : mantissa * factor;
    if (typeof product === 'number' && !Number.isSafeInteger(product)) product = BigInt(mantissa) * BigInt(factor);
  }
  const negative = product < 0;
  const digits = (negative ? -product : product).toString();
  if (digits === '0') return '0';
  const sign = negative ? '-' : '';
  if (exponent >= 0) return sign + digits + '0'.repeat(exponent);
  const padded = digits.padStart(1 - exponent, '0');
  const point = padded.length + exponent;
  const fraction = padded.slice(point).replace(/0+$/, '');
  return sign + padded.slice(0, point) + (fraction === '' ? '' : `.${fraction}`);
}

/** `value × factor × 10^exponent` for a floating-point value; divides for negative exponents, which rounds once. */
export function scaledFloat(value: number, factor: number, exponent: number): number {
  return exponent >= 0 ? value * factor * 10 ** exponent : (value * factor) / 10 ** -exponent;
}
