/**
 * The Elasticsearch client as the indexing worker uses it: created without the client's own
 * retries (the bulk indexer retries with backoff, and two retry layers would multiply), a bulk
 * transport for the indexer, and a start-up probe.
 */
import { Client, errors } from '@elastic/elasticsearch';
import { ServiceUnavailableError } from '../../core/errors.js';
import type { BulkItemResult, BulkResponse, BulkTransport } from './bulk.js';

/** Options of {@link createElasticsearchClient}. */
export interface ElasticsearchClientOptions {
  /** Base URL; credentials may be in it (`config.elasticsearch.url`). */
  readonly url: string;
  /**
   * How long one request may take before it counts as failed (and is retried by the caller).
   * @default 30000
   */
  readonly requestTimeoutMs?: number;
}

/** Creates a client that never retries by itself. Close it with `client.close()`. */
export function createElasticsearchClient(options: ElasticsearchClientOptions): Client {
  return new Client({ node: options.url, maxRetries: 0, requestTimeout: options.requestTimeoutMs ?? 30_000 });
}

// Only what the indexer reads: a smaller answer to parse for every bulk request.
const BULK_FILTER = ['items.*.status', 'items.*.error.type', 'items.*.error.reason'];

/** A {@link BulkTransport} over `client.bulk`, sending pre-serialized lines as they are. */
export function elasticsearchBulk(client: Client): BulkTransport {
  return {
    async send(lines) {
      try {
        // The client joins string lines with newlines and does not serialize them again.
        const response = await client.bulk({ operations: lines as unknown as object[], filter_path: BULK_FILTER });
        const items: BulkItemResult[] = (response.items ?? []).map((item) => {
          const result = Object.values(item)[0]!;
          return result.error ? { status: result.status, error: { type: result.error.type, reason: result.error.reason ?? '' } } : { status: result.status };
        });
        return { ok: true, items };
      } catch (err) {
        return requestFailure(err);
      }
    },
  };
}

function requestFailure(err: unknown): BulkResponse {
  if (err instanceof errors.ResponseError) return { ok: false, status: err.meta.statusCode ?? undefined, message: err.message };
  if (err instanceof errors.ConnectionError || err instanceof errors.TimeoutError || err instanceof errors.NoLivingConnectionsError) {
    return { ok: false, status: undefined, message: err.message };
  }
  throw err;
}

/**
 * Start-up probe: asks for the cluster health (`GET /_cluster/health`, which every distribution
 * answers; `GET /` is refused by the integration-test one).
 *
 * @throws {ServiceUnavailableError} when Elasticsearch does not answer, or answers red.
 */
export async function checkElasticsearch(client: Client, url: string, timeoutMs = 2000): Promise<void> {
  const address = withoutCredentials(url);
  let status: string;
  try {
    ({ status } = await client.cluster.health({ timeout: `${timeoutMs}ms` }, { requestTimeout: timeoutMs }));
  } catch (cause) {
    throw new ServiceUnavailableError({ service: 'Elasticsearch', address, cause, context: { service: 'elasticsearch' } });
  }
  if (status === 'red') {
    throw new ServiceUnavailableError({
      service: 'Elasticsearch',
      address,
      detail: 'cluster health is red',
      hint: 'Check the cluster (GET /_cluster/health).',
      context: { service: 'elasticsearch' },
    });
  }
}

function withoutCredentials(raw: string): string {
  const url = new URL(raw);
  url.username = '';
  url.password = '';
  return url.toString().replace(/\/+$/, '');
}
