/**
 * Builds EN 13757-2 long frames carrying an EN 13757-3 variable data structure (CI 0x72, long
 * header). Used by the fleet simulator to send realistic meter traffic and by tests; the decoder in
 * this folder reads everything it writes.
 */

/** One data record to encode. */
export type RecordSpec =
  /** An unsigned counter as 8-digit BCD (DIF 0x0C) or 4-digit BCD (DIF 0x0A); `value` in the VIF's unit. */
  | { readonly kind: 'bcd'; readonly digits: 4 | 8; readonly vif: number; readonly value: bigint | number; readonly storageNumber?: 0 | 1 }
  /** A date and time, type F (DIF 0x04, VIF 0x6D). */
  | { readonly kind: 'dateTime'; readonly at: Date };

/** The long header of a variable data response. */
export interface FrameSpec {
  /** Identification number, up to 8 decimal digits. */
  readonly id: number;
  /** 3-letter FLAG manufacturer code, e.g. `KAM`. */
  readonly manufacturer: string;
  readonly version: number;
  /** Medium / device type code (0x03 gas, 0x04 heat, 0x07 water, 0x02 electricity …). */
  readonly medium: number;
  readonly accessNumber: number;
  /** @default 0 */
  readonly status?: number;
  /** Primary address in the A field. @default 0xFD (addressed by secondary address) */
  readonly primaryAddress?: number;
  readonly records: readonly RecordSpec[];
}

/** The 16-bit value of a FLAG code: each letter A–Z as 1–26 in 5 bits. */
export function manufacturerValue(code: string): number {
  if (!/^[A-Z]{3}$/.test(code)) throw new RangeError(`manufacturer: expected 3 letters A–Z, got "${code}"`);
  return ((code.charCodeAt(0) - 64) << 10) | ((code.charCodeAt(1) - 64) << 5) | (code.charCodeAt(2) - 64);
}

/** `value` as `digits` BCD digits, least significant byte first. */
export function bcd(value: bigint | number, digits: number): number[] {
  let rest = BigInt(value);
  if (rest < 0n || rest >= 10n ** BigInt(digits)) throw new RangeError(`BCD: ${value} does not fit ${digits} digits`);
  const bytes: number[] = [];
  for (let i = 0; i < digits / 2; i++) {
    const low = Number(rest % 10n);
    rest /= 10n;
    const high = Number(rest % 10n);
    rest /= 10n;
    bytes.push((high << 4) | low);
  }
  return bytes;
}

/** Date and time type F (4 bytes): minute, hour, day + year low bits, month + year high bits. */
export function dateTimeF(at: Date): number[] {
  const year = at.getUTCFullYear() - 2000;
  if (year < 0 || year > 99) throw new RangeError(`type F dates cover 2000–2099, got ${at.getUTCFullYear()}`);
  return [
    at.getUTCMinutes() & 0x3f,
    at.getUTCHours() & 0x1f,
    (at.getUTCDate() & 0x1f) | ((year & 0x07) << 5),
    ((at.getUTCMonth() + 1) & 0x0f) | ((year >> 3) << 4),
  ];
}

function recordBytes(record: RecordSpec): number[] {
  if (record.kind === 'dateTime') return [0x04, 0x6d, ...dateTimeF(record.at)];
  const dif = (record.digits === 8 ? 0x0c : 0x0a) | ((record.storageNumber ?? 0) << 6);
  return [dif, record.vif, ...bcd(record.value, record.digits)];
}

/** Data records alone (DIF, VIF, data …), as wireless M-Bus and LoRaWAN meters carry them after their header. */
export function encodeRecords(records: readonly RecordSpec[]): Uint8Array {
  return Uint8Array.from(records.flatMap(recordBytes));
}

/** The complete long frame `68 L L 68 C A CI … CS 16` (C = 0x08, RSP_UD). */
export function encodeLongFrame(spec: FrameSpec): Uint8Array {
  const manufacturer = manufacturerValue(spec.manufacturer);
  const body = [
    0x08,
    spec.primaryAddress ?? 0xfd,
    0x72,
    ...bcd(spec.id, 8),
    manufacturer & 0xff,
    manufacturer >> 8,
    spec.version & 0xff,
    spec.medium & 0xff,
    spec.accessNumber & 0xff,
    spec.status ?? 0,
    0x00,
    0x00,
    ...spec.records.flatMap(recordBytes),
  ];
  if (body.length > 255) throw new RangeError(`frame body of ${body.length} bytes exceeds the 255 an L field can count`);
  const checksum = body.reduce((sum, byte) => (sum + byte) & 0xff, 0);
  return Uint8Array.from([0x68, body.length, body.length, 0x68, ...body, checksum, 0x16]);
}
