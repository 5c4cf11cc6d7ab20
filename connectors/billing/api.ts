/**
 * The HTTP pull API for billing systems (README.md, "Pull API"). Every request carries
 * `Authorization: Bearer <token>` of a registry API token (`api_tokens`, verified as the HTTP
 * ingest verifies them); a token sees only its own organisation's batches. Reading needs scope
 * `read`, acknowledging `write` (`admin` allows both).
 *
 *   GET  /v1/batches?after=<cursor>&limit=<n>&unacknowledged=true
 *   GET  /v1/batches/<id>
 *   GET  /v1/batches/<id>/file
 *   POST /v1/batches/<id>/ack            optional body {"checksumSha256": "<hex>"}
 *   GET  /v1/problems?resolved=true
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from 'pg';
import type { Logger } from '../../core/log.js';
import { bearerSecret, secretHash, type TokenLookup, type TokenRecord } from '../http/auth.js';
import { acknowledgeBatch, batchFile, getBatch, listBatches, listProblems } from './store.js';

/** Options of {@link startPullApi}. */
export interface PullApiOptions {
  /** 0 picks a free port (see {@link PullApi.port}). */
  readonly port: number;
  /** @default all interfaces */
  readonly host?: string;
  readonly pool: Pool;
  readonly tokens: TokenLookup;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

/** A listening pull API. */
export interface PullApi {
  readonly port: number;
  /** Stops listening and closes open connections; idempotent. */
  close(): Promise<void>;
}

const MAX_LIMIT = 1000;
const MAX_BODY_BYTES = 4096;

class HttpProblem extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

/** Which scope a request needs. */
function requiredScope(method: string): 'read' | 'write' {
  return method === 'POST' ? 'write' : 'read';
}

function authorise(record: TokenRecord | undefined, scope: 'read' | 'write', nowMs: number): TokenRecord {
  const challenge = { 'www-authenticate': 'Bearer realm="meterflux-billing"' };
  if (record === undefined) throw new HttpProblem(401, 'UNAUTHENTICATED', 'the bearer token is not known', challenge);
  if (record.revokedAt !== null && record.revokedAt <= nowMs) throw new HttpProblem(401, 'UNAUTHENTICATED', 'the bearer token was revoked', challenge);
  if (record.expiresAt !== null && record.expiresAt <= nowMs) throw new HttpProblem(401, 'UNAUTHENTICATED', 'the bearer token expired', challenge);
  if (!record.scopes.includes(scope) && !record.scopes.includes('admin')) {
    throw new HttpProblem(403, 'FORBIDDEN', `the bearer token has scopes [${record.scopes.join(', ')}]; this request needs "${scope}"`);
  }
  return record;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpProblem(413, 'BODY_TOO_LARGE', `expected a body of at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function integerParam(url: URL, name: string, fallback: bigint, max?: bigint): bigint {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d{1,18}$/.test(raw)) throw new HttpProblem(400, 'BAD_PARAMETER', `${name}: expected a non-negative integer, got "${raw.slice(0, 40)}"`);
  const value = BigInt(raw);
  if (max !== undefined && (value > max || value === 0n)) throw new HttpProblem(400, 'BAD_PARAMETER', `${name}: expected 1 to ${max}, got ${raw}`);
  return value;
}

function booleanParam(url: URL, name: string): boolean {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  throw new HttpProblem(400, 'BAD_PARAMETER', `${name}: expected true or false, got "${raw.slice(0, 40)}"`);
}

const CONTENT_TYPES: Readonly<Record<string, string>> = { '1c-csv': 'text/csv', '1c-xml': 'application/xml', erip: 'text/plain' };

/** Starts the pull API; resolves once it listens. */
export async function startPullApi(options: PullApiOptions): Promise<PullApi> {
  const { pool, tokens } = options;
  const now = options.now ?? Date.now;
  const logger = options.logger.child({ component: 'billing-api' });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const route = /^\/v1\/batches(?:\/([^/]+)(?:\/(file|ack))?)?$/.exec(url.pathname);
    const problemsRoute = url.pathname === '/v1/problems';
    if (!route && !problemsRoute) throw new HttpProblem(404, 'NOT_FOUND', `no resource at ${url.pathname}`);
    const expected = route?.[2] === 'ack' ? 'POST' : 'GET';
    if (method !== expected) throw new HttpProblem(405, 'METHOD_NOT_ALLOWED', `${url.pathname} accepts ${expected}, got ${method}`, { allow: expected });

    const secret = bearerSecret(req.headers.authorization);
    if (secret === undefined) {
      throw new HttpProblem(401, 'UNAUTHENTICATED', 'expected an Authorization: Bearer <token> header', { 'www-authenticate': 'Bearer realm="meterflux-billing"' });
    }
    const token = authorise(await tokens.find(secretHash(secret)), requiredScope(method), now());
    const organisation = token.organisationId;

    if (problemsRoute) {
      const limit = Number(integerParam(url, 'limit', 100n, BigInt(MAX_LIMIT)));
      send(res, 200, { problems: await listProblems(pool, organisation, booleanParam(url, 'resolved'), limit) });
      return;
    }
    const id = route![1] === undefined ? undefined : decodeURIComponent(route![1]);
    if (id === undefined) {
      const after = integerParam(url, 'after', 0n);
      const limit = Number(integerParam(url, 'limit', 100n, BigInt(MAX_LIMIT)));
      const batches = await listBatches(pool, organisation, after, limit, booleanParam(url, 'unacknowledged'));
      send(res, 200, { batches, nextCursor: batches.at(-1)?.cursor ?? after.toString() });
      return;
    }
    if (route![2] === 'file') {
      const [batch, content] = await Promise.all([getBatch(pool, organisation, id), batchFile(pool, organisation, id)]);
      if (batch === undefined || content === undefined) throw new HttpProblem(404, 'NOT_FOUND', `no written batch ${id}`);
      res.writeHead(200, {
        'content-type': `${CONTENT_TYPES[batch.format]}; charset=${batch.encoding}`,
        'content-length': content.length,
        'content-disposition': `attachment; filename="${batch.fileName}"`,
        'repr-digest': `sha-256=:${Buffer.from(batch.checksumSha256, 'hex').toString('base64')}:`,
        etag: `"${batch.checksumSha256}"`,
      });
      res.end(content);
      return;
    }
    if (route![2] === 'ack') {
      const text = await readBody(req);
      let confirm: string | undefined;
      if (text.trim() !== '') {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw new HttpProblem(400, 'BAD_BODY', 'expected a JSON object or an empty body');
        }
        const checksum = (body as { checksumSha256?: unknown } | null)?.checksumSha256;
        if (typeof body !== 'object' || body === null || (checksum !== undefined && (typeof checksum !== 'string' || !/^[0-9a-f]{64}$/.test(checksum)))) {
          throw new HttpProblem(400, 'BAD_BODY', 'checksumSha256: expected 64 lower-case hex digits');
        }
        confirm = checksum as string | undefined;
      }
      const before = await getBatch(pool, organisation, id);
      if (before === undefined || before.state === 'pending' || before.state === 'failed') throw new HttpProblem(404, 'NOT_FOUND', `no written batch ${id}`);
      if (confirm !== undefined && confirm !== before.checksumSha256) {
        throw new HttpProblem(409, 'CHECKSUM_MISMATCH', `checksumSha256: the batch's file has ${before.checksumSha256}, got ${confirm}`);
      }
      const after = await acknowledgeBatch(pool, organisation, id, token.id);
      logger.info({ batchId: id, tokenId: token.id }, 'export batch acknowledged');
      send(res, 200, after);
      return;
    }
    const batch = await getBatch(pool, organisation, id);
    if (batch === undefined) throw new HttpProblem(404, 'NOT_FOUND', `no batch ${id}`);
    send(res, 200, batch);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof HttpProblem) {
        send(res, err.status, { error: { code: err.code, message: err.message } }, err.headers);
        return;
      }
      logger.error({ err, url: req.url }, 'pull API request failed');
      if (!res.headersSent) send(res, 503, { error: { code: 'UNAVAILABLE', message: 'the ledger cannot be read right now; try again' } }, { 'retry-after': '5' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closed: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
