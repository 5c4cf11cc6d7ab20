import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { TransientError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { chunked, createBulkIndexer, type BulkIndexerOptions, type BulkItemResult, type BulkResponse, type IndexOperation } from './bulk.js';

const logger = createLogger({ level: 'silent', name: 'test' });

interface SentAction {
  readonly create?: { _index: string; _id: string };
  readonly index?: { _index: string; _id: string; version: number; version_type: string };
}

/**
 * A scripted {@link BulkTransport}: `answer` decides each item's status (or the whole request's) from
 * the document id and how many times that id was sent. Records every request.
 */
function fakeTransport(answer: (id: string, attempt: number) => number | BulkResponse, delayMs = 0) {
  const requests: Array<{ actions: SentAction[]; documents: unknown[] }> = [];
  const attempts = new Map<string, number>();
  let inFlight = 0;
  let peak = 0;
  return {
    requests,
    peak: () => peak,
    transport: {
      async send(lines: readonly string[]): Promise<BulkResponse> {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        try {
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          const actions = lines.filter((_, i) => i % 2 === 0).map((line) => JSON.parse(line) as SentAction);
          requests.push({ actions, documents: lines.filter((_, i) => i % 2 === 1).map((line) => JSON.parse(line) as unknown) });
          const items: BulkItemResult[] = [];
          for (const action of actions) {
            const id = (action.create ?? action.index)!._id;
            const attempt = (attempts.get(id) ?? 0) + 1;
            attempts.set(id, attempt);
            const status = answer(id, attempt);
            if (typeof status !== 'number') return status;
            items.push(status < 300 ? { status } : { status, error: { type: `error_${status}`, reason: `reason ${status} for ${id}` } });
          }
          return { ok: true, items };
        } finally {
          inFlight -= 1;
        }
      },
    },
  };
}

function indexer(transport: ReturnType<typeof fakeTransport>['transport'], options: Partial<BulkIndexerOptions> = {}) {
  return createBulkIndexer({ transport, logger, registry: new Registry(), initialBackoffMs: 1, maxBackoffMs: 2, ...options });
}

const op = (id: string, version?: number): IndexOperation => ({
  index: 'idx',
  id,
  document: { id, text: 'x'.repeat(10) },
  ...(version === undefined ? {} : { version }),
});

describe('bulk indexer', () => {
  it('writes immutable documents with op_type create and revised ones with their external version', async () => {
    const fake = fakeTransport(() => 201);
    await indexer(fake.transport).write([op('reading-1'), op('device-1', 57)]);
    expect(fake.requests[0]!.actions).toEqual([
      { create: { _index: 'idx', _id: 'reading-1' } },
      { index: { _index: 'idx', _id: 'device-1', version: 57, version_type: 'external' } },
    ]);
    expect(fake.requests[0]!.documents).toEqual([op('reading-1').document, op('device-1').document]);
  });

  it.each([
    [201, undefined, 'created'],
    [200, 4, 'updated'],
    [409, undefined, 'duplicate'],
    [409, 4, 'stale'],
  ] as const)('answers %s for a document with version %s as %s', async (status, version, kind) => {
    const fake = fakeTransport(() => status);
    expect(await indexer(fake.transport).write([op('a', version)])).toEqual([{ kind }]);
  });

  it('returns a 400 for one document as rejected, with the error type and reason, and writes the others', async () => {
    const fake = fakeTransport((id) => (id === 'bad' ? 400 : 201));
    const outcomes = await indexer(fake.transport).write([op('good-1'), op('bad'), op('good-2')]);
    expect(outcomes).toEqual([
      { kind: 'created' },
      { kind: 'rejected', status: 400, errorType: 'error_400', reason: 'reason 400 for bad' },
      { kind: 'created' },
    ]);
  });

  it('sends again only the documents refused with 429 or 5xx, until they are written', async () => {
    const fake = fakeTransport((id, attempt) => {
      if (id === 'busy' && attempt < 3) return 429;
      if (id === 'broken' && attempt < 2) return 503;
      return 201;
    });
    const outcomes = await indexer(fake.transport).write([op('ok'), op('busy'), op('broken')]);
    expect(outcomes).toEqual([{ kind: 'created' }, { kind: 'created' }, { kind: 'created' }]);
    expect(fake.requests.map((r) => r.actions.map((a) => a.create!._id))).toEqual([['ok', 'busy', 'broken'], ['busy', 'broken'], ['busy']]);
  });

  it.each([
    ['429', { ok: false, status: 429, message: 'too many requests' }],
    ['502', { ok: false, status: 502, message: 'bad gateway' }],
    ['no answer', { ok: false, status: undefined, message: 'connect ECONNREFUSED' }],
  ] as const)('retries a whole request that failed with %s', async (_name, failure) => {
    const fake = fakeTransport((id, attempt) => (id === 'a' && attempt === 1 ? failure : 201));
    expect(await indexer(fake.transport).write([op('a'), op('b')])).toEqual([{ kind: 'created' }, { kind: 'created' }]);
    expect(fake.requests.map((r) => r.actions.map((a) => a.create!._id))).toEqual([['a', 'b'], ['a', 'b']]);
  });

  it('fails with a TransientError when documents are still refused after the last retry, and reports unhealthy', async () => {
    const fake = fakeTransport((id) => (id === 'busy' ? 429 : 201));
    const bulk = indexer(fake.transport, { maxRetries: 2 });
    const error = await bulk.write([op('ok'), op('busy')]).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: 'INDEX_BULK_FAILED', retriable: true, message: '1 of 2 documents still failed after 2 retries (items 429 error_429)' });
    expect(fake.requests).toHaveLength(3);
    expect(bulk.health()).toEqual({ healthy: false, detail: error instanceof Error ? error.message : '' });
  });

  it('fails at once on a status it cannot handle, without retrying', async () => {
    const fake = fakeTransport(() => ({ ok: false, status: 403, message: 'cluster_block_exception' }));
    const bulk = indexer(fake.transport);
    await expect(bulk.write([op('a')])).rejects.toThrow('Elasticsearch answered the bulk request with 403: cluster_block_exception');
    expect(fake.requests).toHaveLength(1);
    expect(bulk.health().healthy).toBe(false);
  });

  it('is healthy again once a request succeeds', async () => {
    let down = true;
    const fake = fakeTransport(() => (down ? { ok: false, status: undefined, message: 'socket hang up' } : 201));
    const bulk = indexer(fake.transport, { maxRetries: 0 });
    await expect(bulk.write([op('a')])).rejects.toThrow(TransientError);
    down = false;
    await bulk.write([op('a')]);
    expect(bulk.health()).toEqual({ healthy: true });
  });

  it('cuts a write into requests of at most maxBatchDocs documents, keeps at most maxInFlight in flight, and answers in order', async () => {
    const fake = fakeTransport((id) => (Number(id) % 7 === 0 ? 409 : 201), 5);
    const operations = Array.from({ length: 95 }, (_, i) => op(String(i)));
    const outcomes = await indexer(fake.transport, { maxBatchDocs: 10, maxInFlight: 3 }).write(operations);
    expect(fake.requests.map((r) => r.actions.length).sort((a, b) => b - a)).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 5]);
    expect(fake.peak()).toBe(3);
    expect(outcomes.map((o) => o.kind)).toEqual(operations.map((o) => (Number(o.id) % 7 === 0 ? 'duplicate' : 'created')));
  });

  it('bounds requests in flight across concurrent writes', async () => {
    const fake = fakeTransport(() => 201, 5);
    const bulk = indexer(fake.transport, { maxBatchDocs: 2, maxInFlight: 2 });
    await Promise.all([1, 2, 3].map((w) => bulk.write(Array.from({ length: 6 }, (_, i) => op(`${w}-${i}`)))));
    expect(fake.requests).toHaveLength(9);
    expect(fake.peak()).toBe(2);
  });
});

describe('chunked', () => {
  const item = (bytes: number) => ({ bytes });
  it.each([
    ['by count', [1, 1, 1, 1, 1], 2, 100, [[1, 1], [1, 1], [1]]],
    ['by bytes', [40, 40, 40, 10], 10, 100, [[40, 40], [40, 10]]],
    ['an oversized item alone', [10, 500, 10], 10, 100, [[10], [500], [10]]],
    ['nothing', [], 10, 100, []],
  ])('%s', (_name, sizes, maxDocs, maxBytes, expected) => {
    expect(chunked(sizes.map(item), maxDocs, maxBytes).map((c) => c.map((i) => i.bytes))).toEqual(expected);
  });
});
