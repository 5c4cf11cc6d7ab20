/**
 * A head-end system pushing decoded readings over HTTP: batches to `POST /v1/uplinks` with an
 * `Idempotency-Key`, retried with the same key on network errors, 429 and 5xx (honouring
 * `Retry-After`), so a retry never duplicates.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { countsOf, type Ledger } from '../ledger.js';

export interface HttpPusher {
  push(uplinks: ReadonlyArray<Record<string, unknown>>): void;
  pending(): number;
  close(): Promise<void>;
}

export function createHttpPusher(options: { baseUrl: string; token: string; ledger: Ledger; logger: Logger }): HttpPusher {
  const counts = countsOf(options.ledger, 'http');
  const inFlight = new Set<Promise<void>>();
  let closed = false;

  async function deliver(uplinks: ReadonlyArray<Record<string, unknown>>): Promise<void> {
    const key = randomUUID();
    for (let attempt = 0; !closed || attempt === 0; attempt++) {
      try {
        const response = await fetch(`${options.baseUrl}/v1/uplinks`, {
          method: 'POST',
          headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify({ uplinks }),
        });
        await response.arrayBuffer();
        if (response.status === 202) {
          counts.acknowledged += uplinks.length;
          return;
        }
        if (response.status < 500 && response.status !== 429) {
          counts.refused += uplinks.length;
          options.logger.warn({ status: response.status }, 'HTTP ingest refused a simulated batch');
          return;
        }
        const retryAfterS = Number(response.headers.get('retry-after') ?? '1');
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, retryAfterS * 1000)));
      } catch {
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** attempt)));
      }
      counts.resent += uplinks.length;
    }
  }

  return {
    push(uplinks) {
      counts.sent += uplinks.length;
      const delivery = deliver(uplinks).finally(() => inFlight.delete(delivery));
      inFlight.add(delivery);
    },
    pending: () => inFlight.size,
    async close() {
      // Deliveries finish their current attempt and stop retrying.
      closed = true;
      await Promise.allSettled([...inFlight]);
    },
  };
}
