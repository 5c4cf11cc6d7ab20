/**
 * Exact decimal strings for cumulative registers. A meter index such as 12345.678 m3 must reach the
 * consumption stage digit for digit; scaling it in binary floating point (× 0.001 for litres) would
 * not keep it. Every string here is canonical: plain digits with an optional fraction, no exponent,
 * no leading or trailing zeros beyond one integer digit, and `0` rather than `-0`.
 */

const DECIMAL = /^-?\d+(?:\.\d+)?$/;

/** Whether `text` is a plain decimal number (`-12.50`, `7`), the only form JSON senders may use. */
export function isDecimal(text: string): boolean {
  return DECIMAL.test(text);
}

/**
 * `decimal × 10^exponent`, exactly, in canonical form.
 *
 * @param decimal a string that passes {@link isDecimal}.
 */
export function shiftDecimal(decimal: string, exponent: number): string {
  const negative = decimal.startsWith('-');
  const unsigned = negative ? decimal.slice(1) : decimal;
  const point = unsigned.indexOf('.');
  const digits = point < 0 ? unsigned : unsigned.slice(0, point) + unsigned.slice(point + 1);
  const integerLength = (point < 0 ? unsigned.length : point) + exponent;
  let integer: string;
  let fraction: string;
  if (integerLength <= 0) {
    integer = '0';
    fraction = '0'.repeat(-integerLength) + digits;
  } else if (integerLength >= digits.length) {
    integer = digits + '0'.repeat(integerLength - digits.length);
    fraction = '';
  } else {
    integer = digits.slice(0, integerLength);
    fraction = digits.slice(integerLength);
  }
  integer = integer.replace(/^0+(?=\d)/, '');
  fraction = fraction.replace(/0+$/, '');
  const magnitude = fraction === '' ? integer : `${integer}.${fraction}`;
  return negative && magnitude !== '0' ? `-${magnitude}` : magnitude;
}

/**
 * The shortest decimal that reads back as `value` (what `String` gives), without exponent
 * notation: what a JSON sender wrote for any number of up to 15 significant digits.
 *
 * @param value a finite number.
 */
export function decimalOf(value: number): string {
  const text = String(value);
  const e = text.indexOf('e');
  if (e < 0) return text;
  return shiftDecimal(text.slice(0, e), Number(text.slice(e + 1)));
}
