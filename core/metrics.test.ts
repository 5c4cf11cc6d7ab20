import { createServer } from 'node:net';
import { Counter } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from './log.js';
import { createMetricsRegistry, type HealthReport, type MetricsServer, startMetricsServer } from './metrics.js';

const logger = createLogger({ level: 'silent', name: 'test' });
const servers: MetricsServer[] = [];

async function start(health: () => Promise<HealthReport> | HealthReport = () => ({ healthy: true })) {
  const registry = createMetricsRegistry();
  const server = await startMetricsServer({ port: 0, host: '127.0.0.1', registry, health, logger });
  servers.push(server);
  return { registry, server, base: `http://127.0.0.1:${server.port}` };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('createMetricsRegistry', () => {
  it('collects the default process metrics into its own registry', async () => {
    const registry = createMetricsRegistry();
    const text = await registry.metrics();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(createMetricsRegistry()).not.toBe(registry);
  });
});

describe('startMetricsServer', () => {
  it('picks a free port when asked for port 0', async () => {
    const { server } = await start();
    expect(server.port).toBeGreaterThan(0);
  });

  it('serves the registry as Prometheus text at /metrics', async () => {
    const { registry, base } = await start();
    new Counter({ name: 'meterflux_readings_total', help: 'Readings produced', registers: [registry] }).inc(3);
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(registry.contentType);
    const body = await response.text();
    expect(body).toContain('meterflux_readings_total 3');
    expect(body).toContain('process_resident_memory_bytes');
  });

  it('answers /healthz with 200 and the report when healthy', async () => {
    const report = { healthy: true, components: { kafka: { healthy: true, detail: 'lag 0' } } };
    const { base } = await start(async () => report);
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await response.json()).toEqual(report);
  });

  it('answers /healthz with 503 when unhealthy', async () => {
    const { base } = await start(() => ({ healthy: false, components: { kafka: { healthy: false, detail: 'disconnected' } } }));
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ healthy: false });
  });

  it('answers /healthz with 503 and the reason when the health check throws', async () => {
    const { base } = await start(() => Promise.reject(new Error('pool exhausted')));
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      healthy: false,
      components: { healthCheck: { healthy: false, detail: 'pool exhausted' } },
    });
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    const { base } = await start();
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics/extra`)).status).toBe(404);
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('stops listening on close, and a second close is harmless', async () => {
    const { server, base } = await start();
    await fetch(`${base}/metrics`);
    const first = server.close();
    expect(server.close()).toBe(first);
    await first;
    await expect(fetch(`${base}/metrics`)).rejects.toThrow();
  });

  it('rejects with the listen error when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      await expect(
        startMetricsServer({ port, host: '127.0.0.1', registry: createMetricsRegistry(), health: () => ({ healthy: true }), logger }),
      ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
