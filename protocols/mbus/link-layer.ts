/**
 * EN 13757-2 link layer: the four telegram formats of wired M-Bus.
 *
 * ```
 * single character   E5
 * short frame        10 C A CS 16
 * control frame      68 03 03 68 C A CI CS 16
 * long frame         68 L L 68 C A CI data… CS 16      (L = 3 + data length, at most 255)
 * ```
 * CS is the sum of the bytes from C to the end of the data, modulo 256.
 */
import { hexByte, MbusFrameError, type FrameErrorReason } from './errors.js';

const ACK = 0xe5;
const SHORT_START = 0x10;
const LONG_START = 0x68;
const STOP = 0x16;
const SHORT_FRAME_LENGTH = 5;
/** Offset of the first data byte after CI in a long or control frame. */
export const LONG_FRAME_DATA_OFFSET = 7;
/** The longest telegram: a long frame with L = 255. */
export const MAX_TELEGRAM_LENGTH = 255 + 6;

/** The single character E5: a slave's acknowledgement. */
export interface AckTelegram {
  readonly kind: 'ack';
}

/** `10 C A CS 16`: a master's request or link command (SND_NKE, REQ_UD2…). */
export interface ShortFrame {
  readonly kind: 'short';
  /** C field. */
  readonly control: number;
  /** A field: primary address. */
  readonly address: number;
  /** The whole frame as received. */
  readonly bytes: Uint8Array;
}

/** A long frame, or a control frame (L = 3, so `data` is empty). */
export interface LongFrame {
  readonly kind: 'long' | 'control';
  /** C field. */
  readonly control: number;
  /** A field: primary address. */
  readonly address: number;
  /** CI field: what the data that follows is (see the application layer). */
  readonly ci: number;
  /** The bytes after CI, before CS; a view into `bytes`. Its first byte is frame offset 7. */
  readonly data: Uint8Array;
  /** The whole frame as received. */
  readonly bytes: Uint8Array;
}

/** Any EN 13757-2 telegram. */
export type MbusTelegram = AckTelegram | ShortFrame | LongFrame;

/** Stateless shared instance: an ack carries nothing. */
const ACK_TELEGRAM: AckTelegram = Object.freeze({ kind: 'ack' });

// scanTelegram's rejection codes, negated; indices into REJECTIONS.
const REJECT_START = 1;
const REJECT_LENGTH_MISMATCH = 2;
const REJECT_LENGTH = 3;
const REJECT_CHECKSUM = 4;
const REJECT_STOP = 5;
const REJECTIONS: readonly FrameErrorReason[] = [
  'TRUNCATED',
  'BAD_START',
  'LENGTH_MISMATCH',
  'BAD_LENGTH',
  'BAD_CHECKSUM',
  'BAD_STOP',
];

/**
 * Checks whether a telegram starts at `bytes[start]`, reading no further than `end`. The fast path
 * of {@link parseTelegram}, and what the stream framer resynchronises with; never throws or
 * allocates.
 *
 * @returns the telegram's length when it is complete and valid; `0` when the bytes so far are a
 *   valid beginning and more are needed (never once `end - start` reaches
 *   {@link MAX_TELEGRAM_LENGTH}); a negative code, mapped by {@link rejectionReason}, when no valid
 *   telegram starts here.
 */
export function scanTelegram(bytes: Uint8Array, start: number, end: number): number {
  const available = end - start;
  if (available <= 0) return 0;
  const first = bytes[start]!;
  if (first === ACK) return 1;
  if (first === SHORT_START) {
    if (available < 4) return 0;
    if (((bytes[start + 1]! + bytes[start + 2]!) & 0xff) !== bytes[start + 3]) return -REJECT_CHECKSUM;
    if (available < SHORT_FRAME_LENGTH) return 0;
    return bytes[start + 4] === STOP ? SHORT_FRAME_LENGTH : -REJECT_STOP;
  }
  if (first !== LONG_START) return -REJECT_START;
  if (available < 2) return 0;
  const l = bytes[start + 1]!;
  if (l < 3) return -REJECT_LENGTH;
  if (available < 3) return 0;
  if (bytes[start + 2] !== l) return -REJECT_LENGTH_MISMATCH;
  if (available < 4) return 0;
  if (bytes[start + 3] !== LONG_START) return -REJECT_START;
  const total = l + 6;
  if (available < total - 1) return 0;
  let sum = 0;
  const dataEnd = start + 4 + l;
  for (let i = start + 4; i < dataEnd; i++) sum += bytes[i]!;
  if ((sum & 0xff) !== bytes[dataEnd]) return -REJECT_CHECKSUM;
  if (available < total) return 0;
  return bytes[dataEnd + 1] === STOP ? total : -REJECT_STOP;
}

/** The reason behind a negative {@link scanTelegram} result (`0` maps to `TRUNCATED`). */
export function rejectionReason(code: number): FrameErrorReason {
  return REJECTIONS[-code] ?? 'TRUNCATED';
}

/**
 * Parses exactly one telegram. Called on a frame a gateway delivered whole (one UDP datagram, one
 * line of a capture); use the stream framer for TCP byte streams.
 *
 * @throws {MbusFrameError} when the bytes are not exactly one valid telegram; the message says
 *   what was expected and what arrived, e.g. `checksum: expected 0x3c, got 0x3d`.
 */
export function parseTelegram(bytes: Uint8Array): MbusTelegram {
  const result = scanTelegram(bytes, 0, bytes.length);
  if (result <= 0) throw describeRejection(bytes, result);
  if (result < bytes.length) {
    throw new MbusFrameError(
      'TRAILING_DATA',
      result,
      `trailing data: telegram ends after ${result} bytes, got ${bytes.length}`,
    );
  }
  return telegramOf(bytes);
}

/** Builds the typed telegram from bytes {@link scanTelegram} has accepted in full. */
export function telegramOf(bytes: Uint8Array): MbusTelegram {
  const first = bytes[0];
  if (first === ACK) return ACK_TELEGRAM;
  if (first === SHORT_START) return { kind: 'short', control: bytes[1]!, address: bytes[2]!, bytes };
  return {
    kind: bytes[1] === 3 ? 'control' : 'long',
    control: bytes[4]!,
    address: bytes[5]!,
    ci: bytes[6]!,
    data: bytes.subarray(LONG_FRAME_DATA_OFFSET, bytes.length - 2),
    bytes,
  };
}

function describeRejection(bytes: Uint8Array, code: number): MbusFrameError {
  const reason = rejectionReason(code);
  const first = bytes[0];
  switch (reason) {
    case 'BAD_START':
      return first === LONG_START
        ? new MbusFrameError(reason, 3, `second start byte: expected 0x68, got ${hexByte(bytes[3]!)}`)
        : new MbusFrameError(reason, 0, `start byte: expected 0x68, 0x10 or 0xe5, got ${hexByte(first!)}`);
    case 'BAD_LENGTH':
      return new MbusFrameError(reason, 1, `L field: expected at least 0x03, got ${hexByte(bytes[1]!)}`);
    case 'LENGTH_MISMATCH':
      return new MbusFrameError(reason, 2, `second L field: expected ${hexByte(bytes[1]!)}, got ${hexByte(bytes[2]!)}`);
    case 'BAD_CHECKSUM': {
      const [from, to] = first === SHORT_START ? [1, 3] : [4, 4 + bytes[1]!];
      let sum = 0;
      for (let i = from; i < to; i++) sum += bytes[i]!;
      return new MbusFrameError(reason, to, `checksum: expected ${hexByte(sum & 0xff)}, got ${hexByte(bytes[to]!)}`);
    }
    case 'BAD_STOP': {
      const at = first === SHORT_START ? SHORT_FRAME_LENGTH - 1 : bytes[1]! + 5;
      return new MbusFrameError(reason, at, `stop byte: expected 0x16, got ${hexByte(bytes[at]!)}`);
    }
    default: {
      if (bytes.length === 0) return new MbusFrameError(reason, 0, 'truncated: no bytes');
      const needed =
        first === SHORT_START ? `${SHORT_FRAME_LENGTH}` : bytes.length < 2 ? 'at least 9' : `${bytes[1]! + 6}`;
      const kind = first === SHORT_START ? 'short frame' : 'long frame';
      return new MbusFrameError(reason, bytes.length, `truncated: ${kind} needs ${needed} bytes, got ${bytes.length}`);
    }
  }
}
