/**
 * Subscription fan-out of the API against a raw `ws` broadcast of the same bytes.
 *
 * N WebSocket clients (1k and 5k) subscribe to the same readings subscription with the same token,
 * speaking graphql-transport-ws directly (so client cost is the same on both sides): the API runs
 * one shared execution and fans its results out. A run produces E readings to Kafka and ends when
 * every client has received all E `next` messages; the rate is deliveries (N × E) per second, Kafka
 * consumption and decoding included. The baseline is a bare `ws` server sending a captured `next`
 * message of the same size E times to N clients of the same kind, in the same run.
 *
 * The clients live in a child process (bench/graphql-fanout-clients.ts), so this process holds
 * the server side only: memory per subscriber is the growth of this process's heap when the N
 * subscriptions attach, divided by N (after a GC when node runs with `--expose-gc`).
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { createRecordProducer } from '../core/kafka/record-producer.js';
import { reading } from '../graphql/testing/fixtures.js';
import { startApiHarness } from '../graphql/testing/harness.js';
import { waitFor } from '../test/support/stack.js';
import type { ClientAnswer, ClientCommand } from './graphql-fanout-clients.js';
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

/** The client process: one command at a time, answered in order. */
class Clients {
  readonly #child: ChildProcess;
  readonly #waiting: Array<(answer: ClientAnswer) => void> = [];

  constructor() {
    this.#child = fork(fileURLToPath(new URL('./graphql-fanout-clients.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    this.#child.on('message', (answer: ClientAnswer) => this.#waiting.shift()?.(answer));
  }

  /** Sends `command` and resolves with its answer; rejects when the clients report a failure. */
  async ask(command: ClientCommand): Promise<ClientAnswer> {
    const answer = await new Promise<ClientAnswer>((resolve) => {
      this.#waiting.push(resolve);
      this.#child.send(command);
    });
    if (answer.type === 'failed') throw new Error(`fan-out clients: ${answer.error}`);
    return answer;
  }

  async total(): Promise<number> {
    const answer = await this.ask({ type: 'total' });
    return answer.type === 'total' ? answer.received : 0;
  }

  stop(): void {
    this.#child.kill();
  }
}

/** Waits until no client's count changed for half a second (warm-up messages still in flight). */
async function settle(clients: Clients): Promise<void> {
  let last = -1;
  await waitFor('counts to settle', async () => {
    const total = await clients.total();
    const stable = total === last;
    last = total;
    return stable;
  }, { intervalMs: 500, timeoutMs: 60_000 });
}

/** Runs the benchmark; one result per subscriber count. */
export async function benchGraphql(options: GraphqlBenchOptions = {}): Promise<BenchResult[]> {
  const counts = options.subscribers ?? [1000, 5000];
  const events = options.events ?? 200;
  const repeats = options.repeats ?? 3;
  const harness = await startApiHarness({ label: 'bench-api', subscriberBuffer: events * 2 });
  const producer = createRecordProducer({ kafka: harness.kernel.kafka, codec: harness.kernel.codec, topics: [harness.kernel.catalogue.readings] });
  await producer.start();
  const clients = new Clients();
  const results: BenchResult[] = [];
  try {
    const org = await harness.organisation('bench');
    const { secret } = await harness.token(org, ['read']);
    let sequence = 0;
    const produce = (n: number) =>
      producer.produce(
        harness.kernel.catalogue.readings,
        Array.from({ length: n }, () => reading(org, 'mbus:00000000000000ff', Date.UTC(2026, 0, 1) + (sequence += 1), sequence)),
      );

    for (const n of counts) {
      const subject: number[] = [];
      const baseline: number[] = [];
      let heapPerSubscriber = 0;
      let captured = '';
      for (let run = 0; run < repeats; run += 1) {
        global.gc?.();
        const heapBefore = process.memoryUsage().heapUsed;
        await clients.ask({ type: 'open', url: harness.wsUrl, count: n, graphql: { secret, query: QUERY } });
        // Warm-up events, one a second, until every client has one: proof that every subscription attached.
        let attached = false;
        const everyone = clients.ask({ type: 'await', received: 1 }).then(() => (attached = true));
        let lastWarmUp = 0;
        await waitFor(`${n} subscriptions attached`, async () => {
          if (attached) return true;
          if (Date.now() - lastWarmUp > 1000) {
            lastWarmUp = Date.now();
            await produce(1);
          }
          return false;
        }, { timeoutMs: 120_000 });
        await everyone;
        await waitFor('one shared execution', () => harness.api.services.live.subscribers() === 1);
        // Let stragglers of the warm-up arrive before counting restarts.
        await settle(clients);
        if (run === 0) {
          global.gc?.();
          heapPerSubscriber = (process.memoryUsage().heapUsed - heapBefore) / n;
        }
        await clients.ask({ type: 'reset' });
        if (captured === '') {
          const capture = clients.ask({ type: 'capture' });
          await produce(1);
          const answer = await capture;
          if (answer.type === 'captured') captured = answer.message;
          await clients.ask({ type: 'await', received: 1 });
          await clients.ask({ type: 'reset' });
        }
        const started = process.hrtime.bigint();
        const delivered = clients.ask({ type: 'await', received: events });
        await produce(events);
        await delivered;
        subject.push((n * events) / (Number(process.hrtime.bigint() - started) / 1e9));
        await clients.ask({ type: 'close' });
        await waitFor('subscriptions detached', () => harness.api.services.live.subscribers() === 0, { timeoutMs: 60_000 });

        const server = new WebSocketServer({ port: 0 });
        const sockets: WebSocket[] = [];
        server.on('connection', (socket) => sockets.push(socket));
        const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
        await clients.ask({ type: 'open', url, count: n });
        await waitFor('raw clients accepted', () => sockets.length === n);
        const rawStarted = process.hrtime.bigint();
        const rawDelivered = clients.ask({ type: 'await', received: events });
        for (let e = 0; e < events; e += 1) for (const socket of sockets) socket.send(captured);
        await rawDelivered;
        baseline.push((n * events) / (Number(process.hrtime.bigint() - rawStarted) / 1e9));
        await clients.ask({ type: 'close' });
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      results.push({
        name: `subscription fan-out to ${n.toLocaleString('en')} subscribers (${(heapPerSubscriber / 1024).toFixed(1)} KiB server heap per subscriber; clients in another process)`,
        subject: median(subject),
        baseline: median(baseline),
        baselineName: 'raw ws broadcast of the same bytes',
        aim: 0.7,
        unit: 'deliveries/s',
      });
    }
  } finally {
    clients.stop();
    await producer.stop();
    await harness.stop();
  }
  return results;
}
