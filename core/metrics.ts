/**
 * Per-process Prometheus metrics and health endpoint.
 *
 * Each process creates one registry with {@link createMetricsRegistry}, hands it to the components
 * that define metrics, and serves it with {@link startMetricsServer} on `config.metrics.port`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { errorMessage } from './errors.js';
import type { Logger } from './log.js';

/**
 * A registry with the default process and Node.js metrics (CPU, memory, event loop lag, GC).
 * Called once per process; never use prom-client's global registry, so tests and embedded
 * components do not collide.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Health of one part of the process. */
export interface ComponentHealth {
  readonly healthy: boolean;
  /** Why it is unhealthy, or a short status such as `lag 12`. */
  readonly detail?: string;
}

/** What `GET /healthz` reports: 200 when `healthy`, 503 otherwise; the body is this object as JSON. */
export interface HealthReport {
  readonly healthy: boolean;
  readonly components?: Readonly<Record<string, ComponentHealth>>;
}

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  /** Port to listen on; 0 picks a free one, read it back from {@link MetricsServer.port}. */
  readonly port: number;
  /**
   * Interface to bind.
   * @default all interfaces, so Prometheus can scrape from elsewhere
   */
  readonly host?: string;
  readonly registry: Registry;
  /**
   * Called on every `GET /healthz`. A throw or rejection is reported as unhealthy (503) and logged.
   */
  readonly health: () => Promise<HealthReport> | HealthReport;
  readonly logger: Logger;
}

/** A running metrics server. */
export interface MetricsServer {
  /** The port actually bound (the chosen one when 0 was asked for). */
  readonly port: number;
  /** Stops listening and drops open connections. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (Prometheus text) and `GET /healthz` (JSON) over node:http; anything else
 * is 404. Called by each process entry point once the registry exists, usually as the first
 * lifecycle component so health is visible during start-up.
 *
 * @throws the listen error (e.g. `EADDRINUSE`) when the port cannot be bound.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { registry, health, logger } = options;

  const server = createServer((request, response) => {
    handle(request, response).catch((err: unknown) => {
      logger.error({ err, path: request.url }, 'metrics server failed to answer');
      if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== '/metrics' && path !== '/healthz') {
      send(response, 404, 'text/plain; charset=utf-8', 'not found: try /metrics or /healthz\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    if (path === '/metrics') {
      send(response, 200, registry.contentType, await registry.metrics());
      return;
    }
    const report = await checkHealth(health, logger);
    send(response, report.healthy ? 200 : 503, 'application/json; charset=utf-8', JSON.stringify(report));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  logger.info({ port, host: options.host }, 'metrics server listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        // Prometheus keeps scrape connections alive; without this, close waits for them to time out.
        server.closeAllConnections();
      }).then(() => logger.info({ port }, 'metrics server closed'));
      return closing;
    },
  };
}

async function checkHealth(health: MetricsServerOptions['health'], logger: Logger): Promise<HealthReport> {
  try {
    return await health();
  } catch (err) {
    logger.warn({ err }, 'health check failed');
    return { healthy: false, components: { healthCheck: { healthy: false, detail: errorMessage(err) } } };
  }
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  response.end(body);
}
