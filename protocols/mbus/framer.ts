/**
 * Incremental framer for M-Bus byte streams, such as the TCP stream of a serial-to-IP gateway,
 * where chunk boundaries have nothing to do with telegram boundaries.
 */
import type { FrameErrorReason } from './errors.js';
import {
  MAX_TELEGRAM_LENGTH,
  rejectionReason,
  scanTelegram,
  telegramOf,
  type ShortFrame,
  type LongFrame,
} from './link-layer.js';

/** What {@link MbusFramer.push} found in the stream, in stream order. */
export type FramerEvent =
  | { readonly type: 'frame'; readonly frame: ShortFrame | LongFrame }
  | { readonly type: 'ack' }
  | {
      readonly type: 'garbage';
      /** The skipped bytes, in stream order (a copy). */
      readonly bytes: Uint8Array;
      /** Why the first of them could not start a telegram. */
      readonly reason: FrameErrorReason;
    };

const ACK_EVENT: FramerEvent = Object.freeze({ type: 'ack' });

/**
 * Splits a byte stream into telegrams. Feed it every chunk in order with {@link push}; it returns
 * the telegrams completed by that chunk, and `garbage` events for bytes that cannot belong to one.
 *
 * A candidate telegram is accepted only once its L fields, checksum and stop byte check out; on
 * failure one byte is skipped and scanning resumes at the next 0x68, 0x10 or 0xE5. A plausible
 * header in noise can therefore delay the telegrams behind it until {@link MAX_TELEGRAM_LENGTH}
 * bytes have arrived, never longer; and an 0xE5 in noise is indistinguishable from an ack.
 *
 * Between pushes it holds at most one incomplete telegram ({@link MAX_TELEGRAM_LENGTH} − 1 bytes)
 * in a fixed buffer. Each emitted frame's `bytes` is a fresh copy the caller may keep.
 */
export class MbusFramer {
  private readonly pending = new Uint8Array(MAX_TELEGRAM_LENGTH);
  private pendingLength = 0;
  private garbage = new Uint8Array(64);
  private garbageLength = 0;
  private garbageReason: FrameErrorReason = 'BAD_START';

  /** Bytes held back as the beginning of a telegram not yet complete. */
  get bufferedBytes(): number {
    return this.pendingLength;
  }

  /** Consumes the next chunk of the stream; the chunk is not retained. */
  push(chunk: Uint8Array): FramerEvent[] {
    const events: FramerEvent[] = [];
    let consumed = 0;

    // Bytes left over from earlier chunks are resolved in the fixed buffer, topping it up from this
    // chunk, so a candidate is always contiguous however the stream was cut.
    while (this.pendingLength > 0) {
      const result = scanTelegram(this.pending, 0, this.pendingLength);
      if (result === 0) {
        if (consumed === chunk.length) break;
        const take = Math.min(MAX_TELEGRAM_LENGTH - this.pendingLength, chunk.length - consumed);
        this.pending.set(chunk.subarray(consumed, consumed + take), this.pendingLength);
        this.pendingLength += take;
        consumed += take;
      } else if (result > 0) {
        this.emit(events, this.pending, 0, result);
        this.dropPending(result);
      } else {
        this.skip(this.pending, 0, 1, result);
        this.dropPending(1);
      }
    }

    if (this.pendingLength === 0) {
      let at = consumed;
      while (at < chunk.length) {
        const result = scanTelegram(chunk, at, chunk.length);
        if (result === 0) break;
        if (result > 0) {
          this.emit(events, chunk, at, result);
          at += result;
        } else {
          let end = at + 1;
          while (end < chunk.length && !isStartByte(chunk[end]!)) end++;
          this.skip(chunk, at, end, result);
          at = end;
        }
      }
      this.pending.set(chunk.subarray(at), 0);
      this.pendingLength = chunk.length - at;
    }

    this.flushGarbage(events);
    return events;
  }

  /**
   * Ends the stream (connection closed): anything held back is returned as garbage with reason
   * `TRUNCATED`, and the framer is ready for a new stream.
   */
  end(): FramerEvent[] {
    const events: FramerEvent[] = [];
    if (this.pendingLength > 0) {
      this.skip(this.pending, 0, this.pendingLength, 0);
      this.pendingLength = 0;
    }
    this.flushGarbage(events);
    return events;
  }

  private emit(events: FramerEvent[], source: Uint8Array, start: number, length: number): void {
    this.flushGarbage(events);
    if (length === 1) {
      events.push(ACK_EVENT);
      return;
    }
    const telegram = telegramOf(source.slice(start, start + length));
    if (telegram.kind !== 'ack') events.push({ type: 'frame', frame: telegram });
  }

  private skip(source: Uint8Array, start: number, end: number, rejection: number): void {
    const length = end - start;
    if (this.garbageLength === 0) this.garbageReason = rejectionReason(rejection);
    if (this.garbageLength + length > this.garbage.length) {
      const grown = new Uint8Array(Math.max(this.garbage.length * 2, this.garbageLength + length));
      grown.set(this.garbage.subarray(0, this.garbageLength));
      this.garbage = grown;
    }
    this.garbage.set(source.subarray(start, end), this.garbageLength);
    this.garbageLength += length;
  }

  private flushGarbage(events: FramerEvent[]): void {
    if (this.garbageLength === 0) return;
    events.push({ type: 'garbage', bytes: this.garbage.slice(0, this.garbageLength), reason: this.garbageReason });
    this.garbageLength = 0;
  }

  private dropPending(count: number): void {
    this.pending.copyWithin(0, count, this.pendingLength);
    this.pendingLength -= count;
  }
}

function isStartByte(byte: number): boolean {
  return byte === 0x68 || byte === 0x10 || byte === 0xe5;
}
