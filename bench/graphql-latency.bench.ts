/**
 * Latency from Kafka to a subscription's client against a raw Kafka consumer's produce → consume
 * latency, both measured on the same events in the same run.
 *
 * An open-loop producer writes one reading at a time at a fixed rate (each send is scheduled, not
 * waiting for the previous answer). Each reading carries its sequence number as its value and in a
 * header. N graphql-ws clients (the `graphql-ws` package's own client) subscribe to readings
 * through the API; a bare consumer of the core Kafka client (a group of its own, from the end of
 * the topic, reading only the header: no decoding, no GraphQL) reads the same topic. A latency is
 * the time from the produce call to the arrival at a subscriber (every delivery counts) or at the
 * raw consumer. The table's figure is 1 ÷ p99 so that the ratio reads like the others (1.0 is raw
 * Kafka's p99); the milliseconds are in the row's name.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createRecordProducer } from '../core/kafka/record-producer.js';
import { reading } from '../graphql/testing/fixtures.js';
import { startApiHarness } from '../graphql/testing/harness.js';
import { waitFor } from '../test/support/stack.js';
import { median, percentile, type BenchResult } from './lib/measure.js';

/** Sizes of one benchmark; the defaults are what `make bench` runs. */
export interface GraphqlLatencyBenchOptions {
  /** Subscribed clients. @default 100 */
  readonly subscribers?: number;
  /** Events per run. @default 1000 */
  readonly events?: number;
  /** Offered rate, events per second. @default 100 */
  readonly ratePerS?: number;
  /** @default 3 */
  readonly repeats?: number;
}

const QUERY = 'subscription { readings { reading { value } } }';
const SEQUENCE_HEADER = 'bench-sequence';
const DEVICE = 'mbus:00000000000000fe';

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Runs the benchmark; one result. */
export async function benchGraphqlLatency(options: GraphqlLatencyBenchOptions = {}): Promise<BenchResult[]> {
  const n = options.subscribers ?? 100;
  const events = options.events ?? 1000;
  const ratePerS = options.ratePerS ?? 100;
  const repeats = options.repeats ?? 3;
  const harness = await startApiHarness({ label: 'bench-latency' });
  const { kafka, codec, catalogue } = harness.kernel;
  const topic = catalogue.readings;
  const producer = createRecordProducer({ kafka, codec, topics: [topic] });
  await producer.start();
  const clients: Client[] = [];
  const raw = kafka.consumer({ groupId: `${harness.kernel.prefix}bench-latency-raw`, readCommitted: true });
  try {
    const org = await harness.organisation('bench');
    const { secret } = await harness.token(org, ['read']);

    /** Send time per sequence number; arrivals of the run being measured. */
    let sent = new Map<number, number>();
    let viaApi: number[] = [];
    let viaKafka: number[] = [];
    const seenByApi = new Map<number, number>();
    const seenByKafka = new Set<number>();
    let sequence = 0;
    /** The first subscription failure; a wait fails with it instead of timing out. */
    let failure: Error | undefined;
    const healthy = (): void => {
      if (failure) throw failure;
    };

    await raw.connect();
    await raw.subscribe([topic.name], { fromBeginning: false });
    await new Promise<void>((resolve, reject) => {
      raw
        .run({
          eachBatch: async (batch) => {
            for (const message of batch.messages) {
              const header = message.headers[SEQUENCE_HEADER];
              if (header === undefined) continue;
              const seq = Number(header.toString());
              const at = sent.get(seq);
              seenByKafka.add(seq);
              if (at !== undefined) viaKafka.push(nowMs() - at);
            }
          },
          onAssigned: () => resolve(),
        })
        .catch(reject);
    });

    for (let i = 0; i < n; i += 1) {
      // One connection at a time: a burst of simultaneous authentications is not what is measured.
      let connected!: () => void;
      let refused!: (err: Error) => void;
      const acknowledged = new Promise<void>((resolve, reject) => {
        connected = resolve;
        refused = reject;
      });
      const client = createClient({
        url: harness.wsUrl,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${secret}` },
        retryAttempts: 0,
        on: { connected: () => connected() },
      });
      clients.push(client);
      client.subscribe<{ readings: { reading: { value: number } } }>({ query: QUERY }, {
        next: ({ data }) => {
          const seq = data?.readings.reading.value;
          if (seq === undefined) return;
          const arrived = nowMs();
          seenByApi.set(seq, (seenByApi.get(seq) ?? 0) + 1);
          const at = sent.get(seq);
          if (at !== undefined) viaApi.push(arrived - at);
        },
        error: (err) => {
          const error = describeFailure(err);
          failure ??= error;
          refused(error);
        },
        complete: () => undefined,
      });
      await acknowledged;
    }

    const produce = async (seq: number): Promise<void> => {
      await producer.produce(topic, [reading(org, DEVICE, Date.UTC(2026, 0, 1) + seq, seq)], { headers: { [SEQUENCE_HEADER]: String(seq) } });
    };
    // Warm-up, one event a second until every subscriber and the raw consumer have one.
    let lastWarmUp = 0;
    let warmUp = -1;
    await waitFor(`${n} subscriptions and the raw consumer attached`, async () => {
      healthy();
      if (warmUp >= 0 && seenByApi.get(warmUp) === n && seenByKafka.has(warmUp)) return true;
      if (nowMs() - lastWarmUp > 1000) {
        lastWarmUp = nowMs();
        warmUp = (sequence += 1);
        await produce(warmUp);
      }
      return false;
    }, { timeoutMs: 120_000 });

    const p50s = { api: [] as number[], kafka: [] as number[] };
    const p99s = { api: [] as number[], kafka: [] as number[] };
    for (let run = 0; run < repeats; run += 1) {
      sent = new Map();
      viaApi = [];
      viaKafka = [];
      const first = sequence + 1;
      const writes: Array<Promise<void>> = [];
      const started = nowMs();
      for (let e = 0; e < events; e += 1) {
        const due = started + (e * 1000) / ratePerS;
        const wait = due - nowMs();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const seq = (sequence += 1);
        sent.set(seq, nowMs());
        writes.push(produce(seq));
      }
      await Promise.all(writes);
      await waitFor('every event at every subscriber and at the raw consumer', () => {
        healthy();
        return viaApi.length >= n * events && viaKafka.length >= events;
      }, { timeoutMs: 600_000, intervalMs: 20 });
      for (let seq = first; seq <= sequence; seq += 1) {
        if (seenByApi.get(seq) !== n) throw new Error(`event ${seq} reached ${seenByApi.get(seq) ?? 0} of ${n} subscribers`);
      }
      p50s.api.push(percentile(viaApi, 50));
      p99s.api.push(percentile(viaApi, 99));
      p50s.kafka.push(percentile(viaKafka, 50));
      p99s.kafka.push(percentile(viaKafka, 99));
    }
    const [apiP50, apiP99, kafkaP50, kafkaP99] = [median(p50s.api), median(p99s.api), median(p50s.kafka), median(p99s.kafka)];
    return [
      {
        name: `Kafka → subscriber latency, ${n} subscribers at ${ratePerS} events/s: p50 ${apiP50.toFixed(1)} / p99 ${apiP99.toFixed(1)} ms (raw consumer p50 ${kafkaP50.toFixed(1)} / p99 ${kafkaP99.toFixed(1)} ms)`,
        subject: 1000 / apiP99,
        baseline: 1000 / kafkaP99,
        baselineName: 'raw Kafka produce → consume, same events',
        unit: '÷ p99 (1/s)',
      },
    ];
  } finally {
    await Promise.all(clients.map((c) => c.dispose()));
    await raw.disconnect().catch(() => undefined);
    await producer.stop();
    await harness.stop();
  }
}

/** graphql-ws hands a sink an Error, a list of GraphQL errors, or a close event. */
function describeFailure(err: unknown): Error {
  if (err instanceof Error) return err;
  if (Array.isArray(err)) return new Error(`subscription failed: ${err.map((e: { message?: string }) => e.message).join('; ')}`);
  const close = err as { code?: number; reason?: string };
  return new Error(`subscription failed: socket closed with ${close.code ?? '?'} ${close.reason ?? ''}`.trim());
}
