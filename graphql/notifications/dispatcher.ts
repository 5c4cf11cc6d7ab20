/**
 * Sends queued deliveries: claims due ones under a lease, sends each through its channel, and
 * records the outcome — sent, queued again after a backoff, or failed with the reason once the
 * attempts are used up or the receiver refused for good. Any number of dispatchers may run against
 * one database (`FOR UPDATE SKIP LOCKED`); a delivery can be sent twice only when a dispatcher dies
 * between sending and recording, which is why webhooks carry the delivery id as `Idempotency-Key`.
 */
import type pg from 'pg';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { ChannelSender } from './channels.js';
import { retryDelayMs, type AttemptOutcome, type RetryPolicy } from './model.js';
import { claimDue, completeAttempt, type ClaimedDelivery, type Completion } from './store.js';

/** Options of {@link createDispatcher}. */
export interface DispatcherOptions {
  readonly db: pg.Pool;
  readonly logger: Logger;
  readonly webhook: ChannelSender;
  /** `undefined` when no SMTP server is configured: e-mail deliveries then fail with that reason. */
  readonly email: ChannelSender | undefined;
  readonly retry: RetryPolicy;
  /**
   * Longest idle wait before looking for due deliveries again (retries come due this way).
   * @default 1000
   */
  readonly pollIntervalMs?: number;
  /**
   * Deliveries claimed and sent concurrently.
   * @default 16
   */
  readonly batchSize?: number;
  /**
   * How long a claimed delivery stays reserved; must exceed the slowest channel's timeout.
   * @default 60000
   */
  readonly leaseMs?: number;
  /** Called after every recorded attempt (metrics). */
  readonly onAttempt?: (delivery: ClaimedDelivery, completion: Completion) => void;
}

/** A running dispatcher. */
export interface Dispatcher {
  start(): Promise<void>;
  /** Looks for due deliveries now instead of at the next poll. */
  wake(): void;
  /** Finishes the attempts in flight, then stops; idempotent and safe before start. */
  stop(): Promise<void>;
}

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const logger = options.logger.child({ component: 'notification-dispatcher' });
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const batchSize = options.batchSize ?? 16;
  const leaseMs = options.leaseMs ?? 60_000;
  let running = false;
  let loop: Promise<void> | undefined;
  let wakeUp: (() => void) | undefined;
  let woken = false;

  async function attempt(delivery: ClaimedDelivery): Promise<void> {
    const sender = delivery.channel === 'webhook' ? options.webhook : options.email;
    let outcome: AttemptOutcome;
    if (sender === undefined) outcome = { ok: false, retriable: false, reason: 'no SMTP server is configured (SMTP_URL)' };
    else {
      try {
        outcome = await sender.send({ ...delivery });
      } catch (err) {
        outcome = { ok: false, retriable: true, reason: errorMessage(err) };
      }
    }
    const delayMs = outcome.ok || !outcome.retriable ? undefined : retryDelayMs(options.retry, delivery.attempt);
    const completion: Completion = outcome.ok
      ? { kind: 'sent' }
      : delayMs === undefined
        ? { kind: 'failed', reason: outcome.reason }
        : { kind: 'retry', reason: outcome.reason, delayMs };
    await completeAttempt(options.db, delivery, completion);
    if (completion.kind !== 'sent') {
      logger.info({ deliveryId: delivery.id, channel: delivery.channel, attempt: delivery.attempt, outcome: completion.kind, reason: completion.reason },
        'delivery attempt failed');
    }
    options.onAttempt?.(delivery, completion);
  }

  function idle(ms: number): Promise<void> {
    if (woken) {
      woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (running) {
      try {
        woken = false;
        const claimed = await claimDue(options.db, batchSize, leaseMs);
        // A failure to record one outcome must not stop the others; its lease lets it be retried later.
        const results = await Promise.allSettled(claimed.map(attempt));
        for (const result of results) {
          if (result.status === 'rejected') logger.warn({ err: result.reason }, 'could not record a delivery attempt');
        }
        failures = 0;
        if (claimed.length < batchSize) await idle(pollIntervalMs);
      } catch (err) {
        failures += 1;
        logger.warn({ err, failures }, 'cannot claim deliveries; retrying');
        await idle(Math.min(30_000, pollIntervalMs * 2 ** Math.min(failures, 5)));
      }
    }
  }

  return {
    async start() {
      if (running) return;
      running = true;
      loop = run();
    },
    wake() {
      woken = true;
      wakeUp?.();
    },
    async stop() {
      running = false;
      wakeUp?.();
      await loop;
      loop = undefined;
      await options.webhook.close();
      await options.email?.close();
    },
  };
}
