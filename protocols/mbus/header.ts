/**
 * EN 13757-3 data headers of the variable data structure: the long header (CI 0x72/0x76) that
 * identifies the meter, the short header (CI 0x7A), and the status byte both carry.
 */
import { hexDigits } from './data-field.js';
import { deviceTypeName } from './device-types.js';
import { MbusDecodeError } from './errors.js';

/** The status byte (EN 13757-3 Table 8). */
export interface MbusStatus {
  /** The byte as sent. */
  readonly raw: number;
  /** Bits 0–1: `abnormal` is the code EN 13757-3:2004 reserved and later editions call an alarm. */
  readonly application: 'ok' | 'busy' | 'error' | 'abnormal';
  /** Bit 2. */
  readonly powerLow: boolean;
  /** Bit 3. */
  readonly permanentError: boolean;
  /** Bit 4. */
  readonly temporaryError: boolean;
  /** Bits 5–7 (shifted down to 0–7): their meaning is the manufacturer's. */
  readonly manufacturerBits: number;
}

/** Long header: the meter's identity, then the same fields as the short header. */
export interface LongHeader {
  readonly kind: 'long';
  /** Identification number: the 8 BCD digits as written on the meter (hex digits kept if sent). */
  readonly id: string;
  /** Manufacturer as the 3-letter FLAG code, e.g. `KAM`. */
  readonly manufacturer: string;
  /** Manufacturer as the 16-bit value it is sent as. */
  readonly manufacturerCode: number;
  /** Version (generation) number. */
  readonly version: number;
  /** Medium / device type code (EN 13757-3 Table 12). */
  readonly medium: number;
  /** Name of {@link medium}. */
  readonly mediumName: string;
  readonly accessNumber: number;
  readonly status: MbusStatus;
  /**
   * The 16-bit signature field. Wired meters send 0 (or vendor values); in wireless M-Bus and OMS
   * it is the configuration field, whose encryption mode must be dealt with before decoding.
   */
  readonly signature: number;
}

/** Short header: counters and status only; the identity comes from the link layer. */
export interface ShortHeader {
  readonly kind: 'short';
  readonly accessNumber: number;
  readonly status: MbusStatus;
  /** See {@link LongHeader.signature}. */
  readonly signature: number;
}

/** Bytes of the long header: id 4, manufacturer 2, version, medium, access number, status, signature 2. */
export const LONG_HEADER_LENGTH = 12;
/** Bytes of the short header: access number, status, signature 2. */
export const SHORT_HEADER_LENGTH = 4;

const APPLICATION_STATES: readonly MbusStatus['application'][] = ['ok', 'busy', 'error', 'abnormal'];

/** Decodes a status byte. */
export function decodeStatus(raw: number): MbusStatus {
  return {
    raw,
    application: APPLICATION_STATES[raw & 0x03]!,
    powerLow: (raw & 0x04) !== 0,
    permanentError: (raw & 0x08) !== 0,
    temporaryError: (raw & 0x10) !== 0,
    manufacturerBits: raw >> 5,
  };
}

/** The FLAG association's 3-letter code: three 5-bit letters, A = 1. */
export function manufacturerLetters(code: number): string {
  return String.fromCharCode(((code >> 10) & 0x1f) + 64, ((code >> 5) & 0x1f) + 64, (code & 0x1f) + 64);
}

/**
 * Reads a long header at `offset` of `data`; `base` is added to offsets in errors.
 *
 * @throws {MbusDecodeError} `TOO_SHORT_HEADER`.
 */
export function readLongHeader(data: Uint8Array, offset: number, msbFirst: boolean, base: number): LongHeader {
  requireHeader(data, offset, LONG_HEADER_LENGTH, 'long', base);
  const manufacturerCode = word(data, offset + 4, msbFirst);
  const medium = data[offset + 7]!;
  return {
    kind: 'long',
    id: hexDigits(data, offset, 4, msbFirst),
    manufacturer: manufacturerLetters(manufacturerCode),
    manufacturerCode,
    version: data[offset + 6]!,
    medium,
    mediumName: deviceTypeName(medium),
    ...readShortFields(data, offset + 8, msbFirst),
  };
}

/**
 * Reads a short header at `offset` of `data`; `base` is added to offsets in errors.
 *
 * @throws {MbusDecodeError} `TOO_SHORT_HEADER`.
 */
export function readShortHeader(data: Uint8Array, offset: number, msbFirst: boolean, base: number): ShortHeader {
  requireHeader(data, offset, SHORT_HEADER_LENGTH, 'short', base);
  return { kind: 'short', ...readShortFields(data, offset, msbFirst) };
}

/**
 * The secondary address used to select a meter on the bus and as its device key: identification
 * number (8 digits), manufacturer (4 hex digits), version and medium (2 hex digits each), written
 * as M-Bus tools print it, e.g. `1149037804770E16`.
 */
export function secondaryAddress(header: LongHeader): string {
  return (
    header.id +
    header.manufacturerCode.toString(16).toUpperCase().padStart(4, '0') +
    header.version.toString(16).toUpperCase().padStart(2, '0') +
    header.medium.toString(16).toUpperCase().padStart(2, '0')
  );
}

function readShortFields(data: Uint8Array, offset: number, msbFirst: boolean) {
  return {
    accessNumber: data[offset]!,
    status: decodeStatus(data[offset + 1]!),
    signature: word(data, offset + 2, msbFirst),
  };
}

function requireHeader(data: Uint8Array, offset: number, length: number, kind: string, base: number): void {
  const left = data.length - offset;
  if (left < length) {
    throw new MbusDecodeError('TOO_SHORT_HEADER', base + offset, `${kind} header needs ${length} bytes, ${left} left`);
  }
}

function word(data: Uint8Array, offset: number, msbFirst: boolean): number {
  const first = data[offset]!;
  const second = data[offset + 1]!;
  return msbFirst ? (first << 8) | second : (second << 8) | first;
}
