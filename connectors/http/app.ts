/**
 * The express application of the HTTP ingest. Each ingest request passes these steps in order,
 * and the first that refuses answers (README.md has the table):
 *
 * 1. token (401/403) and load (503) — before a byte of the body is read;
 * 2. body size (413), ChirpStack `event` (400, or 204 for events without meter data), content
 *    type (415), `Idempotency-Key` syntax (400);
 * 3. `Idempotency-Key` claim: replay (202 again), running (409), used for another body (422);
 * 4. parsing and validation (400);
 * 5. the Kafka write: 202 only once Kafka acknowledged, else 503.
 *
 * Refusals in steps 2 and 4 are dead-lettered before the answer goes out; if that write fails
 * the client gets 503 instead, so its retry keeps the bytes.
 */
import { createHash, randomUUID } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { BadInputError, TransientError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { ComponentHealth } from '../../core/metrics.js';
import type { Ingest } from '../kit/ingest.js';
import {
  badInput,
  forbidden,
  HttpError,
  internal,
  keyInUse,
  keyReused,
  methodNotAllowed,
  notFound,
  overloaded,
  unauthenticated,
  unavailable,
} from './answers.js';
import { bearerSecret, INGEST_SCOPE, secretHash, verdictFor, type TokenGrant, type TokenLookup } from './auth.js';
import { checkContentType, readBody } from './body.js';
import { chirpStackEventOf, parseChirpStackRequest } from './chirpstack.js';
import { idempotencyKeyOf, type IdempotencyStore } from './idempotency.js';
import type { HttpMetrics } from './metrics.js';
import type { RequestContext } from './request-context.js';
import { parseUplinksRequest } from './uplinks.js';

/** Options of {@link createIngestApp}. */
export interface IngestAppOptions {
  readonly ingest: Ingest;
  readonly tokens: TokenLookup;
  readonly idempotency: IdempotencyStore;
  readonly maxBodyBytes: number;
  readonly maxUplinksPerRequest: number;
  /** Sent as `Retry-After` with 409 and 503 answers. */
  readonly retryAfterSeconds: number;
  readonly metrics: HttpMetrics;
  readonly logger: Logger;
  /** Served at `GET /healthz`. */
  readonly health: () => ComponentHealth;
  readonly now: () => number;
}

/** The body of a 202 answer. */
export interface AcceptedAnswer {
  readonly requestId: string;
  /** In request order. */
  readonly uplinks: ReadonlyArray<{ readonly uplinkId: string; readonly deviceId: string; readonly idempotencyKey: string }>;
}

type Route = 'uplinks' | 'chirpstack';

interface Answer {
  readonly status: number;
  /** The error code, or `ACCEPTED`, `REPLAYED`, `IGNORED`; a metrics label. */
  readonly code: string;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

const ROUTES: ReadonlyArray<readonly [string, Route]> = [['/v1/uplinks', 'uplinks'], ['/v1/chirpstack', 'chirpstack']];
const NO_BYTES = Buffer.alloc(0);

/** Builds the app; the HTTP source serves it. */
export function createIngestApp(options: IngestAppOptions): Express {
  const { ingest, logger, metrics } = options;
  const retryAfter = options.retryAfterSeconds;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  app.get('/healthz', (_request, response) => {
    const health = options.health();
    response.status(health.healthy ? 200 : 503).set('Cache-Control', 'no-store').json(health);
  });
  for (const [path, route] of ROUTES) {
    app.post(path, (request, response) => serve(route, request, response));
    app.all(path, (request, response) => reply(request, response, 'other', failure(methodNotAllowed(request.method), randomUUID())));
  }
  app.use((request: Request, response: Response) => {
    reply(request, response, 'other', failure(notFound(request.path), randomUUID()));
  });
  app.use((err: unknown, request: Request, response: Response, _next: NextFunction) => {
    const requestId = randomUUID();
    logger.error({ err, requestId, path: request.path }, 'HTTP ingest request failed unexpectedly');
    reply(request, response, 'other', failure(internal(err), requestId));
  });
  return app;

  async function serve(route: Route, request: Request, response: Response): Promise<void> {
    const requestId = randomUUID();
    metrics.inFlight.inc();
    let answer: Answer;
    try {
      answer = await handle(route, request, response, requestId);
    } catch (err) {
      answer = failure(httpErrorOf(err, requestId, route), requestId);
    } finally {
      metrics.inFlight.dec();
    }
    reply(request, response, route, answer);
  }

  function httpErrorOf(err: unknown, requestId: string, route: Route): HttpError {
    if (err instanceof HttpError) {
      // Shedding load is routine and would flood the log; an unreachable dependency is not.
      if (err.code === 'UNAVAILABLE' || err.status === 500) logger.warn({ err, requestId, route }, err.message);
      else logger.debug({ requestId, route, code: err.code }, err.message);
      return err;
    }
    if (err instanceof TransientError && err.code === 'REQUEST_ABORTED') {
      logger.debug({ requestId, route }, err.message);
      return new HttpError(400, err.code, err.message);
    }
    logger.error({ err, requestId, route }, 'HTTP ingest request failed unexpectedly');
    return internal(err);
  }

  function reply(request: Request, response: Response, route: string, answer: Answer): void {
    metrics.requests.inc({ route, status: answer.status, code: answer.code });
    if (response.headersSent || response.destroyed) return;
    response.status(answer.status).set({ 'Cache-Control': 'no-store', ...answer.headers });
    // A body left unread would otherwise be drained on this connection just to reach the next request.
    if (!request.complete) response.set('Connection', 'close');
    if (answer.body === undefined) response.end();
    else response.json(answer.body);
  }

  async function handle(route: Route, request: Request, response: Response, requestId: string): Promise<Answer> {
    const grant = await authenticate(request.get('authorization'));
    const { inFlight, limit } = ingest.pressure();
    if (inFlight >= limit) throw overloaded(inFlight, limit, retryAfter);

    const metadata: Record<string, string> = {
      requestId,
      tokenId: grant.tokenId,
      contentType: request.get('content-type') ?? '',
      remoteAddress: request.socket.remoteAddress ?? '',
    };
    const refuse = refuser({ ...metadata, sourceAddress: request.originalUrl, organisationId: grant.organisationId });
    const body = await refuse(NO_BYTES, () => readBody(request, response, options.maxBodyBytes));
    const target = route === 'chirpstack' ? await refuse(body, () => chirpStackEventOf(request.query['event'])) : undefined;
    // Dropped before the content type is checked, so events ChirpStack sends in protobuf are dropped too.
    if (target !== undefined && 'ignored' in target) return { status: 204, code: 'IGNORED' };
    await refuse(body, () => checkContentType(request.get('content-type'), request.get('content-encoding')));
    const key = await refuse(body, () => idempotencyKeyOf(request.get('idempotency-key')));
    const context: RequestContext = {
      organisationId: grant.organisationId,
      requestId,
      idempotencyKey: key,
      sourceAddress: request.originalUrl,
      metadata,
    };
    const produce = async (): Promise<Answer> => {
      const drafts = await refuse(body, () => target === undefined
        ? parseUplinksRequest(body, context, options.maxUplinksPerRequest)
        : [parseChirpStackRequest(target.event, body, context)]);
      const accepted = await refuse(body, () => ingest.accept(drafts).catch((err: unknown) => {
        if (err instanceof BadInputError) throw err;
        throw unavailable('Kafka did not acknowledge the uplinks', err, retryAfter);
      }));
      const answer: AcceptedAnswer = {
        requestId,
        uplinks: accepted.map((uplink, index) => ({ ...uplink, deviceId: drafts[index]!.deviceId })),
      };
      return { status: 202, code: 'ACCEPTED', body: answer };
    };
    if (key === undefined) return produce();
    const fingerprint = createHash('sha256').update(`${request.method} ${request.originalUrl}\n`).update(body).digest('hex');
    return idempotently(grant.organisationId, key, fingerprint, produce, requestId);
  }

  /** Runs `produce` once per `Idempotency-Key` in an organisation; see README.md, Idempotency. */
  async function idempotently(
    organisationId: string,
    key: string,
    fingerprint: string,
    produce: () => Promise<Answer>,
    requestId: string,
  ): Promise<Answer> {
    const claim = await options.idempotency.claim(organisationId, key, fingerprint).catch((err: unknown) => {
      throw unavailable('the idempotency store (Redis) is not reachable', err, retryAfter);
    });
    switch (claim.kind) {
      case 'replay':
        return { ...claim.answer, code: 'REPLAYED', headers: { 'Idempotent-Replayed': 'true' } };
      case 'in-progress':
        throw keyInUse(retryAfter);
      case 'mismatch':
        throw keyReused();
    }
    let answer: Answer;
    try {
      answer = await produce();
    } catch (err) {
      await claim.release().catch((cause: unknown) => logger.warn({ err: cause, requestId }, 'could not release an idempotency key'));
      throw err;
    }
    // Kafka has the uplinks: failing to remember the answer must not turn it into an error. A retry
    // then writes again, and the records' idempotency keys let decode drop the repeat.
    await claim.complete({ status: answer.status, body: answer.body }).catch((cause: unknown) => {
      logger.warn({ err: cause, requestId }, 'could not store the answer of an idempotency key');
    });
    return answer;
  }

  async function authenticate(authorization: string | undefined): Promise<TokenGrant> {
    const secret = bearerSecret(authorization);
    if (secret === undefined) {
      throw unauthenticated(authorization === undefined
        ? 'send Authorization: Bearer <token>'
        : 'the Authorization header is not "Bearer <token>"', authorization !== undefined);
    }
    const record = await options.tokens.find(secretHash(secret)).catch((err: unknown) => {
      throw unavailable('the token registry (PostgreSQL) is not reachable', err, retryAfter);
    });
    const verdict = verdictFor(record, options.now());
    switch (verdict.kind) {
      case 'granted':
        return verdict.grant;
      case 'unauthenticated':
        throw unauthenticated(verdict.message, true);
      case 'forbidden':
        throw forbidden(verdict.message, INGEST_SCOPE);
    }
  }

  /**
   * Runs one step of a request. Bad input the step throws is dead-lettered with `bytes` and the
   * request's coordinates, then answered 400, 413 or 415.
   */
  function refuser(details: Readonly<Record<string, string>>) {
    return async <T>(bytes: Buffer, step: () => T | Promise<T>): Promise<T> => {
      try {
        return await step();
      } catch (err) {
        if (!(err instanceof BadInputError)) throw err;
        const context = Object.fromEntries(Object.entries(err.context).map(([name, value]) => [name, String(value)]));
        await ingest.reject({ key: null, bytes, transport: 'HTTP', details: { ...details, ...context } }, err).catch((cause: unknown) => {
          throw unavailable('the refused request could not be kept in the dead-letter topic', cause, retryAfter);
        });
        throw badInput(err);
      }
    };
  }
}

function failure(error: HttpError, requestId: string): Answer {
  return { status: error.status, code: error.code, body: error.body(requestId), headers: error.headers };
}
