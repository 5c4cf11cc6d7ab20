/**
 * Reading EN 13757-3 data fields: the DIF's data field coding, binary integers (type B/C), IEEE 754
 * reals (type H), BCD (type A, with the 0xF sign nibble) and the LVAR of variable-length fields.
 * Readers take `msbFirst` for the MSB-first structures (CI 0x76/0x77); everything else is LSB first.
 */
import { scaledDecimal, scaledFloat } from './decimal.js';
import type { MbusDateTime } from './dates.js';

/** A record's value. */
export type RecordValue =
  /**
   * A number after VIF scaling. `decimal` is the exact value as a decimal string for integer and
   * BCD data (so `0.001` scaling stays exact); `null` for 32-bit reals, whose `number` is the
   * nearest double.
   */
  | { readonly kind: 'number'; readonly number: number; readonly decimal: string | null }
  | { readonly kind: 'date'; readonly date: MbusDateTime }
  | { readonly kind: 'text'; readonly text: string }
  /** Data kept raw, in transmission order: binary LVAR numbers, or a date VIF with data of no date length. */
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  /**
   * BCD with a hex digit A–F where a decimal digit belongs (an F is allowed only as the sign of
   * the most significant digit). Meters send these on purpose to signal errors, so there is no
   * number; `digits` are the nibbles as sent, most significant first, e.g. `DDEBBD`.
   */
  | { readonly kind: 'invalid-bcd'; readonly digits: string }
  /** No data: data field coding 0 or 8 (selection for readout). */
  | { readonly kind: 'none' };

/** The value of a record without data. */
export const NO_VALUE: RecordValue = Object.freeze({ kind: 'none' });

/** Data field coding (DIF low nibble) of a 32-bit real. */
export const CODING_REAL = 0x05;

// Data field length per coding; -1 where it is not fixed (variable length, special functions).
const LENGTHS = [0, 1, 2, 3, 4, 4, 6, 8, 0, 1, 2, 3, 4, -1, 6, -1] as const;

/** Length of a fixed-length data field coding, or -1 for variable length. */
export function dataFieldLength(coding: number): number {
  return LENGTHS[coding & 0x0f]!;
}

/** Whether the coding is BCD (2, 4, 6, 8 or 12 digits). */
export function isBcdCoding(coding: number): boolean {
  return (coding >= 0x09 && coding <= 0x0c) || coding === 0x0e;
}

/** Whether the coding is a binary integer (8 to 64 bits). */
export function isIntegerCoding(coding: number): boolean {
  return (coding >= 0x01 && coding <= 0x04) || coding === 0x06 || coding === 0x07;
}

const scratch = new DataView(new ArrayBuffer(8));

/**
 * A binary integer of 1–8 bytes, two's complement when `signed`. A `bigint` only when a 64-bit
 * value does not fit a safe integer.
 */
export function readInteger(
  bytes: Uint8Array,
  offset: number,
  length: number,
  msbFirst: boolean,
  signed: boolean,
): number | bigint {
  if (length === 8) {
    for (let i = 0; i < 8; i++) scratch.setUint8(i, byteAt(bytes, offset, 8, msbFirst, i));
    const wide = signed ? scratch.getBigInt64(0, true) : scratch.getBigUint64(0, true);
    return wide >= Number.MIN_SAFE_INTEGER && wide <= Number.MAX_SAFE_INTEGER ? Number(wide) : wide;
  }
  let value = 0;
  for (let i = length - 1; i >= 0; i--) value = value * 256 + byteAt(bytes, offset, length, msbFirst, i);
  const range = 2 ** (8 * length);
  return signed && value >= range / 2 ? value - range : value;
}

/** A 32-bit IEEE 754 real. */
export function readReal(bytes: Uint8Array, offset: number, msbFirst: boolean): number {
  for (let i = 0; i < 4; i++) scratch.setUint8(i, byteAt(bytes, offset, 4, msbFirst, i));
  return scratch.getFloat32(0, true);
}

/**
 * BCD of `length` bytes. An 0xF most significant digit makes it negative.
 *
 * @returns the number, or the digits as a hex string when one is not a decimal digit.
 */
export function readBcd(bytes: Uint8Array, offset: number, length: number, msbFirst: boolean): number | string {
  let value = 0;
  let negative = false;
  let invalid = false;
  for (let i = length - 1; i >= 0; i--) {
    const byte = byteAt(bytes, offset, length, msbFirst, i);
    const high = byte >> 4;
    const low = byte & 0x0f;
    if (i === length - 1 && high === 0x0f) negative = true;
    else if (high > 9) invalid = true;
    if (low > 9) invalid = true;
    value = value * 100 + (negative && i === length - 1 ? 0 : high * 10) + low;
  }
  if (invalid) return hexDigits(bytes, offset, length, msbFirst);
  return negative && value !== 0 ? -value : value;
}

/** ASCII text of `length` bytes; sent last character first unless `msbFirst`. */
export function readText(bytes: Uint8Array, offset: number, length: number, msbFirst: boolean): string {
  let text = '';
  for (let i = length - 1; i >= 0; i--) text += String.fromCharCode(byteAt(bytes, offset, length, msbFirst, i));
  return text;
}

/** The bytes as hex digits, most significant first. */
export function hexDigits(bytes: Uint8Array, offset: number, length: number, msbFirst: boolean): string {
  let digits = '';
  for (let i = length - 1; i >= 0; i--) {
    digits += byteAt(bytes, offset, length, msbFirst, i).toString(16).toUpperCase().padStart(2, '0');
  }
  return digits;
}

/** A number value: `mantissa × factor × 10^exponent`, exact when the mantissa is an integer. */
export function numberValue(mantissa: number | bigint, factor: number, exponent: number, exact: boolean): RecordValue {
  if (!exact) return { kind: 'number', number: scaledFloat(Number(mantissa), factor, exponent), decimal: null };
  const decimal = scaledDecimal(mantissa, factor, exponent);
  return { kind: 'number', number: Number(decimal), decimal };
}

/** What follows an LVAR byte (EN 13757-3 Table 6). */
export type LvarKind = 'text' | 'positive-bcd' | 'negative-bcd' | 'binary';

/** The kind of data an LVAR announces, or `null` when the LVAR is reserved. */
export function lvarKind(lvar: number): LvarKind | null {
  if (lvar <= 0xbf) return 'text';
  if (lvar <= 0xc9) return 'positive-bcd';
  if (lvar >= 0xd0 && lvar <= 0xd9) return 'negative-bcd';
  if (lvar >= 0xe0 && lvar <= 0xf6) return 'binary';
  return null;
}

/** The number of data bytes after an LVAR that {@link lvarKind} accepts. */
export function lvarLength(lvar: number): number {
  if (lvar <= 0xbf) return lvar;
  if (lvar <= 0xd9) return lvar & 0x0f;
  if (lvar <= 0xef) return lvar - 0xe0;
  if (lvar <= 0xf4) return 4 * (lvar - 0xec);
  return lvar === 0xf5 ? 48 : 64;
}

/** Byte `i` of a field, counting from the least significant. */
function byteAt(bytes: Uint8Array, offset: number, length: number, msbFirst: boolean, i: number): number {
  return bytes[msbFirst ? offset + length - 1 - i : offset + i]!;
}
