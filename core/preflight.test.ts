import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { PreflightError } from './errors.js';
import { checkServices, type ServiceName } from './preflight.js';

const servers: (Server | HttpServer)[] = [];
const sockets = new Set<Socket>();

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function listen(server: Server | HttpServer): Promise<number> {
  servers.push(server);
  server.on('connection', (socket: Socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on: bound, read, released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A TCP server that answers the first line it receives with `answer`, or stays silent. */
function lineServer(answer?: string): Server {
  return createServer((socket) => {
    socket.once('data', () => {
      if (answer !== undefined) socket.write(answer);
    });
  });
}

/** An HTTP server answering 200 at the given paths and 404 elsewhere. */
function httpServer(okPaths: readonly string[]): HttpServer {
  return createHttpServer((request, response) => {
    response.statusCode = okPaths.includes(request.url ?? '') ? 200 : 404;
    response.end('[]');
  });
}

async function failureOf(run: Promise<void>): Promise<PreflightError> {
  const error: unknown = await run.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (error instanceof PreflightError) return error;
  throw new Error(`expected a PreflightError, got ${String(error)}`);
}

describe('checkServices', () => {
  it('names the missing service, its address and how to start it', async () => {
    const port = await closedPort();
    const config = loadConfig({ KAFKA_BROKERS: `127.0.0.1:${port}` });
    const error = await failureOf(checkServices(config, ['kafka']));
    expect(error.message).toBe(
      `Kafka is not reachable at 127.0.0.1:${port}: connect ECONNREFUSED. Start the local stack with \`make up\`.`,
    );
    expect(error.retriable).toBe(true);
    expect(error.failures.map((failure) => failure.service)).toEqual(['Kafka']);
  });

  it('reports every missing service in one error, one line each', async () => {
    const port = await closedPort();
    const config = loadConfig({
      KAFKA_BROKERS: `127.0.0.1:${port}`,
      SCHEMA_REGISTRY_URL: `http://127.0.0.1:${port}/apis/ccompat/v7`,
      ELASTICSEARCH_URL: `http://elastic:changeme@127.0.0.1:${port}`,
      DATABASE_URL: `postgres://postgres:pw@127.0.0.1:${port}/meterflux`,
      REDIS_URL: `redis://127.0.0.1:${port}`,
      MQTT_URL: `mqtt://127.0.0.1:${port}`,
    });
    const all: ServiceName[] = ['kafka', 'schemaRegistry', 'elasticsearch', 'postgres', 'redis', 'mqtt'];
    const error = await failureOf(checkServices(config, all));
    const tail = ': connect ECONNREFUSED. Start the local stack with `make up`.';
    expect(error.message.split('\n')).toEqual([
      `Kafka is not reachable at 127.0.0.1:${port}${tail}`,
      `Schema registry is not reachable at http://127.0.0.1:${port}/apis/ccompat/v7${tail}`,
      `Elasticsearch is not reachable at http://127.0.0.1:${port}${tail}`,
      `PostgreSQL is not reachable at 127.0.0.1:${port}${tail}`,
      `Redis is not reachable at 127.0.0.1:${port}${tail}`,
      `MQTT broker is not reachable at 127.0.0.1:${port}${tail}`,
    ]);
    expect(error.message).not.toContain('changeme');
  });

  it('passes when every service answers as expected', async () => {
    const tcp = await listen(createServer());
    const redis = await listen(lineServer('+PONG\r\n'));
    const http = await listen(httpServer(['/apis/ccompat/v7/schemas/types', '/_cluster/health']));
    const config = loadConfig({
      KAFKA_BROKERS: `127.0.0.1:${tcp}`,
      SCHEMA_REGISTRY_URL: `http://127.0.0.1:${http}/apis/ccompat/v7/`,
      ELASTICSEARCH_URL: `http://127.0.0.1:${http}`,
      DATABASE_URL: `postgres://postgres@127.0.0.1:${tcp}/meterflux`,
      REDIS_URL: `redis://127.0.0.1:${redis}`,
      MQTT_URL: `mqtt://127.0.0.1:${tcp}`,
    });
    await expect(
      checkServices(config, ['kafka', 'schemaRegistry', 'elasticsearch', 'postgres', 'redis', 'mqtt']),
    ).resolves.toBeUndefined();
  });

  it('probes only the services asked for', async () => {
    const port = await closedPort();
    const config = loadConfig({ KAFKA_BROKERS: `127.0.0.1:${port}`, MQTT_URL: `mqtt://127.0.0.1:${port}` });
    const error = await failureOf(checkServices(config, ['mqtt']));
    expect(error.failures.map((failure) => failure.service)).toEqual(['MQTT broker']);
    await expect(checkServices(config, [])).resolves.toBeUndefined();
  });

  it('is satisfied by one reachable Kafka bootstrap broker', async () => {
    const open = await listen(createServer());
    const closed = await closedPort();
    const config = loadConfig({ KAFKA_BROKERS: `127.0.0.1:${closed},127.0.0.1:${open}` });
    await expect(checkServices(config, ['kafka'])).resolves.toBeUndefined();
  });

  it('lists why each Kafka bootstrap broker failed when none is reachable', async () => {
    const [a, b] = [await closedPort(), await closedPort()];
    const config = loadConfig({ KAFKA_BROKERS: `127.0.0.1:${a},127.0.0.1:${b}` });
    const error = await failureOf(checkServices(config, ['kafka']));
    expect(error.message).toBe(
      `Kafka is not reachable at 127.0.0.1:${a}, 127.0.0.1:${b}: none of 2 brokers accepted a connection ` +
        `(connect ECONNREFUSED 127.0.0.1:${a}; connect ECONNREFUSED 127.0.0.1:${b}). Start the local stack with \`make up\`.`,
    );
  });

  it('points at the variable when an HTTP service answers with an error status', async () => {
    const http = await listen(httpServer([]));
    const config = loadConfig({ SCHEMA_REGISTRY_URL: `http://127.0.0.1:${http}` });
    const error = await failureOf(checkServices(config, ['schemaRegistry']));
    expect(error.message).toBe(
      `Schema registry is not reachable at http://127.0.0.1:${http}: GET /schemas/types answered HTTP 404. Check SCHEMA_REGISTRY_URL.`,
    );
  });

  it('gives up on a service that accepts the connection but never answers', async () => {
    const silent = await listen(lineServer());
    const config = loadConfig({ REDIS_URL: `redis://127.0.0.1:${silent}` });
    const error = await failureOf(checkServices(config, ['redis'], { timeoutMs: 100, slowServiceWaitMs: 0 }));
    expect(error.message).toBe(
      `Redis is not reachable at 127.0.0.1:${silent}: no answer within 100 ms. Start the local stack with \`make up\`.`,
    );
  });

  it('probes a slow service again until it answers, within the wait for slow services', async () => {
    let probes = 0;
    const slowThenReady = createServer((socket) => {
      socket.once('data', () => {
        probes += 1;
        // The first probe times out (a loaded machine); the second one is answered.
        if (probes > 1) socket.write('+PONG\r\n');
      });
    });
    const config = loadConfig({ REDIS_URL: `redis://127.0.0.1:${await listen(slowThenReady)}` });
    await expect(checkServices(config, ['redis'], { timeoutMs: 100, slowServiceWaitMs: 10_000 })).resolves.toBeUndefined();
    expect(probes).toBe(2);
  });

  it('accepts a Redis that requires authentication as present', async () => {
    const redis = await listen(lineServer('-NOAUTH Authentication required.\r\n'));
    const config = loadConfig({ REDIS_URL: `redis://127.0.0.1:${redis}` });
    await expect(checkServices(config, ['redis'])).resolves.toBeUndefined();
  });

  it('points at REDIS_URL when something other than Redis answers there', async () => {
    const other = await listen(lineServer('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const config = loadConfig({ REDIS_URL: `redis://127.0.0.1:${other}` });
    const error = await failureOf(checkServices(config, ['redis']));
    expect(error.message).toBe(
      `Redis is not reachable at 127.0.0.1:${other}: answered PING with "HTTP/1.1 400 Bad Request". Check REDIS_URL.`,
    );
  });
});
