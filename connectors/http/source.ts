/**
 * The HTTP ingest connector (name `http`): devices, gateways and network servers push uplinks as
 * JSON (`POST /v1/uplinks`) or as ChirpStack HTTP integration events (`POST /v1/chirpstack`),
 * authenticated with registry API tokens. A request is answered 202 only after Kafka acknowledged
 * every record made from it. The wire format is in README.md.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { ConfigError, ServiceUnavailableError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { ComponentHealth } from '../../core/metrics.js';
import type { Ingest } from '../kit/ingest.js';
import type { Source } from '../kit/source.js';
import { createIngestApp } from './app.js';
import { createTokenLookup } from './auth.js';
import { createIdempotencyStore } from './idempotency.js';
import { httpMetrics } from './metrics.js';

/** Options of {@link createHttpSource}. */
export interface HttpSourceOptions {
  /** Port to listen on, usually `config.ingest.httpPort`; 0 picks a free one (see {@link HttpSource.port}). */
  readonly port: number;
  /**
   * Interface to bind.
   * @default all interfaces
   */
  readonly host?: string;
  /** Largest request body in bytes, usually `config.ingest.httpMaxBodyBytes`; larger ones are answered 413. */
  readonly maxBodyBytes: number;
  /** PostgreSQL holding `api_tokens` (`config.postgres.url`). */
  readonly databaseUrl: string;
  /** Redis for the token cache and Idempotency-Key answers (`config.redis.url`). */
  readonly redisUrl: string;
  /**
   * Prefix of every Redis key the connector writes; tests give each run its own.
   * @default 'meterflux:http:'
   */
  readonly redisKeyPrefix?: string;
  /**
   * How long a token found in PostgreSQL stays cached in Redis: a revoked token may work this long.
   * @default 30000
   */
  readonly tokenCacheTtlMs?: number;
  /**
   * How long the answer to a request with an `Idempotency-Key` is kept for replay.
   * @default 86400000 (24 h)
   */
  readonly idempotencyRetentionMs?: number;
  /**
   * How long an `Idempotency-Key` stays claimed by a request that never finishes (a crash).
   * @default 60000
   */
  readonly idempotencyClaimMs?: number;
  /**
   * Most uplinks in one `POST /v1/uplinks` batch.
   * @default 500
   */
  readonly maxUplinksPerRequest?: number;
  /**
   * `Retry-After` of 409 and 503 answers, in seconds.
   * @default 1
   */
  readonly retryAfterSeconds?: number;
  /**
   * Longest time a request may take to arrive in full, so slow clients cannot hold connections.
   * @default 60000
   */
  readonly requestTimeoutMs?: number;
  /**
   * How long {@link Source.stop} lets requests in progress finish before closing their connections.
   * @default 10000
   */
  readonly closeTimeoutMs?: number;
  /** The process registry (the Ingest's); the connector adds `meterflux_http_ingest_*`. */
  readonly metrics: Registry;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The HTTP source, with the port it listens on. */
export interface HttpSource extends Source {
  /** The bound port; 0 until {@link Source.start} resolved. */
  readonly port: number;
}

type Settings = Required<Omit<HttpSourceOptions, 'host' | 'metrics' | 'logger'>> & Pick<HttpSourceOptions, 'host'>;

/**
 * The HTTP source (name `http`). `start` checks that PostgreSQL and Redis answer, then listens;
 * `stop` stops accepting, lets requests in progress get their Kafka acknowledgement and answer,
 * then closes.
 *
 * @throws {ConfigError} listing every invalid option.
 */
export function createHttpSource(options: HttpSourceOptions): HttpSource {
  const settings = settle(options);
  const logger = options.logger.child({ component: 'http-source' });
  const metrics = httpMetrics(options.metrics);

  let phase: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  let server: Server | undefined;
  let pool: pg.Pool | undefined;
  let redis: Redis | undefined;
  let redisProblem: string | undefined;
  let port = 0;

  async function start(ingest: Ingest): Promise<void> {
    const database = new pg.Pool({ connectionString: settings.databaseUrl, max: 4, connectionTimeoutMillis: 5_000 });
    // An idle client losing its connection emits here; without a listener the process would crash.
    database.on('error', (err) => logger.warn({ err }, 'PostgreSQL connection lost; the pool reconnects on demand'));
    pool = database;
    const cache = new Redis(settings.redisUrl, {
      lazyConnect: true,
      // Fail fast while disconnected, so a request gets 503 instead of waiting in a queue.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 2_000,
    });
    cache.on('error', (err) => {
      if (redisProblem === undefined) logger.warn({ err }, 'Redis unavailable; reconnecting');
      redisProblem = err.message;
    });
    cache.on('ready', () => {
      if (redisProblem !== undefined) logger.info('Redis reachable again');
      redisProblem = undefined;
    });
    redis = cache;

    await Promise.all([
      database.query('SELECT 1').catch((cause: unknown) => {
        throw new ServiceUnavailableError({ service: 'PostgreSQL', address: hostOf(settings.databaseUrl), cause });
      }),
      cache.connect().catch((cause: unknown) => {
        throw new ServiceUnavailableError({ service: 'Redis', address: hostOf(settings.redisUrl), cause });
      }),
    ]);

    const app = createIngestApp({
      ingest,
      tokens: createTokenLookup({ pool: database, redis: cache, keyPrefix: settings.redisKeyPrefix, cacheTtlMs: settings.tokenCacheTtlMs, logger }),
      idempotency: createIdempotencyStore({
        redis: cache,
        keyPrefix: settings.redisKeyPrefix,
        retentionMs: settings.idempotencyRetentionMs,
        claimMs: settings.idempotencyClaimMs,
      }),
      maxBodyBytes: settings.maxBodyBytes,
      maxUplinksPerRequest: settings.maxUplinksPerRequest,
      retryAfterSeconds: settings.retryAfterSeconds,
      metrics,
      logger,
      health,
      now: settings.now,
    });
    const handler = (request: IncomingMessage, response: ServerResponse) => {
      // While stopping, a keep-alive connection is closed as soon as its response is out.
      response.once('finish', () => {
        if (phase === 'stopping') setImmediate(() => server?.closeIdleConnections());
      });
      app(request, response);
    };
    const listening = createServer({ requestTimeout: settings.requestTimeoutMs }, handler);
    // Answering `Expect: 100-continue` is left to the body reader, so refused requests never send their body.
    listening.on('checkContinue', handler);
    server = listening;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(settings.port, settings.host, () => {
        listening.off('error', reject);
        resolve();
      });
    });
    port = (listening.address() as AddressInfo).port;
    logger.info({ port, host: settings.host, maxBodyBytes: settings.maxBodyBytes }, 'HTTP ingest listening');
  }

  /** Closes whatever exists; used by stop and by a failed start. */
  async function shutdown(): Promise<void> {
    phase = 'stopping';
    const listening = server;
    if (listening?.listening) {
      const closed = new Promise<void>((resolve) => listening.close(() => resolve()));
      listening.closeIdleConnections();
      const timer = setTimeout(() => {
        logger.warn({ closeTimeoutMs: settings.closeTimeoutMs }, 'requests still running at the close timeout; closing their connections');
        listening.closeAllConnections();
      }, settings.closeTimeoutMs);
      await closed;
      clearTimeout(timer);
      logger.info({ port }, 'HTTP ingest closed');
    }
    const [cache, database] = [redis, pool];
    redis = undefined;
    pool = undefined;
    await Promise.allSettled([cache?.quit(), database?.end()]);
    // quit() cannot reach a Redis that is down; this also ends the reconnect attempts.
    cache?.disconnect();
    phase = 'stopped';
  }

  function health(): ComponentHealth {
    if (phase !== 'running') return { healthy: false, detail: phase };
    if (redisProblem !== undefined) return { healthy: true, detail: `listening on ${port}; Redis unavailable: ${redisProblem}` };
    return { healthy: true, detail: `listening on ${port}` };
  }

  return {
    name: 'http',
    get port() {
      return port;
    },
    start(ingest) {
      if (phase !== 'new') return Promise.reject(new Error(`the http source cannot start when it is ${phase}`));
      phase = 'starting';
      starting = start(ingest).then(
        () => {
          phase = 'running';
        },
        async (err: unknown) => {
          await shutdown();
          throw err;
        },
      );
      return starting;
    },
    stop() {
      stopping ??= (async () => {
        await starting?.catch(() => undefined);
        await shutdown();
      })();
      return stopping;
    },
    health,
  };
}

function settle(options: HttpSourceOptions): Settings {
  const settings: Settings = {
    port: options.port,
    host: options.host,
    maxBodyBytes: options.maxBodyBytes,
    databaseUrl: options.databaseUrl,
    redisUrl: options.redisUrl,
    redisKeyPrefix: options.redisKeyPrefix ?? 'meterflux:http:',
    tokenCacheTtlMs: options.tokenCacheTtlMs ?? 30_000,
    idempotencyRetentionMs: options.idempotencyRetentionMs ?? 86_400_000,
    idempotencyClaimMs: options.idempotencyClaimMs ?? 60_000,
    maxUplinksPerRequest: options.maxUplinksPerRequest ?? 500,
    retryAfterSeconds: options.retryAfterSeconds ?? 1,
    requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
    closeTimeoutMs: options.closeTimeoutMs ?? 10_000,
    now: options.now ?? Date.now,
  };
  const problems: string[] = [];
  if (!Number.isInteger(settings.port) || settings.port < 0 || settings.port > 65535) {
    problems.push(`port must be an integer from 0 to 65535, got ${settings.port}`);
  }
  for (const name of ['maxBodyBytes', 'tokenCacheTtlMs', 'idempotencyRetentionMs', 'idempotencyClaimMs',
    'maxUplinksPerRequest', 'retryAfterSeconds', 'requestTimeoutMs', 'closeTimeoutMs'] as const) {
    const value = settings[name];
    if (!Number.isInteger(value) || value < 1) problems.push(`${name} must be a positive integer, got ${value}`);
  }
  if (problems.length > 0) throw new ConfigError(problems.map((problem) => `http source: ${problem}`));
  return settings;
}

/** `host:port` of a service URL, without credentials, for error messages. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(unparsable URL)';
  }
}
