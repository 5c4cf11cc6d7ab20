/**
 * What the connector makes of each telegram and each run of garbage the framer reports: a RawUplink
 * draft keyed by the meter's secondary address (for the fixed data structure, the address with the
 * wildcards for what its header lacks), or a rejection with a reason code for the DLQ.
 * Pure: no I/O, no clock.
 */
import { DecodeError, PayloadError, type BadInputError } from '../../core/errors.js';
import type { RejectedInput } from '../../core/kafka/dead-letter.js';
import {
  decodeApplicationLayer,
  MbusDecodeError,
  MbusFrameError,
  parseTelegram,
  secondaryAddress,
  type ApplicationLayer,
  type FixedHeader,
  type FrameErrorReason,
  type LongFrame,
} from '../../protocols/mbus/index.js';
import { payloadHash, type UplinkDraft } from '../kit/ingest.js';
import type { GarbagePiece } from './garbage.js';

/** The `reasonCode` of every dead letter this connector writes (README: "Reason codes"). */
export type MbusRejectReason =
  | 'MBUS_GARBAGE'
  | 'MBUS_BAD_LENGTH'
  | 'MBUS_BAD_CHECKSUM'
  | 'MBUS_BAD_STOP'
  | 'MBUS_TRUNCATED'
  | 'MBUS_NOT_VARIABLE_DATA'
  | 'MBUS_NO_LONG_HEADER'
  | 'MBUS_TOO_SHORT_HEADER';

/** The gateway connection a telegram arrived on. */
export interface GatewayOrigin {
  /** The gateway's IP address. */
  readonly gateway: string;
  /** Remote `ip:port` of the connection (`[ip]:port` for IPv6): `RawUplink.sourceAddress`. */
  readonly sourceAddress: string;
}

/** Input the connector refuses: what goes to the DLQ, and whether the gateway gets a NACK for it. */
export interface Rejection {
  readonly input: RejectedInput;
  /** Its `reason` is one of {@link MbusRejectReason}. */
  readonly error: BadInputError;
  /** `true` when the bytes began like a telegram, so the gateway can tell which of its frames failed. */
  readonly answerable: boolean;
}

/** A long frame's fate: an uplink for Kafka, or a rejection. */
export type FrameVerdict =
  | { readonly kind: 'uplink'; readonly draft: UplinkDraft }
  | { readonly kind: 'rejected'; readonly rejection: Rejection };

// EN 13757-3 CI fields of the responses whose header names the meter, LSB and MSB first: the
// variable data structure with a long header (the full secondary address) and the fixed data
// structure (identification number and medium only).
const LONG_HEADER_CIS: ReadonlySet<number> = new Set([0x72, 0x76]);
const FIXED_CIS: ReadonlySet<number> = new Set([0x73, 0x77]);
const LONG_HEADER_LENGTH = 12;
const FIXED_DATA_LENGTH = 16;
// `68 L L 68 C A CI`: where a long frame's data starts, so codec offsets count from the frame start.
const FRAME_DATA_OFFSET = 7;

const ANONYMOUS_CI_NAMES: Readonly<Record<number, string>> = {
  0x78: 'a variable data structure without a header',
  0x7a: 'a variable data structure with a short header',
};
const OTHER_CI_NAMES: Readonly<Record<number, string>> = {
  0x70: 'a report of an application error',
};

/**
 * The wildcards of M-Bus secondary addressing (a master's selection, CI 0x52): manufacturer
 * `FFFF`, version `FF`, medium `FF`. A fixed data structure's header has no manufacturer or version.
 */
const WILDCARD_MANUFACTURER = 'FFFF';
const WILDCARD_VERSION = 'FF';
const WILDCARD_MEDIUM = 'FF';

/**
 * The 4-bit medium of the fixed data structure as the device type byte of the variable data
 * structure (EN 13757-3 Table 12). Codes 0–8 name the media of device types 0x00–0x08 (EN 1434-3
 * called 0x06 hot water, EN 13757-3 warm water); 0x0A–0x0E are gas, heat, hot water, water and heat
 * cost allocator in "mode 2", counters sent MSB first, the same media; 9 and 15 are reserved, so
 * the medium is unknown and written as the wildcard.
 */
const FIXED_MEDIUM_DEVICE_TYPES: readonly (number | undefined)[] = [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, undefined, 0x03, 0x04, 0x06, 0x07, 0x08, undefined,
];

const FRAME_REASONS: Readonly<Record<FrameErrorReason, MbusRejectReason>> = {
  BAD_START: 'MBUS_GARBAGE',
  TRAILING_DATA: 'MBUS_GARBAGE',
  BAD_LENGTH: 'MBUS_BAD_LENGTH',
  LENGTH_MISMATCH: 'MBUS_BAD_LENGTH',
  BAD_CHECKSUM: 'MBUS_BAD_CHECKSUM',
  BAD_STOP: 'MBUS_BAD_STOP',
  TRUNCATED: 'MBUS_TRUNCATED',
};

/**
 * Judges one long or control frame that passed the link layer. Only the data header is read: the
 * records are the decoder's business downstream, so a frame whose records are malformed is still
 * forwarded untouched and dead-lettered there with the decoder's precise reason.
 */
export function judgeFrame(frame: LongFrame, origin: GatewayOrigin): FrameVerdict {
  const found = identityOf(frame);
  if ('error' in found) {
    const details = { cField: hex(frame.control), aField: hex(frame.address), ci: hex(frame.ci) };
    return { kind: 'rejected', rejection: { input: inputOf(frame.bytes, origin, details), error: found.error, answerable: true } };
  }
  const { address, accessNumber } = found;
  return {
    kind: 'uplink',
    draft: {
      idempotencyKey: idempotencyKeyOf(frame.bytes, accessNumber),
      deviceId: `mbus:${address.toLowerCase()}`,
      transport: 'MBUS_TCP',
      payloadFormat: 'MBUS_LONG_FRAME',
      payload: asBuffer(frame.bytes),
      sourceAddress: origin.sourceAddress,
      metadata: {
        gateway: origin.gateway,
        cField: hex(frame.control),
        aField: hex(frame.address),
        accessNumber: String(accessNumber),
      },
    },
  };
}

/**
 * Judges one piece of garbage. The codec re-reads it from its first byte to say exactly what is
 * wrong. A framed piece is a frame the gateway sent, so it is answered; anything else is noise,
 * which no answer could be matched to.
 */
export function judgeGarbage({ bytes, framed }: GarbagePiece, origin: GatewayOrigin): Rejection {
  const failure = frameFailureOf(bytes);
  const reason: MbusRejectReason = framed && failure !== undefined ? FRAME_REASONS[failure.reason] : 'MBUS_GARBAGE';
  const detail = failure?.message ?? 'skipped by the framer';
  const message = reason === 'MBUS_GARBAGE' ? `${bytes.length} bytes that are not an M-Bus long frame (${detail})` : detail;
  return {
    input: inputOf(bytes, origin, failure === undefined ? {} : { byteOffset: String(failure.offset) }),
    error: new DecodeError(reason, message),
    answerable: framed,
  };
}

/** A draft the ingest refused as not a valid RawUplink: kept and answered like a refused frame. */
export function rejectDraft(draft: UplinkDraft, error: BadInputError, origin: GatewayOrigin): Rejection {
  return { input: { ...inputOf(draft.payload, origin, {}), deviceId: draft.deviceId }, error, answerable: true };
}

/**
 * `mbus-frame:{SHA-256 of the frame, hex}:{access number}`. A gateway re-sending a frame sends the
 * same bytes, so it gets the same key. The access number alone is not enough: it wraps at 256 and
 * every meter on the line counts its own; the hash (which covers it, and the meter's identity and
 * values) tells apart everything but a byte-identical readout.
 */
export function idempotencyKeyOf(frame: Uint8Array, accessNumber: number): string {
  return `mbus-frame:${payloadHash(frame)}:${accessNumber}`;
}

/**
 * The secondary address of a fixed data structure's meter: its identification number, the
 * wildcards for manufacturer and version, and its medium as a device type byte (the wildcard for a
 * reserved code), e.g. `12345678FFFFFF07` for water meter 12345678. Upper case like
 * {@link secondaryAddress}.
 */
export function fixedSecondaryAddress(header: FixedHeader): string {
  const deviceType = FIXED_MEDIUM_DEVICE_TYPES[header.medium & 0x0f];
  const medium = deviceType === undefined ? WILDCARD_MEDIUM : deviceType.toString(16).toUpperCase().padStart(2, '0');
  return header.id.toUpperCase() + WILDCARD_MANUFACTURER + WILDCARD_VERSION + medium;
}

interface Identity {
  /** The secondary address the record is keyed by, as {@link secondaryAddress} writes it. */
  readonly address: string;
  readonly accessNumber: number;
}

/** The meter's identity from the data header, or why the frame has none the connector can key it by. */
function identityOf(frame: LongFrame): Identity | { readonly error: BadInputError } {
  if (frame.kind === 'long' && FIXED_CIS.has(frame.ci)) {
    const layer = headerLayer(frame, FIXED_DATA_LENGTH);
    if ('error' in layer) return layer;
    // A fixed-structure CI always decodes to the fixed structure; the check keeps the types honest.
    if (layer.structure !== 'fixed') throw new Error(`CI ${hex(frame.ci)} decoded without the fixed structure`);
    return { address: fixedSecondaryAddress(layer.header), accessNumber: layer.header.accessNumber };
  }
  if (frame.kind === 'control' || !LONG_HEADER_CIS.has(frame.ci)) {
    const anonymous = frame.kind === 'long' && ANONYMOUS_CI_NAMES[frame.ci] !== undefined;
    const what =
      frame.kind === 'control'
        ? 'in a control frame, which carries no data'
        : anonymous
          ? `${ANONYMOUS_CI_NAMES[frame.ci]}, which does not carry the meter's secondary address`
          : (OTHER_CI_NAMES[frame.ci] ?? 'not a slave response');
    const reason: MbusRejectReason = anonymous ? 'MBUS_NO_LONG_HEADER' : 'MBUS_NOT_VARIABLE_DATA';
    const problem =
      'must be 0x72 or 0x76 (a variable data structure with a long header) or 0x73 or 0x77 (the fixed data structure), ' +
      `got ${hex(frame.ci)}, ${what}`;
    return { error: new PayloadError({ field: 'CI', problem, reason }) };
  }
  const layer = headerLayer(frame, LONG_HEADER_LENGTH);
  if ('error' in layer) return layer;
  // A long-header CI always decodes to a long header; the check keeps the types honest.
  if (layer.structure !== 'variable' || layer.header?.kind !== 'long') {
    throw new Error(`CI ${hex(frame.ci)} decoded without a long header`);
  }
  return { address: secondaryAddress(layer.header), accessNumber: layer.header.accessNumber };
}

/**
 * The application layer of the first `length` data bytes: the header only (for the fixed
 * structure, which has no records, the whole structure).
 */
function headerLayer(frame: LongFrame, length: number): ApplicationLayer | { readonly error: BadInputError } {
  try {
    return decodeApplicationLayer(frame.ci, frame.data.subarray(0, length), FRAME_DATA_OFFSET);
  } catch (err) {
    if (!(err instanceof MbusDecodeError)) throw err;
    const reason: MbusRejectReason = 'MBUS_TOO_SHORT_HEADER';
    return { error: new DecodeError(reason, err.message, { cause: err }) };
  }
}

function frameFailureOf(bytes: Uint8Array): MbusFrameError | undefined {
  try {
    parseTelegram(bytes);
    return undefined;
  } catch (err) {
    if (err instanceof MbusFrameError) return err;
    throw err;
  }
}

function inputOf(bytes: Uint8Array, origin: GatewayOrigin, details: Record<string, string>): RejectedInput {
  return {
    key: null,
    bytes: asBuffer(bytes),
    deviceId: null,
    transport: 'MBUS_TCP',
    details: { sourceAddress: origin.sourceAddress, gateway: origin.gateway, ...details },
  };
}

/** A Buffer over the same memory: the framer hands out fresh copies, so no second copy is needed. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}
