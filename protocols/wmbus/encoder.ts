/**
 * Builds telegrams the way an OMS meter sends them: format A, a short or long transport header,
 * plain or mode 5 encrypted. Tests use it, and the fleet simulator emits its traffic with it.
 */
import { identNumber, manufacturerNumber, meterAddress, type MeterAddress } from './address.js';
import { crc16 } from './crc.js';
import { formatABlockCount } from './link-layer.js';
import { encryptMode5, type MeterKey } from './oms-security.js';

/** A meter's address as it is configured. */
export interface AddressFields {
  /** Three-letter FLAG code, e.g. `KAM`. */
  readonly manufacturer: string;
  /** Identification number: 8 decimal digits, e.g. `12345678`. */
  readonly ident: string;
  readonly version: number;
  /** Device type (medium), e.g. 0x07 water. */
  readonly deviceType: number;
}

/** What {@link encodeTelegram} builds. */
export interface TelegramSpec {
  /**
   * C field.
   * @default 0x44 (SND-NR)
   */
  readonly control?: number;
  /** Link-layer address: the sender. */
  readonly address: AddressFields;
  /**
   * The meter's own address. When given, a long header (CI 0x72) carries it, as a repeater or
   * radio converter sends; otherwise a short header (CI 0x7a) follows and `address` is the meter's.
   */
  readonly meter?: AddressFields;
  /** Access number, 0–255; a meter increments it with every telegram. */
  readonly accessNumber: number;
  /**
   * Status byte of the header.
   * @default 0
   */
  readonly status?: number;
  /** The data records (EN 13757-3). */
  readonly records: Uint8Array;
  /** When given, the records are encrypted with security mode 5 under this key; otherwise sent plain (mode 0). */
  readonly key?: MeterKey;
  /**
   * Whether to insert the link-layer CRCs; `false` gives what a CRC-stripping gateway delivers.
   * @default true
   */
  readonly crc?: boolean;
}

const DEFAULT_CONTROL = 0x44;
const CI_LONG = 0x72;
const CI_SHORT = 0x7a;
const LONG_HEADER_LENGTH = 12;
const SHORT_HEADER_LENGTH = 4;
/** L counts C, M, A and CI before the header. */
const LINK_FIELDS_LENGTH = 10;
const MAX_L = 255;
const MODE_5 = 5;

/**
 * Builds one format A telegram.
 *
 * @throws {RangeError} when a field is out of range (naming it) or the telegram would exceed L = 255.
 * @throws {WmbusSecurityError} `BAD_KEY` when `key` is not 16 bytes.
 */
export function encodeTelegram(spec: TelegramSpec): Uint8Array {
  const link = addressOf(spec.address, 'address');
  const meter = spec.meter === undefined ? link : addressOf(spec.meter, 'meter');
  const accessNumber = byte(spec.accessNumber, 'accessNumber');
  const sealed = spec.key === undefined ? undefined : encryptMode5(spec.records, spec.key, meter, accessNumber);
  const payload = sealed?.encrypted ?? spec.records;
  const headerLength = spec.meter === undefined ? SHORT_HEADER_LENGTH : LONG_HEADER_LENGTH;
  const l = LINK_FIELDS_LENGTH + headerLength + payload.length;
  if (l > MAX_L) {
    throw new RangeError(`records: telegram would need L = ${l}, at most ${MAX_L}`);
  }

  const telegram = new Uint8Array(l + 1);
  telegram[0] = l;
  telegram[1] = byte(spec.control ?? DEFAULT_CONTROL, 'control');
  writeLe(telegram, 2, link.manufacturer, 2);
  writeLe(telegram, 4, identNumber(link.ident), 4);
  telegram[8] = link.version;
  telegram[9] = link.deviceType;
  let at = LINK_FIELDS_LENGTH;
  if (spec.meter === undefined) {
    telegram[at++] = CI_SHORT;
  } else {
    telegram[at++] = CI_LONG;
    writeLe(telegram, at, identNumber(meter.ident), 4);
    writeLe(telegram, at + 4, meter.manufacturer, 2);
    telegram[at + 6] = meter.version;
    telegram[at + 7] = meter.deviceType;
    at += 8;
  }
  const configuration = sealed === undefined ? 0 : (MODE_5 << 8) | (sealed.encryptedBlocks << 4);
  telegram[at++] = accessNumber;
  telegram[at++] = byte(spec.status ?? 0, 'status');
  writeLe(telegram, at, configuration, 2);
  telegram.set(payload, at + 2);
  return spec.crc === false ? telegram : withFormatACrcs(telegram);
}

/** Inserts a CRC after block 1 (10 bytes) and after every 16 bytes from there, and at the end. */
function withFormatACrcs(stripped: Uint8Array): Uint8Array {
  const out = new Uint8Array(stripped.length + 2 * formatABlockCount(stripped[0]!));
  let from = 0;
  let to = 0;
  for (let size = 10; from < stripped.length; size = Math.min(16, stripped.length - from)) {
    out.set(stripped.subarray(from, from + size), to);
    const crc = crc16(stripped, from, from + size);
    out[to + size] = crc >> 8;
    out[to + size + 1] = crc & 0xff;
    from += size;
    to += size + 2;
  }
  return out;
}

function writeLe(bytes: Uint8Array, at: number, value: number, length: number): void {
  for (let i = 0; i < length; i++) bytes[at + i] = (value >>> (8 * i)) & 0xff;
}

function addressOf(fields: AddressFields, path: string): MeterAddress {
  if (!/^\d{8}$/.test(fields.ident)) {
    throw new RangeError(`${path}.ident: expected 8 decimal digits, got '${fields.ident}'`);
  }
  return meterAddress(
    manufacturerNumber(fields.manufacturer, `${path}.manufacturer`),
    identNumber(fields.ident),
    byte(fields.version, `${path}.version`),
    byte(fields.deviceType, `${path}.deviceType`),
  );
}

function byte(value: number, path: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new RangeError(`${path}: expected an integer 0-255, got ${value}`);
  }
  return value;
}
