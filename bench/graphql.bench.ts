/**
 * Subscription fan-out of the API against a raw `ws` broadcast of the same bytes.
 *
 * N WebSocket clients (1k and 5k) subscribe to the same readings subscription with the same token,
 * speaking graphql-transport-ws directly (so client cost is the same on both sides): the API runs
 * one shared execution and fans its results out. A run produces E readings to Kafka and ends when
 * every client has received all E `next` messages; the rate is deliveries (N × E) per second, Kafka
 * consumption and decoding included. The baseline is a bare `ws` server sending a captured `next`
 * message of the same size E times to N clients of the same kind, in the same run. Memory per
 * subscriber is the heap growth of the process when the N subscriptions attach, divided by N.
 */
import WebSocket, { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { createRecordProducer } from '../core/kafka/record-producer.js';
import { reading } from '../graphql/testing/fixtures.js';
import { startApiHarness } from '../graphql/testing/harness.js';
import { waitFor } from '../test/support/stack.js';
import { median, type BenchResult } from './lib/measure.js';

/** Sizes of one benchmark; the defaults are what `make bench` runs. */
export interface GraphqlBenchOptions {
  /** @default [1000, 5000] */
  readonly subscribers?: readonly number[];
  /** Events per run. @default 200 */
  readonly events?: number;
  /** @default 3 */
  readonly repeats?: number;
}

const QUERY = 'subscription { readings { cursor reading { deviceId registerKey value unit observedAt } } }';

/** A client counting the messages it receives after it subscribed. */
interface Counter {
  received: number;
  readonly socket: WebSocket;
}

async function open(url: string, protocol: string | undefined, onOpen: (socket: WebSocket, counter: Counter) => void): Promise<Counter> {
  const socket = new WebSocket(url, protocol);
  const counter: Counter = { received: 0, socket };
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => {
      onOpen(socket, counter);
      resolve();
    });
    socket.once('error', reject);
  });
  return counter;
}

async function graphqlClient(url: string, secret: string): Promise<Counter> {
  let subscribed = false;
  return open(url, 'graphql-transport-ws', (socket, counter) => {
    socket.on('message', () => {
      if (subscribed) {
        counter.received += 1;
        return;
      }
      // The first message is connection_ack.
      subscribed = true;
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: QUERY } }));
    });
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${secret}` } }));
  });
}

async function closeAll(counters: readonly Counter[]): Promise<void> {
  await Promise.all(counters.map((c) => new Promise<void>((resolve) => {
    if (c.socket.readyState === WebSocket.CLOSED) return resolve();
    c.socket.once('close', () => resolve());
    c.socket.close();
  })));
}

/** Waits until no client's count changed for half a second (warm-up messages still in flight). */
async function settle(counters: readonly Counter[]): Promise<void> {
  let last = -1;
  await waitFor('counts to settle', () => {
    const total = counters.reduce((sum, c) => sum + c.received, 0);
    const stable = total === last;
    last = total;
    return stable;
  }, { intervalMs: 500, timeoutMs: 60_000 });
}

const allReceived = (counters: readonly Counter[], n: number) => counters.every((c) => c.received >= n);

/** Runs the benchmark; one result per subscriber count. */
export async function benchGraphql(options: GraphqlBenchOptions = {}): Promise<BenchResult[]> {
  const counts = options.subscribers ?? [1000, 5000];
  const events = options.events ?? 200;
  const repeats = options.repeats ?? 3;
  const harness = await startApiHarness({ label: 'bench-api', subscriberBuffer: events * 2 });
  const producer = createRecordProducer({ kafka: harness.kernel.kafka, codec: harness.kernel.codec, topics: [harness.kernel.catalogue.readings] });
  await producer.start();
  const results: BenchResult[] = [];
  try {
    const org = await harness.organisation('bench');
    const { secret } = await harness.token(org, ['read']);
    let sequence = 0;
    const batch = (n: number) => Array.from({ length: n }, () => reading(org, 'mbus:00000000000000ff', Date.UTC(2026, 0, 1) + (sequence += 1), sequence));

    for (const n of counts) {
      const subject: number[] = [];
      const baseline: number[] = [];
      let heapPerSubscriber = 0;
      let captured = '';
      for (let run = 0; run < repeats; run += 1) {
        global.gc?.();
        const heapBefore = process.memoryUsage().heapUsed;
        const clients: Counter[] = [];
        for (let i = 0; i < n; i += 1) clients.push(await graphqlClient(harness.wsUrl, secret));
        // Warm-up events, one a second, until every client has one: proof that every subscription attached.
        let lastWarmUp = 0;
        await waitFor(`${n} subscriptions attached`, async () => {
          if (allReceived(clients, 1)) return true;
          if (Date.now() - lastWarmUp > 1000) {
            lastWarmUp = Date.now();
            await producer.produce(harness.kernel.catalogue.readings, batch(1));
          }
          return false;
        }, { timeoutMs: 120_000 });
        // Let stragglers of the warm-up arrive before counting restarts.
        await waitFor('the warm-up to settle', () => harness.api.services.live.subscribers() === 1);
        if (run === 0) heapPerSubscriber = (process.memoryUsage().heapUsed - heapBefore) / n;
        await settle(clients);
        for (const c of clients) c.received = 0;
        if (captured === '') {
          captured = await new Promise<string>((resolve) => {
            clients[0]!.socket.once('message', (data) => resolve(String(data)));
            void producer.produce(harness.kernel.catalogue.readings, batch(1));
          });
          await waitFor('the capture event everywhere', () => allReceived(clients, 1), { timeoutMs: 120_000 });
          for (const c of clients) c.received = 0;
        }
        const started = process.hrtime.bigint();
        await producer.produce(harness.kernel.catalogue.readings, batch(events));
        await waitFor('every event at every subscriber', () => allReceived(clients, events), { timeoutMs: 600_000, intervalMs: 5 });
        subject.push((n * events) / (Number(process.hrtime.bigint() - started) / 1e9));
        await closeAll(clients);
        await waitFor('subscriptions detached', () => harness.api.services.live.subscribers() === 0, { timeoutMs: 60_000 });

        const server = new WebSocketServer({ port: 0 });
        const sockets: WebSocket[] = [];
        server.on('connection', (socket) => sockets.push(socket));
        const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
        const raw: Counter[] = [];
        for (let i = 0; i < n; i += 1) raw.push(await open(url, undefined, (socket, counter) => socket.on('message', () => (counter.received += 1))));
        await waitFor('raw clients accepted', () => sockets.length === n);
        const rawStarted = process.hrtime.bigint();
        for (let e = 0; e < events; e += 1) for (const socket of sockets) socket.send(captured);
        await waitFor('every raw message at every client', () => allReceived(raw, events), { timeoutMs: 600_000, intervalMs: 5 });
        baseline.push((n * events) / (Number(process.hrtime.bigint() - rawStarted) / 1e9));
        await closeAll(raw);
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      results.push({
        name: `subscription fan-out to ${n.toLocaleString('en')} subscribers (${(heapPerSubscriber / 1024).toFixed(1)} KiB heap per subscriber, client sockets in the same process included)`,
        subject: median(subject),
        baseline: median(baseline),
        baselineName: 'raw ws broadcast of the same bytes',
        aim: 0.7,
        unit: 'deliveries/s',
      });
    }
  } finally {
    await producer.stop();
    await harness.stop();
  }
  return results;
}
