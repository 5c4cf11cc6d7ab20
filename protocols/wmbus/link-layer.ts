/**
 * EN 13757-4 link layer: the two frame formats, their CRCs, and the L, C, M, A and CI fields.
 *
 * ```
 * format A   block 1: L C M(2) A(6) CRC(2)    L counts C…end of data, without CRCs
 *            block 2…n: 16 data bytes + CRC(2), the last ((L − 9) mod 16) bytes + CRC(2)
 * format B   block 1: L C M(2) A(6)           L counts C…end, CRCs included
 *            block 2: CI + data + CRC(2)      at most 118 bytes; its CRC covers blocks 1 and 2
 *            block 3: data + CRC(2)           only when L ≥ 130 (telegrams of 131…256 bytes)
 * ```
 * A = ident (4 bytes, BCD, least significant first), version, device type. After the CRCs are
 * removed both formats are the same bytes: L C M A CI data…, which is what later layers read.
 */
import { meterAddress, type MeterAddress } from './address.js';
import { crc16 } from './crc.js';
import { hex, WmbusFrameError } from './errors.js';

/** Offset of the CI field in a telegram whose CRCs are removed. */
export const CI_OFFSET = 10;

const BLOCK1_LENGTH = 10;
const BLOCK_LENGTH = 16;
/** C, M, A and CI: the least an L field can count. */
const MIN_L = 10;
/** Format B: blocks 1 and 2 together are at most this long, CRC included. */
const FORMAT_B_FIRST_CRC_END = 128;
const FORMAT_B_MAX_SINGLE_CRC_L = FORMAT_B_FIRST_CRC_END - 1;
const FORMAT_B_MIN_TWO_CRC_L = 130;

/** Frame format as EN 13757-4 names it: A (modes S, T, C) or B (mode C only). */
export type FrameFormat = 'A' | 'B';

/**
 * Whether the telegram still carries its link-layer CRCs. Gateways differ: radio modules such as
 * the iM871A or the AMB8465 check and strip them, raw SDR receivers do not.
 */
export type CrcPresence = 'auto' | 'present' | 'stripped';

/** How to read a telegram a gateway delivered. */
export interface LinkLayerOptions {
  /**
   * Frame format the telegram was received in. A telegram whose CRCs were stripped and whose L
   * field the gateway rewrote to count only the remaining bytes is a stripped format A telegram,
   * whatever it was on air.
   * @default 'A'
   */
  readonly frameFormat?: FrameFormat;
  /**
   * `present` and `stripped` say which form to expect and reject the other. `auto` decides by
   * length alone, which is unambiguous: format A with CRCs is `L + 1 + 2 × blocks` bytes, without
   * them `L + 1`; format B with CRCs is `L + 1` bytes, without them (L still counting the CRCs)
   * `L − 1` or, when L ≥ 130, `L − 3`. A length that fits neither form is an error.
   * @default 'auto'
   */
  readonly crc?: CrcPresence;
}

/** The link-layer fields of a telegram. */
export interface LinkLayer {
  /** L field as received. */
  readonly lField: number;
  /** C field, e.g. 0x44 SND-NR, 0x46 SND-IR, 0x08 RSP-UD. */
  readonly control: number;
  /** Address of the sender: the meter itself, or a repeater or radio converter sending for it. */
  readonly address: MeterAddress;
  /** CI field: what follows (extended link layer, transport header, …). */
  readonly ci: number;
  readonly frameFormat: FrameFormat;
  /** Whether the received bytes carried the link-layer CRCs (and so had them checked). */
  readonly crcPresent: boolean;
}

/** A telegram whose link layer has been checked. */
export interface LinkFrame {
  readonly link: LinkLayer;
  /**
   * The telegram without CRCs: L at 0, C at 1, M at 2, A at 4, CI at {@link CI_OFFSET}. A view
   * into the input when the input had no CRCs (or format B had them only at the end), else a copy.
   */
  readonly telegram: Uint8Array;
}

/**
 * Checks the link layer of one telegram and removes its CRCs. Called on a telegram a gateway
 * delivered whole; the bytes are not retained beyond the returned view.
 *
 * @param input the telegram from its L field on, as bytes or as a hex string (no separators).
 * @throws {WmbusFrameError} `BAD_HEX`, `BAD_LENGTH` (L too small for C, M, A and CI, or bytes past
 *   the end of the telegram), `TRUNCATED`, or `BAD_CRC` with the failing `block`.
 */
export function parseLinkLayer(input: Uint8Array | string, options: LinkLayerOptions = {}): LinkFrame {
  const bytes = typeof input === 'string' ? bytesFromHex(input) : input;
  if (bytes.length === 0) throw new WmbusFrameError('TRUNCATED', 0, 'truncated: no bytes');
  const frameFormat = options.frameFormat ?? 'A';
  const crc = options.crc ?? 'auto';
  const l = bytes[0]!;
  const [telegram, crcPresent] = frameFormat === 'A' ? unblockA(bytes, l, crc) : unblockB(bytes, l, crc);
  const identLe = (telegram[4]! | (telegram[5]! << 8) | (telegram[6]! << 16) | (telegram[7]! << 24)) >>> 0;
  return {
    link: {
      lField: l,
      control: telegram[1]!,
      address: meterAddress(telegram[2]! | (telegram[3]! << 8), identLe, telegram[8]!, telegram[9]!),
      ci: telegram[CI_OFFSET]!,
      frameFormat,
      crcPresent,
    },
    telegram,
  };
}

/**
 * The bytes of a hex string such as `2e4493…`.
 * @throws {WmbusFrameError} `BAD_HEX` on an odd length or a character that is not a hex digit.
 */
export function bytesFromHex(text: string): Uint8Array {
  if (text.length % 2 !== 0) {
    throw new WmbusFrameError('BAD_HEX', text.length, `hex: expected an even number of digits, got ${text.length}`);
  }
  const bad = text.search(/[^0-9a-fA-F]/);
  if (bad >= 0) {
    throw new WmbusFrameError('BAD_HEX', bad, `hex: expected a hex digit at character ${bad}, got '${text[bad]}'`);
  }
  return Buffer.from(text, 'hex');
}

/** Number of CRC-protected blocks of a format A telegram with this L field. */
export function formatABlockCount(l: number): number {
  return 1 + Math.ceil((l - (BLOCK1_LENGTH - 1)) / BLOCK_LENGTH);
}

function unblockA(bytes: Uint8Array, l: number, crc: CrcPresence): [Uint8Array, boolean] {
  if (l < MIN_L) {
    throw new WmbusFrameError('BAD_LENGTH', 0, `L field: expected at least ${hex(MIN_L)} (C, M, A and CI), got ${hex(l)}`);
  }
  const stripped = l + 1;
  const withCrc = stripped + 2 * formatABlockCount(l);
  const present = crc === 'auto' ? bytes.length !== stripped : crc === 'present';
  if (bytes.length !== (present ? withCrc : stripped)) {
    throw lengthError(bytes.length, l, [
      ...(crc === 'stripped' ? [] : [{ length: withCrc, form: 'format A with CRCs' }]),
      ...(crc === 'present' ? [] : [{ length: stripped, form: 'CRCs stripped' }]),
    ]);
  }
  if (!present) return [bytes, false];

  const telegram = new Uint8Array(stripped);
  let from = 0;
  let to = 0;
  let size = BLOCK1_LENGTH;
  for (let block = 1; to < stripped; block++) {
    checkCrc(bytes, from, from + size, block);
    for (let i = 0; i < size; i++) telegram[to + i] = bytes[from + i]!;
    from += size + 2;
    to += size;
    size = Math.min(BLOCK_LENGTH, stripped - to);
  }
  return [telegram, true];
}

function unblockB(bytes: Uint8Array, l: number, crc: CrcPresence): [Uint8Array, boolean] {
  if (l < MIN_L + 2) {
    throw new WmbusFrameError(
      'BAD_LENGTH',
      0,
      `L field: expected at least ${hex(MIN_L + 2)} (C, M, A, CI and CRC) in format B, got ${hex(l)}`,
    );
  }
  if (l > FORMAT_B_MAX_SINGLE_CRC_L && l < FORMAT_B_MIN_TWO_CRC_L) {
    throw new WmbusFrameError(
      'BAD_LENGTH',
      0,
      `L field: expected at most ${hex(FORMAT_B_MAX_SINGLE_CRC_L)} or at least ${hex(FORMAT_B_MIN_TWO_CRC_L)} in format B, got ${hex(l)}`,
    );
  }
  const withCrc = l + 1;
  const twoCrcs = l >= FORMAT_B_MIN_TWO_CRC_L;
  const stripped = withCrc - (twoCrcs ? 4 : 2);
  const present = crc === 'auto' ? bytes.length !== stripped : crc === 'present';
  if (bytes.length !== (present ? withCrc : stripped)) {
    throw lengthError(bytes.length, l, [
      ...(crc === 'stripped' ? [] : [{ length: withCrc, form: 'format B with CRCs' }]),
      ...(crc === 'present' ? [] : [{ length: stripped, form: 'format B, CRCs stripped' }]),
    ]);
  }
  if (!present) return [bytes, false];

  if (!twoCrcs) {
    checkCrc(bytes, 0, withCrc - 2, 2);
    return [bytes.subarray(0, withCrc - 2), true];
  }
  const firstEnd = FORMAT_B_FIRST_CRC_END - 2;
  checkCrc(bytes, 0, firstEnd, 2);
  checkCrc(bytes, FORMAT_B_FIRST_CRC_END, withCrc - 2, 3);
  const telegram = new Uint8Array(stripped);
  telegram.set(bytes.subarray(0, firstEnd));
  telegram.set(bytes.subarray(FORMAT_B_FIRST_CRC_END, withCrc - 2), firstEnd);
  return [telegram, true];
}

/** Checks the big-endian CRC at `bytes[end]` against `bytes[start..end)`. */
function checkCrc(bytes: Uint8Array, start: number, end: number, block: number): void {
  const expected = crc16(bytes, start, end);
  const got = (bytes[end]! << 8) | bytes[end + 1]!;
  if (expected !== got) {
    throw new WmbusFrameError('BAD_CRC', end, `CRC of block ${block}: expected ${hex(expected, 4)}, got ${hex(got, 4)}`, block);
  }
}

function lengthError(got: number, l: number, forms: readonly { length: number; form: string }[]): WmbusFrameError {
  const expected = forms.map(({ length, form }) => `${length} bytes (${form})`).join(' or ');
  const longest = Math.max(...forms.map((f) => f.length));
  return got < longest
    ? new WmbusFrameError('TRUNCATED', got, `truncated: L field ${hex(l)} means ${expected}, got ${got}`)
    : new WmbusFrameError('BAD_LENGTH', longest, `length: L field ${hex(l)} means ${expected}, got ${got}`);
}
