/**
 * M-Bus codec: pure functions from bytes to typed telegrams, no I/O.
 *
 * ```
 * TCP bytes ──MbusFramer.push──▶ frames ──decodeFrame──▶ header + records
 * one frame ──parseTelegram────▶ frame  ──decodeFrame──▶ …
 * wM-Bus / LoRaWAN payload ──decodeApplicationLayer(ci, data)──▶ …
 * records after a transport header parsed elsewhere ──decodeRecords──▶ records
 * ```
 * Link layer: EN 13757-2. Application layer: EN 13757-3 (DIF/DIFE/VIF/VIFE), shared with wireless
 * M-Bus and OMS. Every failure is an {@link MbusFrameError} or {@link MbusDecodeError} with a
 * stable `reason` and byte `offset`; neither is ever retriable.
 *
 * @packageDocumentation
 */
import { decodeApplicationLayer, type ApplicationLayer } from './application-layer.js';
import { LONG_FRAME_DATA_OFFSET, type LongFrame } from './link-layer.js';

export {
  decodeApplicationLayer,
  type ApplicationErrorReport,
  type ApplicationLayer,
  type FixedDataResponse,
  type VariableDataResponse,
} from './application-layer.js';
export type { RecordValue } from './data-field.js';
export type { MbusDateTime } from './dates.js';
export { MbusDecodeError, MbusFrameError, type DecodeErrorReason, type FrameErrorReason } from './errors.js';
export type { FixedCounter, FixedHeader } from './fixed-data.js';
export { MbusFramer, type FramerEvent } from './framer.js';
export { secondaryAddress, type LongHeader, type MbusStatus, type ShortHeader } from './header.js';
export {
  MAX_TELEGRAM_LENGTH,
  parseTelegram,
  type AckTelegram,
  type LongFrame,
  type MbusTelegram,
  type ShortFrame,
} from './link-layer.js';
export { decodeRecords, type DataRecord, type DecodedRecords, type RecordFunction } from './records.js';
export type { Quantity } from './vif-tables.js';
export type { RecordError, Vife, VifeMeaning } from './vife-table.js';

/**
 * Decodes the application layer of a long or control frame (from {@link parseTelegram} or the
 * framer). Offsets in records and errors count from the frame's first byte.
 *
 * @throws {MbusDecodeError} see {@link decodeApplicationLayer}.
 */
export function decodeFrame(frame: LongFrame): ApplicationLayer {
  return decodeApplicationLayer(frame.ci, frame.data, LONG_FRAME_DATA_OFFSET);
}
export { bcd, dateTimeF, encodeLongFrame, encodeRecords, manufacturerValue, type FrameSpec, type RecordSpec } from './encoder.js';
