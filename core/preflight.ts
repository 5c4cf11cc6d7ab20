/**
 * Start-up check that the services a process depends on answer at all, so a missing local stack
 * is one clear message instead of a client library retrying into a timeout minutes later.
 */
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { connect } from 'node:net';
import type { ConfigVariableName, KafkaConfig, UrlConfig } from './config.js';
import { errorMessage, PreflightError, ServiceUnavailableError } from './errors.js';

/** A dependency {@link checkServices} can probe; each name is also the `Config` key of its slice. */
export type ServiceName = 'kafka' | 'schemaRegistry' | 'elasticsearch' | 'postgres' | 'redis' | 'mqtt';

/** The config slices the probes read; a whole `Config` fits. */
export interface ServiceEndpoints {
  readonly kafka: Pick<KafkaConfig, 'brokers'>;
  readonly schemaRegistry: UrlConfig;
  readonly elasticsearch: UrlConfig;
  readonly postgres: UrlConfig;
  readonly redis: UrlConfig;
  readonly mqtt: UrlConfig;
}

/** Options of {@link checkServices}. */
export interface PreflightOptions {
  /**
   * How long each probe may wait for a connection or an answer.
   * @default 5000
   */
  readonly timeoutMs?: number;
  /**
   * How long services that accept connections but answer too slowly (a loaded machine, a service
   * still starting) are probed again, once a second, before they count as failed. Services that
   * refuse connections or answer wrongly fail at once.
   * @default 60000
   */
  readonly slowServiceWaitMs?: number;
}

interface Probe<S extends ServiceName> {
  readonly label: string;
  readonly variable: ConfigVariableName;
  /** Where the service is expected, without credentials. */
  address(endpoint: ServiceEndpoints[S]): string;
  /** Resolves when the service answers as expected; throws {@link UnexpectedAnswer} when it answers otherwise. */
  run(endpoint: ServiceEndpoints[S], timeoutMs: number): Promise<void>;
}

const PROBES: { readonly [S in ServiceName]: Probe<S> } = {
  kafka: {
    label: 'Kafka',
    variable: 'KAFKA_BROKERS',
    address: ({ brokers }) => brokers.join(', '),
    // Any one bootstrap broker is enough for a Kafka client to find the cluster.
    async run({ brokers }, timeoutMs) {
      try {
        await Promise.any(brokers.map((broker) => exchange(splitHostPort(broker), timeoutMs)));
      } catch (err) {
        const failures = err instanceof AggregateError ? err.errors : [err];
        if (failures.length === 1) throw failures[0];
        const reasons = failures.map(errorMessage).join('; ');
        throw new Error(`none of ${failures.length} brokers accepted a connection (${reasons})`, { cause: err });
      }
    },
  },
  schemaRegistry: {
    label: 'Schema registry',
    variable: 'SCHEMA_REGISTRY_URL',
    address: ({ url }) => withoutCredentials(url),
    run: ({ url }, timeoutMs) => expectHttpSuccess(new URL(`${url}/schemas/types`), timeoutMs),
  },
  elasticsearch: {
    label: 'Elasticsearch',
    variable: 'ELASTICSEARCH_URL',
    address: ({ url }) => withoutCredentials(url),
    // Not `GET /`: some distributions (the integration-test one) answer it with 405.
    run: ({ url }, timeoutMs) => expectHttpSuccess(new URL(`${url}/_cluster/health`), timeoutMs),
  },
  postgres: {
    label: 'PostgreSQL',
    variable: 'DATABASE_URL',
    address: ({ url }) => hostPortOf(url),
    run: async ({ url }, timeoutMs) => void (await exchange(endpointOf(url), timeoutMs)),
  },
  redis: {
    label: 'Redis',
    variable: 'REDIS_URL',
    address: ({ url }) => hostPortOf(url),
    // Over TLS (rediss:) a TCP connection is all that is checked: PING would need a TLS handshake.
    async run({ url }, timeoutMs) {
      if (new URL(url).protocol === 'rediss:') return void (await exchange(endpointOf(url), timeoutMs));
      const answer = await exchange(endpointOf(url), timeoutMs, 'PING\r\n');
      // NOAUTH still proves a Redis server is there; the client authenticates with the URL's password.
      if (answer !== '+PONG' && !answer?.startsWith('-NOAUTH')) {
        throw new UnexpectedAnswer(`answered PING with "${answer ?? ''}"`);
      }
    },
  },
  mqtt: {
    label: 'MQTT broker',
    variable: 'MQTT_URL',
    address: ({ url }) => hostPortOf(url),
    run: async ({ url }, timeoutMs) => void (await exchange(endpointOf(url), timeoutMs)),
  },
};

/**
 * Probes each named service in parallel: a TCP connection to each Kafka bootstrap broker (one is
 * enough), PostgreSQL and MQTT; a TCP connection and `PING` to Redis; `GET {url}/schemas/types` (cheap, unlike the subject list) on the
 * schema registry and `GET {url}/` on Elasticsearch, expecting 2xx. Called by process entry points
 * before starting the lifecycle, with the services that process needs.
 *
 * @throws {PreflightError} when any service does not answer as expected; its message has one
 *   line per service naming it, its address and what to do (`make up`, or which variable to check).
 */
export async function checkServices<S extends ServiceName>(
  endpoints: Pick<ServiceEndpoints, S>,
  services: readonly S[],
  options: PreflightOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const deadline = Date.now() + (options.slowServiceWaitMs ?? 60_000);
  let pending: readonly S[] = services;
  for (;;) {
    const results = await Promise.all(pending.map(async (name) => [name, await probe(name, endpoints[name], timeoutMs)] as const));
    const failures = results.filter((result): result is readonly [S, ServiceUnavailableError] => result[1] !== undefined);
    if (failures.length === 0) return;
    const slow = failures.filter(([, failure]) => failure.cause instanceof NoAnswer);
    if (slow.length < failures.length || Date.now() + 1000 >= deadline) throw new PreflightError(failures.map(([, failure]) => failure));
    pending = slow.map(([name]) => name);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function probe<S extends ServiceName>(
  name: S,
  endpoint: ServiceEndpoints[S],
  timeoutMs: number,
): Promise<ServiceUnavailableError | undefined> {
  const spec: Probe<S> = PROBES[name];
  try {
    await spec.run(endpoint, timeoutMs);
    return undefined;
  } catch (err) {
    return new ServiceUnavailableError({
      service: spec.label,
      address: spec.address(endpoint),
      cause: err,
      ...(err instanceof UnexpectedAnswer ? { detail: err.message, hint: `Check ${spec.variable}.` } : {}),
      context: { service: name },
    });
  }
}

/** The service is there but answered wrongly: starting the stack will not help, the address might. */
class UnexpectedAnswer extends Error {}

/** No connection or answer within the probe's timeout: the service may be there but slow. */
class NoAnswer extends Error {}

interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * Connects, optionally sends `request`, and resolves with the first line answered (or `undefined`
 * when nothing was sent). One idle timeout covers both the connection and the answer.
 */
function exchange(endpoint: Endpoint, timeoutMs: number, request?: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port });
    socket.setTimeout(timeoutMs, () => socket.destroy(new NoAnswer(`no answer within ${timeoutMs} ms`)));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed the connection without answering')));
    socket.once('connect', () => {
      if (request === undefined) {
        resolve(undefined);
        socket.destroy();
        return;
      }
      let received = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        received += chunk;
        const end = received.indexOf('\r\n');
        if (end >= 0) {
          resolve(received.slice(0, end));
          socket.destroy();
        }
      });
      socket.write(request);
    });
  });
}

function expectHttpSuccess(url: URL, timeoutMs: number): Promise<void> {
  const get = url.protocol === 'https:' ? httpsGet : httpGet;
  return new Promise((resolve, reject) => {
    const request = get(url, { timeout: timeoutMs }, (response: IncomingMessage) => {
      response.resume();
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 300) resolve();
      else reject(new UnexpectedAnswer(`GET ${url.pathname} answered HTTP ${status}`));
    });
    request.once('timeout', () => request.destroy(new NoAnswer(`no answer within ${timeoutMs} ms`)));
    request.once('error', reject);
  });
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  'postgres:': 5432,
  'postgresql:': 5432,
  'redis:': 6379,
  'rediss:': 6379,
  'mqtt:': 1883,
  'mqtts:': 8883,
  'ws:': 80,
  'wss:': 443,
};

function endpointOf(raw: string): Endpoint {
  const url = new URL(raw);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? (DEFAULT_PORTS[url.protocol] ?? 0) : Number(url.port),
  };
}

function hostPortOf(raw: string): string {
  const { host, port } = endpointOf(raw);
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function splitHostPort(broker: string): Endpoint {
  const separator = broker.lastIndexOf(':');
  return {
    host: broker.slice(0, separator).replace(/^\[(.*)\]$/, '$1'),
    port: Number(broker.slice(separator + 1)),
  };
}

function withoutCredentials(raw: string): string {
  const url = new URL(raw);
  url.username = '';
  url.password = '';
  return url.toString().replace(/\/+$/, '');
}
