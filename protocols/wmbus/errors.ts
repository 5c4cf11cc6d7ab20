/**
 * Errors of the wireless M-Bus codec. Both kinds are bad input (`retriable` is always `false`): the
 * same bytes with the same key will never decode. They carry a stable `reason` for DLQ records and
 * metrics; the message says what was expected and what arrived.
 *
 * `KEY_MISSING` is not retriable either: the telegram goes to the dead-letter topic, and replaying
 * it once the key is provisioned is the recovery path.
 *
 * The codec depends on nothing else in meterflux; a connector wraps these in its own error kinds
 * with `cause` when it needs to.
 */

/** Why bytes are not a well-formed EN 13757-4 telegram, or not one this codec reads. */
export type WmbusFrameErrorReason =
  /** A hex string input has an odd length or a character outside 0-9, a-f, A-F. */
  | 'BAD_HEX'
  /** The L field is too small for the fields every telegram has, or the bytes run past the telegram. */
  | 'BAD_LENGTH'
  /** The bytes end before the telegram (or one of its headers) does. */
  | 'TRUNCATED'
  /** A link-layer block's CRC does not match; `block` says which. */
  | 'BAD_CRC'
  /** The payload CRC of an extended link layer (CI 0x8d) does not match. */
  | 'BAD_PAYLOAD_CRC'
  /** The CI field names a layer this codec does not read. */
  | 'UNSUPPORTED_CI';

/** A telegram whose framing or headers are malformed or unsupported. */
export class WmbusFrameError extends Error {
  /** Stable machine code of the error class. */
  readonly code = 'WMBUS_FRAME';
  readonly retriable = false;

  constructor(
    /** Why the telegram was rejected. */
    readonly reason: WmbusFrameErrorReason,
    /**
     * Offset of the offending byte. For `BAD_HEX` it counts characters of the string; for
     * `BAD_CRC` and link-layer `BAD_LENGTH`/`TRUNCATED`, bytes as received (CRCs included); for
     * everything after the link layer, bytes of the telegram with its CRCs removed (L at 0, CI at 10).
     */
    readonly offset: number,
    message: string,
    /** For `BAD_CRC`: the failing block, numbered from 1 as EN 13757-4 does (block 1 holds L, C, M, A). */
    readonly block?: number,
  ) {
    super(message);
    Object.defineProperty(this, 'name', { value: 'WmbusFrameError', configurable: true, writable: true });
  }
}

/** Why the security layer could not produce the application data. */
export type WmbusSecurityErrorReason =
  /** The telegram is encrypted and `keyFor` returned no key for the meter. */
  | 'KEY_MISSING'
  /** The key for the meter is not a 16-byte AES-128 key. */
  | 'BAD_KEY'
  /** The decrypted data does not start with 2F 2F: wrong key, or a corrupted telegram. */
  | 'DECRYPTION_FAILED'
  /** A security mode (configuration word, or extended-link-layer encryption) this codec does not implement. */
  | 'UNSUPPORTED_SECURITY_MODE'
  /** Fewer bytes follow the header than the encrypted blocks the configuration word announces. */
  | 'BAD_ENCRYPTED_LENGTH';

/** An encrypted telegram that cannot be decrypted. */
export class WmbusSecurityError extends Error {
  /** Stable machine code of the error class. */
  readonly code = 'WMBUS_SECURITY';
  readonly retriable = false;

  constructor(
    /** Why decryption was not possible. */
    readonly reason: WmbusSecurityErrorReason,
    /** The meter whose key was (or would have been) used, as {@link MeterAddress.id}. */
    readonly meterId: string,
    message: string,
  ) {
    super(message);
    Object.defineProperty(this, 'name', { value: 'WmbusSecurityError', configurable: true, writable: true });
  }
}

/** `0x3c`, `0x2f2f`: the lower-case hex form every message uses, `digits` wide. */
export function hex(value: number, digits = 2): string {
  return `0x${value.toString(16).padStart(digits, '0')}`;
}
