import { createServer, type Server } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { REJECTED_REPLY, STORED_REPLY } from './session.js';
import { createMbusTcpSource, mbusTcpSourceOptions, type MbusTcpSource, type MbusTcpSourceOptions } from './source.js';
import { deferred, FakeIngest } from './testing/fake-ingest.js';
import { concat, distinctFrames, fixtureFrame, hex, randomChunks, seededRandom } from './testing/frames.js';
import { GatewayClient } from './testing/gateway.js';

const GOOD = fixtureFrame('itron_cyble_m-bus_v1.4_gas');
const BAD_CHECKSUM = Uint8Array.from(GOOD, (byte, i) => (i === GOOD.length - 2 ? byte ^ 0xff : byte));

let registry: Registry;
let ingest: FakeIngest;
let source: MbusTcpSource | undefined;
const clients: GatewayClient[] = [];

async function started(options: Partial<MbusTcpSourceOptions> = {}): Promise<number> {
  source = createMbusTcpSource({ port: 0, host: '127.0.0.1', registry, ...options });
  await source.start(ingest);
  return source.address()!.port;
}

async function gateway(port: number, host?: string): Promise<GatewayClient> {
  const client = await GatewayClient.open(port, host);
  clients.push(client);
  return client;
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const values = (await registry.getSingleMetric(name)!.get()).values;
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
}

beforeEach(() => {
  registry = new Registry();
  ingest = new FakeIngest();
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await source?.stop();
  source = undefined;
});

describe('the mbus-tcp source', () => {
  it('can be stopped before it starts, and again, and then refuses to start', async () => {
    const unstarted = createMbusTcpSource({ port: 0, registry });
    expect(unstarted.name).toBe('mbus-tcp');
    expect(unstarted.health()).toEqual({ healthy: false, detail: 'not started' });
    await unstarted.stop();
    await unstarted.stop();
    expect(unstarted.health()).toEqual({ healthy: false, detail: 'stopped' });
    await expect(unstarted.start(ingest)).rejects.toThrow('cannot start: it is stopped');
  });

  it('rejects start when the port is taken, and stays stoppable', async () => {
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as { port: number }).port;
    const blocked = createMbusTcpSource({ port, host: '127.0.0.1', registry });
    await expect(blocked.start(ingest)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await blocked.stop();
    await new Promise((resolve) => squatter.close(resolve));
  });

  it('stores frames a gateway streams in pieces and answers each with E5, recording where they came from', async () => {
    const port = await started();
    expect(source!.health()).toEqual({ healthy: true, detail: `listening on port ${port}, 0 gateways connected` });
    const client = await gateway(port);
    const frames = distinctFrames(5);
    await client.send(randomChunks(concat([frames[0]!, frames[1]!, BAD_CHECKSUM, ...frames.slice(2)]), seededRandom(1), 20));
    await vi.waitFor(() => expect(client.replies.length).toBe(6));
    expect(client.replies).toEqual([STORED_REPLY, STORED_REPLY, REJECTED_REPLY, STORED_REPLY, STORED_REPLY, STORED_REPLY]);
    expect(ingest.accepted.map((d) => hex(d.payload))).toEqual(frames.map(hex));
    expect(ingest.accepted[0]).toMatchObject({ sourceAddress: client.localAddress, metadata: { gateway: '127.0.0.1' } });
    expect(source!.health().detail).toBe(`listening on port ${port}, 1 gateways connected`);
    expect(await metric('meterflux_mbus_tcp_connections')).toBe(1);
  });

  it('answers what a gateway sent before closing its side, then closes', async () => {
    const client = await gateway(await started());
    await client.send([GOOD, GOOD.subarray(0, 10)]);
    client.end();
    await client.whenClosed;
    expect(client.replies).toEqual([STORED_REPLY, REJECTED_REPLY]);
    expect(ingest.deadLetters.map((d) => d.error.reason)).toEqual(['MBUS_TRUNCATED']);
    await vi.waitFor(async () => expect(await metric('meterflux_mbus_tcp_closed_connections_total', { reason: 'peer' })).toBe(1));
  });

  it('refuses connections beyond the limit and counts them', async () => {
    const port = await started({ maxConnections: 2 });
    const [first, second] = [await gateway(port), await gateway(port)];
    await vi.waitFor(async () => expect(await metric('meterflux_mbus_tcp_connections')).toBe(2));
    const third = await gateway(port);
    await third.whenClosed;
    expect(await metric('meterflux_mbus_tcp_refused_connections_total', { reason: 'limit' })).toBe(1);
    expect(first!.closed || second!.closed).toBe(false);
    first!.destroy();
    await vi.waitFor(async () => expect(await metric('meterflux_mbus_tcp_connections')).toBe(1));
    const fourth = await gateway(port);
    await fourth.send([GOOD]);
    await vi.waitFor(() => expect(fourth.replies).toEqual([STORED_REPLY]));
  });

  it('closes connections from addresses not on the allowlist at once, and counts them', async () => {
    const port = await started({ allowlist: ['10.9.9.9'] });
    const stranger = await gateway(port);
    await stranger.whenClosed;
    expect(stranger.replies).toEqual([]);
    expect(await metric('meterflux_mbus_tcp_refused_connections_total', { reason: 'allowlist' })).toBe(1);
    expect(ingest.offered).toEqual([]);
  });

  it('admits a listed address, also when it arrives as IPv4-mapped IPv6 on a dual-stack socket', async () => {
    const port = await started({ host: '::', allowlist: ['10.9.9.9', '127.0.0.1'] });
    const client = await gateway(port, '127.0.0.1');
    await client.send([GOOD]);
    await vi.waitFor(() => expect(client.replies).toEqual([STORED_REPLY]));
    expect(ingest.accepted[0]!.sourceAddress).toBe(client.localAddress);
  });

  it('closes a connection that stays silent for the idle timeout', async () => {
    const client = await gateway(await started({ idleTimeoutMs: 150 }));
    await client.send([GOOD]);
    await client.whenClosed;
    expect(client.replies).toEqual([STORED_REPLY]);
    await vi.waitFor(async () => expect(await metric('meterflux_mbus_tcp_closed_connections_total', { reason: 'idle' })).toBe(1));
  });

  it('closes a connection that sends nothing valid after the bounded number of errors', async () => {
    const client = await gateway(await started({ maxErrorsPerConnection: 3 }));
    await client.send([BAD_CHECKSUM, BAD_CHECKSUM, BAD_CHECKSUM, BAD_CHECKSUM]);
    await client.whenClosed;
    expect(client.replies).toEqual([REJECTED_REPLY, REJECTED_REPLY, REJECTED_REPLY]);
    expect(await metric('meterflux_mbus_tcp_closed_connections_total', { reason: 'errors' })).toBe(1);
  });

  it('on stop, stops listening, answers frames already read once Kafka has them, then closes', async () => {
    const port = await started();
    const held = deferred();
    ingest.beforeAccept = () => held.promise;
    const client = await gateway(port);
    await client.send([GOOD]);
    await vi.waitFor(() => expect(ingest.offered.length).toBe(1));
    const stopping = source!.stop();
    expect(source!.stop()).toBe(stopping);
    await vi.waitFor(() => expect(source!.health()).toEqual({ healthy: false, detail: 'stopping' }));
    const late = await gateway(port);
    await late.whenClosed;
    held.resolve();
    await stopping;
    await client.whenClosed;
    expect(client.replies).toEqual([STORED_REPLY]);
    expect(source!.health()).toEqual({ healthy: false, detail: 'stopped' });
  });

  it('on stop, drops connections whose frames Kafka has not taken within the grace period', async () => {
    const port = await started({ stopGraceMs: 100 });
    ingest.beforeAccept = () => new Promise(() => undefined);
    const client = await gateway(port);
    await client.send([GOOD]);
    await vi.waitFor(() => expect(ingest.offered.length).toBe(1));
    await source!.stop();
    await client.whenClosed;
    expect(client.replies).toEqual([]);
  });

  it('survives gateways that reset the connection while their frames are in flight', async () => {
    const port = await started();
    const held = deferred();
    ingest.beforeAccept = () => held.promise;
    const rude = await gateway(port);
    await rude.send([GOOD, BAD_CHECKSUM]);
    await vi.waitFor(() => expect(ingest.offered.length).toBe(1));
    rude.socket.resetAndDestroy();
    await vi.waitFor(async () => expect(await metric('meterflux_mbus_tcp_connections')).toBe(0));
    held.resolve();
    const polite = await gateway(port);
    await polite.send([GOOD]);
    await vi.waitFor(() => expect(polite.replies).toEqual([STORED_REPLY]));
  });

  it('takes its options from the INGEST_TCP_* configuration', () => {
    const config = loadConfig({ INGEST_TCP_PORT: '10002', INGEST_TCP_MAX_CONNECTIONS: '8', INGEST_TCP_IDLE_TIMEOUT_MS: '60000', INGEST_TCP_ALLOWLIST: '10.0.0.1, 10.0.0.2' });
    expect(mbusTcpSourceOptions(config.ingest, registry)).toEqual({
      port: 10002, maxConnections: 8, idleTimeoutMs: 60000, allowlist: ['10.0.0.1', '10.0.0.2'], registry,
    });
  });
});
