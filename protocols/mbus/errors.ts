/**
 * Errors of the M-Bus codec. Both kinds are bad input (`retriable` is always `false`): the same bytes
 * will never decode. They carry a stable `reason` for DLQ records and metrics and the byte `offset`
 * where decoding stopped; the message says what was expected and what arrived.
 *
 * The codec depends on nothing else in meterflux; a connector wraps these in its own error kinds
 * with `cause` when it needs to.
 */

/** Why a byte sequence is not an EN 13757-2 telegram. */
export type FrameErrorReason =
  /** The first byte is not 0x68, 0x10 or 0xE5, or a long frame's fourth byte is not 0x68. */
  | 'BAD_START'
  /** The two L fields of a long frame differ. */
  | 'LENGTH_MISMATCH'
  /** The L field is below 3, too short for C, A and CI. */
  | 'BAD_LENGTH'
  /** The checksum byte is not the sum of C…data modulo 256. */
  | 'BAD_CHECKSUM'
  /** The last byte is not 0x16. */
  | 'BAD_STOP'
  /** The bytes end before the telegram does. */
  | 'TRUNCATED'
  /** Bytes follow the telegram. */
  | 'TRAILING_DATA';

/** A malformed EN 13757-2 telegram. */
export class MbusFrameError extends Error {
  /** Stable machine code of the error class. */
  readonly code = 'MBUS_FRAME';
  readonly retriable = false;

  constructor(
    /** Why the frame was rejected. */
    readonly reason: FrameErrorReason,
    /** Offset of the offending byte from the first byte of the telegram. */
    readonly offset: number,
    message: string,
  ) {
    super(message);
    Object.defineProperty(this, 'name', { value: 'MbusFrameError', configurable: true, writable: true });
  }
}

/** Why an EN 13757-3 application layer cannot be decoded. */
export type DecodeErrorReason =
  /** The CI field names a structure this decoder does not handle (or one a slave never sends). */
  | 'UNSUPPORTED_CI'
  /** Fewer bytes than the data header needs. */
  | 'TOO_SHORT_HEADER'
  /** A DIF or DIFE announces an extension byte that is missing. */
  | 'PREMATURE_END_OF_DIF'
  /** More than 10 DIFEs in one record. */
  | 'TOO_MANY_DIFE'
  /** A VIF is missing, or a VIF/VIFE announces an extension byte that is missing. */
  | 'PREMATURE_END_OF_VIF'
  /** More than 10 VIFEs in one record. */
  | 'TOO_MANY_VIFE'
  /** A plain-text VIF's length byte or text is cut off. */
  | 'PREMATURE_END_OF_VARIABLE_VIF'
  /** A plain-text VIF's length byte is beyond the text range 0x00–0xbf. */
  | 'TOO_LONG_VARIABLE_VIF'
  /** The data field is shorter than its DIF (or LVAR) announces. */
  | 'PREMATURE_END_OF_DATA'
  /** A special-function DIF that EN 13757-3 reserves (0x3f–0x6f) or that only a master sends (0x7f). */
  | 'RESERVED_DIF'
  /** A variable-length data field whose LVAR byte is reserved. */
  | 'RESERVED_LVAR';

/** A malformed EN 13757-3 application layer. */
export class MbusDecodeError extends Error {
  /** Stable machine code of the error class. */
  readonly code = 'MBUS_DECODE';
  readonly retriable = false;

  constructor(
    /** Why decoding stopped. */
    readonly reason: DecodeErrorReason,
    /** Offset of the offending byte, counted as the caller asked (from the frame start for frames). */
    readonly offset: number,
    detail: string,
  ) {
    super(`${reason} at offset ${offset}: ${detail}`);
    Object.defineProperty(this, 'name', { value: 'MbusDecodeError', configurable: true, writable: true });
  }
}

/** `0x3c`: the lower-case two-digit hex form every message uses. */
export function hexByte(value: number): string {
  return `0x${value.toString(16).padStart(2, '0')}`;
}
