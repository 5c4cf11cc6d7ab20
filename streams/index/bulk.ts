/**
 * Bulk indexing with backpressure and retries, independent of the client library: the worker hands
 * it every operation of a consumed batch and gets one outcome per operation, in order, once
 * Elasticsearch has acknowledged all of them. Only then does the consumer commit offsets.
 *
 * - Operations are cut into requests of at most `maxBatchDocs` documents and `maxBatchBytes` bytes.
 * - At most `maxInFlight` requests are in flight per indexer, whichever batch they belong to; a
 *   caller whose requests cannot start yet waits, which stops it consuming (backpressure).
 * - 429 and 5xx, for a whole request (or a lost connection) or for single items, are retried with
 *   exponential backoff and jitter; only the items that failed are sent again.
 * - 409 is success: a `create` of a document that exists is a replay (`duplicate`), an external
 *   version not above the stored one is an older revision (`stale`). Requests run in parallel, so
 *   operations on one id may land in any order; `create` and external versions make the order
 *   irrelevant.
 * - 400 for an item is the document's fault (mapping or parse failure) and is returned as
 *   `rejected` for the caller to dead-letter; any other status fails the whole write.
 */
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { TransientError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { ComponentHealth } from '../../core/metrics.js';
import { Semaphore } from './semaphore.js';

/** One document to write. */
export interface IndexOperation {
  readonly index: string;
  readonly id: string;
  /**
   * External version (the record's `revision`): written with `version_type: external`, so an older
   * revision never replaces a newer one. Absent for immutable documents, written with `op_type: create`.
   */
  readonly version?: number;
  readonly document: object;
}

/** What Elasticsearch answered for one item of a bulk request. */
export interface BulkItemResult {
  readonly status: number;
  readonly error?: { readonly type: string; readonly reason?: string };
}

/**
 * The answer to one bulk request: per-item results in request order, or a failure of the whole
 * request with its HTTP status (`undefined` when no answer arrived: connection lost, timeout).
 */
export type BulkResponse =
  | { readonly ok: true; readonly items: readonly BulkItemResult[] }
  | { readonly ok: false; readonly status: number | undefined; readonly message: string };

/** Sends one bulk request body (action and document lines, NDJSON without the newlines). */
export interface BulkTransport {
  send(lines: readonly string[]): Promise<BulkResponse>;
}

/** The outcome of one operation, once Elasticsearch has acknowledged it. */
export type ItemOutcome =
  | { readonly kind: 'created' | 'updated' | 'duplicate' | 'stale' }
  | { readonly kind: 'rejected'; readonly status: number; readonly errorType: string; readonly reason: string };

/** Options of {@link createBulkIndexer}. */
export interface BulkIndexerOptions {
  readonly transport: BulkTransport;
  readonly logger: Logger;
  /** Receives the indexer's metrics (`meterflux_index_bulk_*`). */
  readonly registry: Registry;
  /**
   * Most documents in one bulk request.
   * @default 5000
   */
  readonly maxBatchDocs?: number;
  /**
   * Most bytes in one bulk request body; a single larger document goes alone.
   * @default 5242880 (5 MiB)
   */
  readonly maxBatchBytes?: number;
  /**
   * Most bulk requests in flight at once, across every caller of this indexer.
   * @default 4
   */
  readonly maxInFlight?: number;
  /**
   * Retries of a request or item that failed with 429 or 5xx before the write fails. With the
   * default backoff the retries of one write end within about 12 s, well inside the consumer's
   * 30 s session timeout (a consumer does not heartbeat while its batch waits).
   * @default 6
   */
  readonly maxRetries?: number;
  /**
   * First backoff; it doubles with each retry, with jitter, up to `maxBackoffMs`.
   * @default 200
   */
  readonly initialBackoffMs?: number;
  /** @default 5000 */
  readonly maxBackoffMs?: number;
}

/** A running indexer; one per process, shared by every consumer. */
export interface BulkIndexer {
  /**
   * Writes `operations` and resolves with one outcome per operation, in order, after
   * Elasticsearch acknowledged every one of them.
   *
   * @throws {TransientError} (`INDEX_BULK_FAILED`) when requests or items still fail after
   *   `maxRetries`, or Elasticsearch answered a status that is neither success, 409, 400, 429 nor
   *   5xx. Nothing is known about which documents were written; writing them again is safe.
   */
  write(operations: readonly IndexOperation[]): Promise<ItemOutcome[]>;
  /** Unhealthy from a failed request until the next request succeeds. */
  health(): ComponentHealth;
}

interface Encoded {
  readonly position: number;
  readonly action: string;
  readonly source: string;
  readonly bytes: number;
  readonly create: boolean;
}

export function createBulkIndexer(options: BulkIndexerOptions): BulkIndexer {
  const { transport, logger: parent } = options;
  const maxBatchDocs = options.maxBatchDocs ?? 5000;
  const maxBatchBytes = options.maxBatchBytes ?? 5 * 1024 * 1024;
  const maxRetries = options.maxRetries ?? 6;
  const initialBackoffMs = options.initialBackoffMs ?? 200;
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  const semaphore = new Semaphore(options.maxInFlight ?? 4);
  const logger = parent.child({ component: 'bulk' });
  const metrics = createMetrics(options.registry);
  let lastFailure: string | undefined;

  async function request(items: readonly Encoded[]): Promise<BulkResponse> {
    return semaphore.run(async () => {
      metrics.inFlight.inc();
      const started = performance.now();
      try {
        const lines: string[] = [];
        for (const item of items) lines.push(item.action, item.source);
        const response = await transport.send(lines);
        const result = response.ok ? 'ok' : `http_${response.status ?? 'none'}`;
        metrics.seconds.observe({ result }, (performance.now() - started) / 1000);
        if (response.ok && response.items.length !== items.length) {
          throw new TransientError(`bulk answered ${response.items.length} items for ${items.length} operations`, {
            code: 'INDEX_BULK_FAILED',
          });
        }
        lastFailure = response.ok ? undefined : `bulk request failed: ${response.status ?? 'no answer'} ${response.message}`;
        return response;
      } finally {
        metrics.inFlight.dec();
      }
    });
  }

  /** Sends one chunk until every item has an outcome; items only, never the whole chunk, are resent. */
  async function writeChunk(chunk: readonly Encoded[], outcomes: ItemOutcome[]): Promise<void> {
    let pending = chunk;
    for (let attempt = 0; ; attempt++) {
      const response = await request(pending);
      let retry: Encoded[];
      let why: string;
      if (!response.ok) {
        if (!isRetriable(response.status)) throw failure(`Elasticsearch answered the bulk request with ${response.status}: ${response.message}`);
        retry = [...pending];
        why = `request ${response.status ?? 'without answer'}: ${response.message}`;
      } else {
        retry = [];
        const reasons = new Set<string>();
        for (const [i, result] of response.items.entries()) {
          const item = pending[i]!;
          const outcome = classify(result, item.create);
          if (outcome === 'fail') {
            throw failure(`Elasticsearch answered ${result.status} ${result.error?.type ?? ''} for a document: ${result.error?.reason ?? ''}`);
          }
          if (outcome === 'retry') {
            retry.push(item);
            reasons.add(`${result.status} ${result.error?.type ?? ''}`.trim());
          } else {
            outcomes[item.position] = outcome;
          }
        }
        why = `items ${[...reasons].join(', ')}`;
      }
      if (retry.length === 0) return;
      if (attempt >= maxRetries) {
        throw failure(`${retry.length} of ${chunk.length} documents still failed after ${maxRetries} retries (${why})`);
      }
      const delayMs = backoff(attempt);
      metrics.retries.inc(retry.length);
      logger.warn({ documents: retry.length, attempt: attempt + 1, delayMs, why }, 'retrying bulk documents');
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      pending = retry;
    }
  }

  function backoff(attempt: number): number {
    const ceiling = Math.min(maxBackoffMs, initialBackoffMs * 2 ** attempt);
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  return {
    async write(operations) {
      const outcomes = new Array<ItemOutcome>(operations.length);
      const chunks = chunked(operations.map(encode), maxBatchDocs, maxBatchBytes);
      // Settle every chunk before failing, so no request of this write is still running when the caller retries it.
      const settled = await Promise.allSettled(chunks.map((chunk) => writeChunk(chunk, outcomes)));
      const failed = settled.find((result) => result.status === 'rejected');
      if (failed) {
        lastFailure = (failed.reason as Error).message;
        throw failed.reason;
      }
      return outcomes;
    },
    health() {
      return lastFailure === undefined ? { healthy: true } : { healthy: false, detail: lastFailure };
    },
  };
}

function encode(operation: IndexOperation, position: number): Encoded {
  const create = operation.version === undefined;
  const action = JSON.stringify(
    create
      ? { create: { _index: operation.index, _id: operation.id } }
      : { index: { _index: operation.index, _id: operation.id, version: operation.version, version_type: 'external' } },
  );
  const source = JSON.stringify(operation.document);
  // Plus the two newlines of the NDJSON body.
  const bytes = Buffer.byteLength(action) + Buffer.byteLength(source) + 2;
  return { position, action, source, bytes, create };
}

/** Cuts operations into requests of at most `maxDocs` documents and `maxBytes` bytes, in order. */
export function chunked<T extends { readonly bytes: number }>(items: readonly T[], maxDocs: number, maxBytes: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length > 0 && (current.length >= maxDocs || bytes + item.bytes > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function isRetriable(status: number | undefined): boolean {
  return status === undefined || status === 429 || status >= 500;
}

/** An item's outcome, `retry` for a transient refusal, `fail` for one nothing here can handle. */
function classify(result: BulkItemResult, create: boolean): ItemOutcome | 'retry' | 'fail' {
  const { status } = result;
  if (status === 201) return CREATED;
  if (status === 200) return UPDATED;
  if (status === 409) return create ? DUPLICATE : STALE;
  if (status === 400) {
    return { kind: 'rejected', status, errorType: result.error?.type ?? 'unknown', reason: result.error?.reason ?? '' };
  }
  return isRetriable(status) ? 'retry' : 'fail';
}

const CREATED: ItemOutcome = { kind: 'created' };
const UPDATED: ItemOutcome = { kind: 'updated' };
const DUPLICATE: ItemOutcome = { kind: 'duplicate' };
const STALE: ItemOutcome = { kind: 'stale' };

function failure(message: string): TransientError {
  return new TransientError(message, { code: 'INDEX_BULK_FAILED' });
}

function createMetrics(registry: Registry) {
  return {
    seconds: new Histogram({
      name: 'meterflux_index_bulk_request_seconds',
      help: 'Duration of bulk requests to Elasticsearch, by result (ok, or http_<status> for a failed request).',
      labelNames: ['result'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'meterflux_index_bulk_in_flight',
      help: 'Bulk requests to Elasticsearch in flight.',
      registers: [registry],
    }),
    retries: new Counter({
      name: 'meterflux_index_bulk_retried_documents_total',
      help: 'Documents sent again after a 429, a 5xx or a lost connection.',
      registers: [registry],
    }),
  };
}
