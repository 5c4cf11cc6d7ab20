/**
 * The address of a meter as wireless (and wired) M-Bus carries it: manufacturer, identification
 * number, version and device type. On the wire the link layer sends M (2 bytes) then A (ident
 * 4 bytes, version, device type); the long transport header sends ident, M, version, device type.
 * Both are little-endian.
 */

/** A meter's address, read from the link layer or from a long transport header. */
export interface MeterAddress {
  /** M field as a number, e.g. `0x1593`. */
  readonly manufacturer: number;
  /** The three-letter FLAG code of `manufacturer`, e.g. `ELS`. */
  readonly manufacturerCode: string;
  /**
   * Identification number: 8 BCD digits, most significant first, e.g. `12345678`. A meter that
   * sends non-BCD nibbles shows them as upper-case hex letters rather than failing.
   */
  readonly ident: string;
  /** Version (generation) of the meter. */
  readonly version: number;
  /** Device type (medium), e.g. 0x07 water, 0x03 gas, 0x04 heat. */
  readonly deviceType: number;
  /**
   * The 16-character secondary-address form used for wired M-Bus as well: ident (8 digits),
   * manufacturer (4 hex digits of the M field), version (2), device type (2), upper case;
   * e.g. `1234567815933303`.
   */
  readonly id: string;
}

/** The FLAG code packed in an M field: three letters, 5 bits each, 'A' = 1. */
export function manufacturerCode(manufacturer: number): string {
  return String.fromCharCode(
    64 + ((manufacturer >> 10) & 0x1f),
    64 + ((manufacturer >> 5) & 0x1f),
    64 + (manufacturer & 0x1f),
  );
}

/**
 * The M field of a three-letter FLAG code.
 * @param path names the field in the error message.
 * @throws {RangeError} when `code` is not three letters A-Z.
 */
export function manufacturerNumber(code: string, path = 'manufacturer'): number {
  if (!/^[A-Z]{3}$/.test(code)) throw new RangeError(`${path}: expected three letters A-Z, got '${code}'`);
  return ((code.charCodeAt(0) - 64) << 10) | ((code.charCodeAt(1) - 64) << 5) | (code.charCodeAt(2) - 64);
}

/** Builds an address from its fields as read from the wire (`identLe` is the little-endian 32-bit value). */
export function meterAddress(manufacturer: number, identLe: number, version: number, deviceType: number): MeterAddress {
  const ident = upperHex(identLe, 8);
  return {
    manufacturer,
    manufacturerCode: manufacturerCode(manufacturer),
    ident,
    version,
    deviceType,
    id: ident + upperHex(manufacturer, 4) + upperHex(version, 2) + upperHex(deviceType, 2),
  };
}

/** The little-endian 32-bit value whose BCD digits are `ident` (8 hex digits). */
export function identNumber(ident: string): number {
  return Number.parseInt(ident, 16);
}

function upperHex(value: number, digits: number): string {
  return value.toString(16).toUpperCase().padStart(digits, '0');
}
