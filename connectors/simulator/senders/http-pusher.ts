/**
 * A head-end system pushing decoded readings over HTTP: batches to `POST /v1/uplinks` with an
 * `Idempotency-Key`, retried with the same key on network errors, 429 and 5xx (honouring
 * `Retry-After`), so a retry never duplicates.
 *
 * Faults: a `duplicate` push sends the acknowledged batch once more with the same
 * `Idempotency-Key` (a client that lost the answer), counted as duplicates; `garbage` posts a body
 * that is not JSON, which the connector answers 400 and dead-letters.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { countsOf, type Ledger } from '../ledger.js';

export interface HttpPusher {
  push(uplinks: ReadonlyArray<Record<string, unknown>>, options?: { readonly duplicate?: boolean }): void;
  /** Posts a body that is not JSON. */
  garbage(): void;
  pending(): number;
  close(): Promise<void>;
}

export function createHttpPusher(options: { baseUrl: string; token: string; ledger: Ledger; logger: Logger }): HttpPusher {
  const counts = countsOf(options.ledger, 'http');
  const inFlight = new Set<Promise<void>>();
  let closed = false;

  async function deliver(uplinks: ReadonlyArray<Record<string, unknown>>, duplicate: boolean): Promise<void> {
    const key = randomUUID();
    if (await post(uplinks, key, 'acknowledged') && duplicate) {
      counts.duplicates += uplinks.length;
      await post(uplinks, key, 'duplicate');
    }
  }

  /** Posts until answered (202 or a refusal); true for 202. A duplicate's answers are not counted. */
  async function post(uplinks: ReadonlyArray<Record<string, unknown>>, key: string, as: 'acknowledged' | 'duplicate'): Promise<boolean> {
    for (let attempt = 0; !closed || attempt === 0; attempt++) {
      try {
        const response = await fetch(`${options.baseUrl}/v1/uplinks`, {
          method: 'POST',
          headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify({ uplinks }),
        });
        await response.arrayBuffer();
        if (response.status === 202) {
          if (as === 'acknowledged') counts.acknowledged += uplinks.length;
          return true;
        }
        if (response.status < 500 && response.status !== 429) {
          if (as === 'acknowledged') counts.refused += uplinks.length;
          options.logger.warn({ status: response.status }, 'HTTP ingest refused a simulated batch');
          return false;
        }
        const retryAfterS = Number(response.headers.get('retry-after') ?? '1');
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, retryAfterS * 1000)));
      } catch {
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** attempt)));
      }
      if (as === 'acknowledged') counts.resent += uplinks.length;
    }
    return false;
  }

  function track(delivery: Promise<unknown>): void {
    const tracked = delivery.then(() => undefined, () => undefined).finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }

  return {
    push(uplinks, { duplicate = false } = {}) {
      counts.sent += uplinks.length;
      track(deliver(uplinks, duplicate));
    },
    garbage() {
      counts.garbage++;
      track(
        fetch(`${options.baseUrl}/v1/uplinks`, {
          method: 'POST',
          headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
          body: '{"uplinks": [{"deviceId": ',
        }).then((response) => response.arrayBuffer()),
      );
    },
    pending: () => inFlight.size,
    async close() {
      // Deliveries finish their current attempt and stop retrying.
      closed = true;
      await Promise.allSettled([...inFlight]);
    },
  };
}
