/**
 * What sits between the link layer and the data records: the optional extended link layer
 * (EN 13757-4, CI 0x8c/0x8d) and the transport-layer header (EN 13757-7 / OMS, CI 0x72, 0x7a,
 * 0x78, 0x79). Offsets count bytes of the telegram with its CRCs removed (CI of the link layer at 10).
 *
 * ```
 * 8c CC ACC                            ELL I: no link-layer encryption
 * 8d CC ACC SN(4) PayloadCRC(2)        ELL II: SN bits 29–31 name the link-layer encryption
 * 72 ident(4) M(2) version type ACC ST CW(2)    long header: the meter's own address
 * 7a ACC ST CW(2)                               short header: the link-layer address is the meter's
 * 78 | 79                                       no header (0x79: compact frame)
 * ```
 * Multi-byte fields are little-endian except where noted.
 */
import { meterAddress, type MeterAddress } from './address.js';
import { crc16 } from './crc.js';
import { hex, WmbusFrameError } from './errors.js';

const CI_ELL_I = 0x8c;
const CI_ELL_II = 0x8d;
const CI_LONG = 0x72;
const CI_SHORT = 0x7a;
const CI_NONE = 0x78;
const CI_COMPACT = 0x79;

const ELL_I_LENGTH = 2;
const ELL_II_LENGTH = 8;
const LONG_HEADER_LENGTH = 12;
const SHORT_HEADER_LENGTH = 4;

/** The extended link layer, present when a gateway or the meter's radio adds link-layer control. */
export interface ExtendedLinkLayer {
  /** 0x8c or 0x8d. */
  readonly ci: number;
  /** CC field (bidirectional, response delay, synchronised, hop count, priority, accessibility, repeated access). */
  readonly communicationControl: number;
  /** ACC field: the link layer's access number. */
  readonly accessNumber: number;
  /** 0x8d only: SN field as a little-endian number (session in bits 0–3, minutes in 4–28, encryption in 29–31). */
  readonly sessionNumber?: number;
  /** 0x8d only: link-layer encryption from SN bits 29–31: 0 none, 1 AES-128-CTR. */
  readonly encryption?: number;
  /** 0x8d only: CRC of everything after it, little-endian; checked when `encryption` is 0. */
  readonly payloadCrc?: number;
}

/** The configuration word of a short or long header, as OMS defines it for security modes 0 and 5. */
export interface ConfigurationWord {
  /** The word as a number (sent little-endian). */
  readonly raw: number;
  /** Bits 8–12: 0 none, 5 AES-128-CBC with the meter's key, 7 AES-128-CBC with a derived key, … */
  readonly securityMode: number;
  /** Bits 4–7: number of 16-byte blocks encrypted, right after the header; 0 in mode 0. */
  readonly encryptedBlocks: number;
  /** Bit 15 (B): the meter supports bidirectional communication. */
  readonly bidirectional: boolean;
  /** Bit 14 (A): the meter opens an access window after this telegram (with B, see EN 13757-4). */
  readonly accessibility: boolean;
  /** Bit 13 (S): sent as a synchronous transmission. */
  readonly synchronous: boolean;
  /** Bits 2–3 (CC): content of the message; 0 standard data, 2 static data. */
  readonly content: number;
  /** Bit 1 (R): repeated access. */
  readonly repeaterAccess: boolean;
  /** Bit 0 (H): hop count; a repeater sets it. */
  readonly hopCount: number;
}

/** The transport-layer header that precedes the data records. */
export type TransportLayer =
  | {
      readonly kind: 'none';
      /** 0x78, or 0x79 for a compact frame (format signature, full-frame CRC, values without DIF/VIF). */
      readonly ci: number;
    }
  | {
      readonly kind: 'short';
      /** 0x7a. */
      readonly ci: number;
      /** Access number: the meter counts it up with every telegram; part of the mode 5 IV. */
      readonly accessNumber: number;
      /** Status byte (EN 13757-3: application error, power low, permanent or temporary error). */
      readonly status: number;
      readonly configuration: ConfigurationWord;
    }
  | {
      readonly kind: 'long';
      /** 0x72. */
      readonly ci: number;
      /** The meter's address, which differs from the link layer's when a repeater or radio converter sends. */
      readonly meter: MeterAddress;
      /** Access number: the meter counts it up with every telegram; part of the mode 5 IV. */
      readonly accessNumber: number;
      /** Status byte (EN 13757-3: application error, power low, permanent or temporary error). */
      readonly status: number;
      readonly configuration: ConfigurationWord;
    };

/** Decodes the configuration word of a short or long header. */
export function parseConfigurationWord(raw: number): ConfigurationWord {
  const securityMode = (raw >> 8) & 0x1f;
  return {
    raw,
    securityMode,
    encryptedBlocks: securityMode === 0 ? 0 : (raw >> 4) & 0x0f,
    bidirectional: (raw & 0x8000) !== 0,
    accessibility: (raw & 0x4000) !== 0,
    synchronous: (raw & 0x2000) !== 0,
    content: (raw >> 2) & 0x03,
    repeaterAccess: (raw & 0x02) !== 0,
    hopCount: raw & 0x01,
  };
}

/**
 * Reads the extended link layer when the CI at `offset` is 0x8c or 0x8d, and checks the payload
 * CRC of an unencrypted 0x8d.
 *
 * @returns the ELL and the offset of the CI that follows it, or `undefined` when there is no ELL.
 * @throws {WmbusFrameError} `TRUNCATED`, or `BAD_PAYLOAD_CRC`.
 */
export function parseExtendedLinkLayer(
  telegram: Uint8Array,
  offset: number,
): { readonly ell: ExtendedLinkLayer; readonly next: number } | undefined {
  const ci = telegram[offset];
  if (ci !== CI_ELL_I && ci !== CI_ELL_II) return undefined;
  const start = offset + 1;
  if (ci === CI_ELL_I) {
    need(telegram, start, ELL_I_LENGTH, 'extended link layer');
    const ell = { ci, communicationControl: telegram[start]!, accessNumber: telegram[start + 1]! };
    return { ell, next: start + ELL_I_LENGTH };
  }
  need(telegram, start, ELL_II_LENGTH, 'extended link layer');
  const sessionNumber = readUint32(telegram, start + 2);
  const encryption = sessionNumber >>> 29;
  const payloadCrc = telegram[start + 6]! | (telegram[start + 7]! << 8);
  const next = start + ELL_II_LENGTH;
  if (next === telegram.length) throw missingCi(next);
  if (encryption === 0) {
    const expected = crc16(telegram, next);
    if (expected !== payloadCrc) {
      throw new WmbusFrameError(
        'BAD_PAYLOAD_CRC',
        start + 6,
        `ELL payload CRC: expected ${hex(expected, 4)}, got ${hex(payloadCrc, 4)}`,
      );
    }
  }
  const ell = {
    ci,
    communicationControl: telegram[start]!,
    accessNumber: telegram[start + 1]!,
    sessionNumber,
    encryption,
    payloadCrc,
  };
  return { ell, next };
}

/**
 * Reads the transport-layer header whose CI is at `offset`.
 *
 * @returns the header and the offset of the first byte after it (encrypted or plain data records).
 * @throws {WmbusFrameError} `UNSUPPORTED_CI` for any CI but 0x72, 0x7a, 0x78 and 0x79 (manufacturer
 *   specific frames, AFL, network layer…), or `TRUNCATED`.
 */
export function parseTransportLayer(
  telegram: Uint8Array,
  offset: number,
): { readonly transport: TransportLayer; readonly payloadOffset: number } {
  const ci = telegram[offset];
  const start = offset + 1;
  switch (ci) {
    case CI_NONE:
    case CI_COMPACT:
      return { transport: { kind: 'none', ci }, payloadOffset: start };
    case CI_SHORT:
      need(telegram, start, SHORT_HEADER_LENGTH, 'short header');
      return {
        transport: {
          kind: 'short',
          ci,
          accessNumber: telegram[start]!,
          status: telegram[start + 1]!,
          configuration: parseConfigurationWord(telegram[start + 2]! | (telegram[start + 3]! << 8)),
        },
        payloadOffset: start + SHORT_HEADER_LENGTH,
      };
    case CI_LONG:
      need(telegram, start, LONG_HEADER_LENGTH, 'long header');
      return {
        transport: {
          kind: 'long',
          ci,
          meter: meterAddress(
            telegram[start + 4]! | (telegram[start + 5]! << 8),
            readUint32(telegram, start),
            telegram[start + 6]!,
            telegram[start + 7]!,
          ),
          accessNumber: telegram[start + 8]!,
          status: telegram[start + 9]!,
          configuration: parseConfigurationWord(telegram[start + 10]! | (telegram[start + 11]! << 8)),
        },
        payloadOffset: start + LONG_HEADER_LENGTH,
      };
    default:
      if (ci === undefined) throw missingCi(offset);
      throw new WmbusFrameError(
        'UNSUPPORTED_CI',
        offset,
        `CI field: expected 0x72, 0x78, 0x79 or 0x7a, got ${hex(ci)}`,
      );
  }
}

function need(telegram: Uint8Array, start: number, length: number, what: string): void {
  const got = telegram.length - start;
  if (got < length) {
    throw new WmbusFrameError(
      'TRUNCATED',
      telegram.length,
      `truncated: ${what} needs ${length} bytes after the CI at offset ${start - 1}, got ${got}`,
    );
  }
}

function missingCi(offset: number): WmbusFrameError {
  return new WmbusFrameError('TRUNCATED', offset, `truncated: expected a CI field at offset ${offset}, got none`);
}

function readUint32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}
