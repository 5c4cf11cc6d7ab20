/**
 * One gateway connection: frames its byte stream, hands each meter frame to the ingest, and answers
 * the gateway with one byte per frame, in frame order, once Kafka has the frame (README: "Answers").
 * Transport-agnostic: the socket is behind {@link GatewayLink}.
 */
import type { Logger } from 'pino';
import { BadInputError } from '../../core/errors.js';
import { MbusFramer, type FramerEvent } from '../../protocols/mbus/index.js';
import type { Ingest, UplinkDraft } from '../kit/ingest.js';
import { GarbageSplitter, type GarbagePiece } from './garbage.js';
import type { CloseReason, MbusTcpMetrics } from './metrics.js';
import { judgeFrame, judgeGarbage, rejectDraft, type GatewayOrigin, type Rejection } from './uplinks.js';

/** Answer to a frame Kafka acknowledged: EN 13757-2's single-character acknowledgement. */
export const STORED_REPLY = 0xe5;
/** Answer to a frame refused and dead-lettered: ASCII NAK, as EN 13757-2 has no negative answer. */
export const REJECTED_REPLY = 0x15;

/** The connection as the session sees it; the source adapts a node:net socket to it. */
export interface GatewayLink {
  write(bytes: Uint8Array): void;
  /** Stop delivering input until {@link resume}. */
  pause(): void;
  resume(): void;
  /** Close once everything written has been sent. */
  end(): void;
  /** Close now, dropping anything unsent. */
  destroy(): void;
}

/** What a {@link GatewaySession} needs. */
export interface GatewaySessionOptions {
  readonly link: GatewayLink;
  readonly origin: GatewayOrigin;
  readonly ingest: Ingest;
  readonly metrics: MbusTcpMetrics;
  /** Logger with the connection's coordinates bound. */
  readonly logger: Logger;
  /** Consecutive bad inputs after which the connection is closed. */
  readonly maxErrors: number;
  /** Frames awaiting their answer above which input is paused. */
  readonly maxPendingFrames: number;
}

type Answer =
  | { readonly kind: 'stored' }
  | { readonly kind: 'rejected'; readonly reason: string }
  | { readonly kind: 'silent' }
  | { readonly kind: 'unstored' };

const STORED: Answer = { kind: 'stored' };
const SILENT: Answer = { kind: 'silent' };
const UNSTORED: Answer = { kind: 'unstored' };

/**
 * The protocol state of one connection. The source feeds it with {@link receive} and {@link finish}
 * and tells it when the link is gone with {@link lost}; the session decides what to answer and when
 * to close.
 */
export class GatewaySession {
  /** Why the connection was closed; `undefined` while open, and when the gateway reset it. */
  closeReason: CloseReason | undefined;

  private readonly framer = new MbusFramer();
  private readonly garbage = new GarbageSplitter();
  /** Answers are delivered along this chain, so they leave in frame order whenever Kafka answers. */
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  private consecutiveErrors = 0;
  private reading = true;
  private paused = false;
  /** Nothing more may be written: the link was ended, destroyed or lost. */
  private silenced = false;
  private outgoing: number[] = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly options: GatewaySessionOptions) {}

  /** Takes the next chunk of the gateway's byte stream, however it is cut. */
  receive(chunk: Uint8Array): void {
    if (this.reading) this.guard(() => this.handle(this.framer.push(chunk)));
  }

  /** The gateway has sent everything (TCP FIN): a telegram it cut off is answered as truncated. */
  finish(): void {
    if (this.reading) {
      this.guard(() => {
        this.handle(this.framer.end());
        this.rejectGarbage(this.garbage.flush());
      });
    }
    void this.close('peer');
  }

  /**
   * Stops reading, answers every frame already read once Kafka has it, then ends the connection.
   * Idempotent; resolves when the last answer has been handed to the link.
   */
  close(reason: CloseReason): Promise<void> {
    this.closing ??= this.closeAfterAnswers(reason);
    return this.closing;
  }

  /** Drops the connection now; frames not yet answered stay unanswered, so the gateway re-sends them. */
  destroy(reason: CloseReason): void {
    this.closeReason ??= reason;
    this.reading = false;
    this.silenced = true;
    this.options.link.destroy();
  }

  /** The link is gone (closed by either side): nothing more can be written. */
  lost(): void {
    this.reading = false;
    this.silenced = true;
  }

  private async closeAfterAnswers(reason: CloseReason): Promise<void> {
    this.closeReason ??= reason;
    this.reading = false;
    this.options.link.pause();
    await this.tail;
    this.end();
  }

  private handle(events: readonly FramerEvent[]): void {
    const { metrics, origin } = this.options;
    for (const event of events) {
      if (!this.reading) return;
      if (event.type === 'garbage') {
        metrics.garbageBytes.inc(event.bytes.length);
        this.rejectGarbage(this.garbage.push(event.bytes));
        continue;
      }
      this.rejectGarbage(this.garbage.flush());
      if (!this.reading) return;
      if (event.type === 'ack' || event.frame.kind === 'short') {
        // Link-layer traffic (a master's request, a meter's E5): no meter data, nothing to store or answer.
        metrics.frames.inc({ outcome: 'ignored' });
      } else {
        const verdict = judgeFrame(event.frame, origin);
        if (verdict.kind === 'uplink') {
          metrics.frames.inc({ outcome: 'uplink' });
          this.consecutiveErrors = 0;
          this.enqueue(this.store(verdict.draft));
        } else {
          metrics.frames.inc({ outcome: 'rejected' });
          this.enqueue(this.reject(verdict.rejection));
          this.countError();
        }
      }
    }
  }

  private rejectGarbage(pieces: readonly GarbagePiece[]): void {
    for (const piece of pieces) {
      if (!this.reading) return;
      this.enqueue(this.reject(judgeGarbage(piece, this.options.origin)));
      this.countError();
    }
  }

  private async store(draft: UplinkDraft): Promise<Answer> {
    try {
      await this.options.ingest.accept([draft]);
      return STORED;
    } catch (err) {
      if (err instanceof BadInputError) return this.reject(rejectDraft(draft, err, this.options.origin));
      // Retriable or unknown: the frame may not be in Kafka, so it must not be acknowledged.
      return UNSTORED;
    }
  }

  private async reject({ input, error, answerable }: Rejection): Promise<Answer> {
    try {
      await this.options.ingest.reject(input, error);
      return answerable ? { kind: 'rejected', reason: error.reason } : SILENT;
    } catch (err) {
      // A NACK promises the bytes are kept, so without the dead letter the frame is left unanswered
      // for the gateway to send again; unanswerable garbage cannot be sent again and is lost.
      this.options.logger.error({ err, reason: error.reason }, 'dead-lettering refused M-Bus input failed');
      return answerable ? UNSTORED : SILENT;
    }
  }

  private enqueue(answer: Promise<Answer>): void {
    this.pending++;
    if (this.pending >= this.options.maxPendingFrames && !this.paused) {
      this.paused = true;
      this.options.link.pause();
    }
    const previous = this.tail;
    this.tail = Promise.all([answer, previous]).then(([settled]) => {
      this.pending--;
      this.deliver(settled);
      if (this.paused && this.reading && this.pending <= this.options.maxPendingFrames / 2) {
        this.paused = false;
        this.options.link.resume();
      }
    });
  }

  private deliver(answer: Answer): void {
    if (this.silenced) return;
    const { metrics, logger } = this.options;
    switch (answer.kind) {
      case 'stored':
        metrics.acks.inc();
        this.send(STORED_REPLY);
        break;
      case 'rejected':
        metrics.nacks.inc({ reason: answer.reason });
        this.send(REJECTED_REPLY);
        break;
      case 'unstored':
        // Answers must stay in frame order, so after a gap none can follow: end the connection, and
        // the gateway re-sends every frame it holds no answer for.
        logger.warn('Kafka did not take a frame; closing the gateway connection without answering it');
        this.closeReason ??= 'write-failed';
        this.reading = false;
        this.end();
        break;
      case 'silent':
        break;
    }
  }

  /** Answers leaving together go out in one write; Nagle is off, so each write is a packet. */
  private send(byte: number): void {
    this.outgoing.push(byte);
    if (this.outgoing.length === 1) setImmediate(() => this.flush());
  }

  private flush(): void {
    if (this.outgoing.length === 0 || this.silenced) return;
    this.options.link.write(Uint8Array.from(this.outgoing));
    this.outgoing = [];
  }

  private end(): void {
    if (this.silenced) return;
    this.flush();
    this.silenced = true;
    this.options.link.end();
  }

  private countError(): void {
    this.consecutiveErrors++;
    if (this.consecutiveErrors < this.options.maxErrors) return;
    this.options.logger.warn({ errors: this.consecutiveErrors }, 'closing a gateway connection that sends nothing valid');
    void this.close('errors');
  }

  /** A bug in the handling of one connection closes that connection, never the connector. */
  private guard(work: () => void): void {
    try {
      work();
    } catch (err) {
      this.options.logger.error({ err }, 'handling gateway input failed; dropping the connection');
      this.destroy('internal-error');
    }
  }
}
