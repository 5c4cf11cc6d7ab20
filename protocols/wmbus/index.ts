/**
 * Wireless M-Bus (EN 13757-4) and OMS security: from a telegram as a gateway delivers it to the
 * parsed headers and the plain data records, which the EN 13757-3 record parser of
 * `protocols/mbus` reads. Pure: no I/O, no state beyond a cache of imported AES keys.
 *
 * ```
 * bytes ─ link layer (CRCs, L C M A CI) ─ [ELL 8c/8d] ─ transport header (72/7a/78/79)
 *       ─ mode 5 decryption (key of the meter) ─ applicationData
 * ```
 */
import type { MeterAddress } from './address.js';
import { WmbusSecurityError } from './errors.js';
import { CI_OFFSET, parseLinkLayer, type LinkLayer, type LinkLayerOptions } from './link-layer.js';
import { openPayload, type KeyLookup } from './oms-security.js';
import {
  parseExtendedLinkLayer,
  parseTransportLayer,
  type ExtendedLinkLayer,
  type TransportLayer,
} from './transport-layer.js';

export { manufacturerCode, type MeterAddress } from './address.js';
export { crc16 } from './crc.js';
export { encodeTelegram, type AddressFields, type TelegramSpec } from './encoder.js';
export {
  WmbusFrameError,
  WmbusSecurityError,
  type WmbusFrameErrorReason,
  type WmbusSecurityErrorReason,
} from './errors.js';
export { parseLinkLayer, type CrcPresence, type FrameFormat, type LinkLayer, type LinkLayerOptions } from './link-layer.js';
export { encryptMode5, type KeyLookup, type MeterKey } from './oms-security.js';
export type { ConfigurationWord, ExtendedLinkLayer, TransportLayer } from './transport-layer.js';

/** How {@link decodeTelegram} reads telegrams and finds keys. */
export interface DecodeOptions extends LinkLayerOptions {
  /**
   * Key of the meter that sent an encrypted telegram, looked up by the meter's address (the long
   * header's when there is one, else the link layer's; use `meter.id` as the key-store key).
   * Called only for encrypted telegrams.
   * @default no keys: every encrypted telegram fails with `KEY_MISSING`
   */
  readonly keyFor?: KeyLookup;
}

/** One decoded telegram. */
export interface DecodedTelegram {
  readonly link: LinkLayer;
  /** The extended link layer, when the telegram has one. */
  readonly ell?: ExtendedLinkLayer;
  readonly transport: TransportLayer;
  /** The meter the data belongs to: the long header's address if present, else the link layer's. */
  readonly meter: MeterAddress;
  /** `meter.id`: ident, manufacturer, version, device type as 16 hex digits, as wired M-Bus secondary addresses are written. */
  readonly meterId: string;
  /** Whether the records were encrypted (mode 5 with at least one block). */
  readonly encrypted: boolean;
  /**
   * The data records (EN 13757-3), idle fillers (0x2f) intact: for an encrypted telegram the
   * decrypted bytes after the 2F 2F check, then any plain bytes that followed the encrypted blocks;
   * for a compact frame (CI 0x79) the compact data as sent. May be a view into the input: copy it
   * before reusing the input's buffer.
   */
  readonly applicationData: Uint8Array;
}

/**
 * Decodes one telegram: checks the link layer, reads the extended link layer and transport
 * header, and decrypts OMS mode 5. Meant for a stream worker calling it once per telegram:
 * synchronous, and it keeps nothing but imported AES keys (see `MeterKey`).
 *
 * @param input the telegram from its L field on, as bytes or hex (no separators).
 * @throws {WmbusFrameError} the bytes are not a telegram this codec reads (`BAD_HEX`,
 *   `BAD_LENGTH`, `TRUNCATED`, `BAD_CRC`, `BAD_PAYLOAD_CRC`, `UNSUPPORTED_CI`).
 * @throws {WmbusSecurityError} the telegram is encrypted and cannot be decrypted (`KEY_MISSING`,
 *   `BAD_KEY`, `DECRYPTION_FAILED`, `UNSUPPORTED_SECURITY_MODE`, `BAD_ENCRYPTED_LENGTH`).
 */
export function decodeTelegram(input: Uint8Array | string, options: DecodeOptions = {}): DecodedTelegram {
  const { link, telegram } = parseLinkLayer(input, options);
  const extended = parseExtendedLinkLayer(telegram, CI_OFFSET);
  if (extended?.ell.encryption) {
    throw new WmbusSecurityError(
      'UNSUPPORTED_SECURITY_MODE',
      link.address.id,
      `ELL encryption: expected 0 (none), got ${extended.ell.encryption} (1 is AES-128-CTR)`,
    );
  }
  const { transport, payloadOffset } = parseTransportLayer(telegram, extended?.next ?? CI_OFFSET);
  const meter = transport.kind === 'long' ? transport.meter : link.address;
  const payload = telegram.subarray(payloadOffset);
  const { encrypted, applicationData } =
    transport.kind === 'none'
      ? { encrypted: false, applicationData: payload }
      : openPayload(payload, transport.configuration, meter, transport.accessNumber, options.keyFor);
  return {
    link,
    ...(extended === undefined ? {} : { ell: extended.ell }),
    transport,
    meter,
    meterId: meter.id,
    encrypted,
    applicationData,
  };
}
