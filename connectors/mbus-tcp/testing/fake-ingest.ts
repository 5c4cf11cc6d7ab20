/**
 * Test support: an {@link Ingest} that keeps what it is given in memory, and whose answers a test
 * can delay or fail, to drive a connector without Kafka.
 */
import type { BadInputError } from '../../../core/errors.js';
import type { RejectedInput } from '../../../core/kafka/dead-letter.js';
import { createLogger } from '../../../core/log.js';
import { uplinkIdFor, type AcceptedUplink, type Ingest, type UplinkDraft } from '../../kit/ingest.js';

/** A dead letter the fake was asked to write. */
export interface FakeDeadLetter {
  readonly input: RejectedInput;
  readonly error: BadInputError;
}

export class FakeIngest implements Ingest {
  readonly logger = createLogger({ level: 'silent', name: 'fake-ingest' });
  /** Drafts whose `accept` resolved, in the order they resolved. */
  readonly accepted: UplinkDraft[] = [];
  /** Drafts handed to `accept`, in call order. */
  readonly offered: UplinkDraft[] = [];
  readonly deadLetters: FakeDeadLetter[] = [];
  /** Awaited before each draft is accepted; throw from it to fail the write. Default: accept at once. */
  beforeAccept: (draft: UplinkDraft) => Promise<void> = async () => undefined;
  /** Awaited before each dead letter is kept; throw from it to fail the write. */
  beforeReject: (input: RejectedInput, error: BadInputError) => Promise<void> = async () => undefined;

  async accept(drafts: readonly UplinkDraft[]): Promise<AcceptedUplink[]> {
    this.offered.push(...drafts);
    for (const draft of drafts) await this.beforeAccept(draft);
    this.accepted.push(...drafts);
    return drafts.map((d) => ({ uplinkId: uplinkIdFor(d.idempotencyKey), idempotencyKey: d.idempotencyKey }));
  }

  async reject(input: RejectedInput, error: BadInputError): Promise<void> {
    await this.beforeReject(input, error);
    this.deadLetters.push({ input, error });
  }

  pressure() {
    return { inFlight: 0, limit: 10_000 };
  }
}

/** A promise with its resolve and reject exposed, for holding a fake's answer until a test releases it. */
export function deferred(): { promise: Promise<void>; resolve(): void; reject(err: unknown): void } {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
