/**
 * The ingest connectors against raw Kafka and against their upstream. Per transport:
 *
 * - records/s from the client through the connector to Kafka's acknowledgement, as a ratio to raw
 *   batched kafkajs produce (500 per send, acks=all, idempotent) of the very records the connector
 *   wrote: captured in a warm-up run, so the baseline sends the same keys and bytes to the same
 *   partitions of the same broker;
 * - MQTT also as a ratio to Mosquitto delivering the same messages to a bare auto-acking QoS 1
 *   subscriber (mqtt.js defaults) in this process, where the connector runs;
 * - the answer latency at half the measured maximum, open loop: the client sends on a fixed
 *   schedule whatever the answers do, and each record's latency runs from the moment it was
 *   handed to the client library to its answer.
 *
 * "Done", for the rate and for the latency, is the connector's own definition: HTTP 202 and M-Bus
 * E5 as the client receives them; for MQTT and LNS, whose senders hear nothing from the connector
 * (the publisher's PUBACK comes from the broker, and no LNS lets an application confirm an
 * uplink), Kafka's acknowledgement of the record, observed on the connector's producer. Every run
 * is checked against the topic's end offsets: exactly the records sent landed.
 *
 * Wiring as connectors/main.ts: createRecordProducer + createIngest (its defaults: linger 5 ms,
 * 500 records per batch) + the source, on a prefixed catalogue (testKernel, 3 partitions). The
 * clients run in a child process (lib/load-client.ts): on 2 cores a client in the connector's
 * process would take turns with it on one event loop, which no real client does.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Kafka, Partitioners, logLevel, type Message, type Producer as KafkajsProducer } from 'kafkajs';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { Registry } from 'prom-client';
import { createIngest, type Ingest } from '../connectors/kit/ingest.js';
import { createHttpSource } from '../connectors/http/source.js';
import { createLnsSource, type LnsSource } from '../connectors/lns/source.js';
import { createMbusTcpSource } from '../connectors/mbus-tcp/source.js';
import { createMqttSource } from '../connectors/mqtt/source.js';
import type { Admin, OutgoingMessage } from '../core/kafka/client.js';
import { createRecordProducer, type RecordProducer } from '../core/kafka/record-producer.js';
import type { TopicSpec } from '../core/topics.js';
import { deleteTopics, testKernel, waitFor, type TestKernel } from '../test/support/stack.js';
import {
  MAX_RECORDS_PER_RUN,
  nowMs,
  recordIndexOf,
  type LoadCommand,
  type LoadReply,
  type LoadSetup,
  type SendCommand,
  type SentReply,
} from './lib/connector-load.js';
import { median, percentile, type BenchResult, type LatencyResult } from './lib/measure.js';

const RECORDS = 20_000;
const REPEATS = 5;
/** Records per send of the raw baseline, as the ingest's largest batch. */
const RAW_BATCH = 500;
const LATENCY_RUNS = 3;
const LATENCY_RUN_SECONDS = 5;
const RUN_TIMEOUT_MS = 180_000;
const MQTT_PUBLISHERS = 4;
const HTTP_CONNECTIONS = 64;
const HTTP_BATCH_CONNECTIONS = 8;
const HTTP_BATCH = 100;
const TCP_GATEWAYS = 16;

/**
 * What every transport's measurement shares: the kernel, the connectors' producer (each connector
 * has its own ingest on it, as in the ingest process), the raw baseline producer, an admin for offsets.
 */
interface Bench {
  readonly kernel: TestKernel;
  readonly producer: RecordProducer;
  readonly raw: KafkajsProducer;
  readonly admin: Admin;
}

/** One connector running with its load client, ready for runs. */
interface Rig {
  readonly client: LoadClient;
  readonly watch: CountWatch;
  /** Who sees a record done: the client (HTTP 202, E5) or only Kafka (MQTT, LNS). */
  readonly answeredBy: 'client' | 'kafka';
  /** Records per client message (HTTP batches); runs are whole messages. */
  readonly recordsPerMessage: number;
  readonly topicPrefix?: string;
}

/** Counts arrivals (records Kafka acknowledged, messages a subscriber got) and resolves at a target. */
interface CountWatch {
  /**
   * Resolves with the time of the `count`-th arrival from now on. `ackMs`, when given, receives
   * each record's arrival time at its index; `capture` receives the acknowledged messages.
   */
  expect(count: number, options?: { readonly ackMs?: number[]; readonly capture?: OutgoingMessage[] }): Promise<number>;
  arrived(count: number, messages?: readonly OutgoingMessage[]): void;
  /** Fails the current expectation. */
  fail(error: Error): void;
}

function countWatch(): CountWatch {
  let current:
    | { target: number; seen: number; ackMs?: number[]; capture?: OutgoingMessage[]; resolve(at: number): void; reject(error: Error): void }
    | undefined;
  return {
    expect(count, options = {}) {
      return new Promise<number>((resolve, reject) => {
        current = { target: count, seen: 0, ...options, resolve, reject };
      });
    },
    arrived(count, messages = []) {
      if (current === undefined) return;
      const at = nowMs();
      current.seen += count;
      current.capture?.push(...messages);
      if (current.ackMs !== undefined) for (const message of messages) current.ackMs[recordIndexOf(message.key)] = at;
      if (current.seen >= current.target) current.resolve(at);
    },
    fail(error) {
      current?.reject(error);
    },
  };
}

/** The connector's producer, reporting Kafka's acknowledgements of `topic` and failing the run on any dead letter. */
function observedProducer(inner: RecordProducer, topic: TopicSpec, watch: CountWatch): RecordProducer {
  return {
    ...inner,
    async send(target, messages) {
      const results = await inner.send(target, messages);
      if (target.name === topic.name) watch.arrived(messages.length, messages);
      return results;
    },
    produce(target, values, options) {
      watch.fail(new Error(`the connector wrote to ${target.name}: it refused benchmark traffic that should be valid`));
      return inner.produce(target, values, options);
    },
  };
}

/** The load client child process; one command at a time. */
class LoadClient {
  private readonly child: ChildProcess;
  private waiting: { resolve(reply: LoadReply): void; reject(error: Error): void } | undefined;

  constructor() {
    // The child inherits this process's execArgv, tsx's loader included.
    this.child = fork(fileURLToPath(new URL('./lib/load-client.ts', import.meta.url)), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (reply) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.resolve(reply as LoadReply);
    });
    this.child.on('exit', (code, signal) => this.waiting?.reject(new Error(`the load client exited (${signal ?? code ?? '?'})`)));
  }

  async setup(setup: LoadSetup): Promise<{ lnsUrl?: string }> {
    return this.ask({ kind: 'setup', setup }, 'ready');
  }

  async send(command: Omit<SendCommand, 'kind'>): Promise<SentReply> {
    return this.ask({ kind: 'send', ...command }, 'sent');
  }

  async close(): Promise<void> {
    if (this.child.connected) await this.ask({ kind: 'close' }, 'closed');
  }

  private async ask<K extends LoadReply['kind']>(command: LoadCommand, expected: K): Promise<Extract<LoadReply, { kind: K }>> {
    const reply = await within(new Promise<LoadReply>((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.child.send(command);
    }), `the load client to answer ${command.kind}`);
    if (reply.kind === 'failed') throw new Error(`load client: ${reply.message}`);
    if (reply.kind !== expected) throw new Error(`load client answered ${reply.kind} to ${command.kind}`);
    return reply as Extract<LoadReply, { kind: K }>;
  }
}

async function within<T>(promise: Promise<T>, what: string, timeoutMs = RUN_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Records on the topic so far: the sum of its partitions' end offsets. */
async function endOffset(bench: Bench): Promise<number> {
  const offsets = await bench.admin.topicOffsets(bench.kernel.catalogue.rawUplinks.name);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

/** An ingest for one connector, as connectors/main.ts wires it, on the shared producer; `watch` sees its Kafka acknowledgements. */
function ingestFor(bench: Bench, connector: string, metrics: Registry): { ingest: Ingest; watch: CountWatch } {
  const { catalogue, logger } = bench.kernel;
  const watch = countWatch();
  const producer = observedProducer(bench.producer, catalogue.rawUplinks, watch);
  return { ingest: createIngest({ producer, catalogue, connector, logger, metrics }), watch };
}

/** One run through the connector: its rate, and with `ratePerS` (open loop) each record's latency. */
async function connectorRun(bench: Bench, rig: Rig, run: number, count: number,
  options: { readonly ratePerS?: number; readonly capture?: OutgoingMessage[] } = {}): Promise<{ ratePerS: number; offeredPerS: number; latenciesMs: number[] }> {
  const before = await endOffset(bench);
  const timed = options.ratePerS !== undefined;
  const ackMs = timed && rig.answeredBy === 'kafka' ? new Array<number>(count) : undefined;
  const [sent, lastAckMs] = await Promise.all([
    rig.client.send({ run, count, ...(options.ratePerS === undefined ? {} : { ratePerS: options.ratePerS }),
      ...(rig.topicPrefix === undefined ? {} : { topicPrefix: rig.topicPrefix }) }),
    within(rig.watch.expect(count, { ...(ackMs ? { ackMs } : {}), ...(options.capture ? { capture: options.capture } : {}) }),
      `Kafka to acknowledge ${count} records of run ${run}`),
  ]);
  const landed = (await endOffset(bench)) - before;
  if (landed !== count) throw new Error(`run ${run}: ${count} records sent, ${landed} landed on ${bench.kernel.catalogue.rawUplinks.name}`);
  const finishedMs = rig.answeredBy === 'kafka' ? lastAckMs : sent.finishedMs;
  const answeredMs = ackMs ?? sent.answeredMs;
  return {
    ratePerS: count / ((finishedMs - sent.startedMs) / 1000),
    offeredPerS: timed ? (count - 1) / ((sent.sentMs[count - 1]! - sent.startedMs) / 1000) : 0,
    latenciesMs: timed ? sent.sentMs.map((at, i) => answeredMs[i]! - at) : [],
  };
}

/** Raw batched kafkajs produce of `messages`; records/s. */
async function rawRun(bench: Bench, messages: readonly Message[]): Promise<number> {
  const topic = bench.kernel.catalogue.rawUplinks.name;
  const started = nowMs();
  for (let i = 0; i < messages.length; i += RAW_BATCH) {
    await bench.raw.send({ topic, acks: -1, messages: messages.slice(i, i + RAW_BATCH) });
  }
  return messages.length / ((nowMs() - started) / 1000);
}

/** A bare QoS 1 subscriber with mqtt.js's own acknowledgement (PUBACK when the handler returns). */
interface BareSubscriber {
  readonly topicPrefix: string;
  readonly watch: CountWatch;
  close(): Promise<void>;
}

async function bareSubscriber(bench: Bench): Promise<BareSubscriber> {
  const topicPrefix = `${bench.kernel.prefix}bare/`;
  const watch = countWatch();
  const client: MqttClient = await mqtt.connectAsync(bench.kernel.config.mqtt.url, { clientId: `${bench.kernel.prefix}bare`, clean: true, protocolVersion: 5 });
  client.on('message', () => watch.arrived(1));
  await client.subscribeAsync(`${topicPrefix}stations/+/+`, { qos: 1 });
  return { topicPrefix, watch, close: () => client.endAsync() };
}

/** One run from the MQTT publishers to the bare subscriber; messages/s. */
async function bareRun(rig: Rig, bare: BareSubscriber, run: number): Promise<number> {
  const [sent, lastMs] = await Promise.all([
    rig.client.send({ run, count: RECORDS, topicPrefix: bare.topicPrefix }),
    within(bare.watch.expect(RECORDS), `the bare subscriber to get ${RECORDS} messages of run ${run}`),
  ]);
  return RECORDS / ((lastMs - sent.startedMs) / 1000);
}

/** What {@link measure} found for one connector. */
interface Measured {
  readonly subject: number;
  readonly baseline: number;
  readonly bare?: number;
  readonly latency: LatencyResult;
}

/**
 * Warm-up (capturing the records for the baseline), then {@link REPEATS} rounds of connector run,
 * raw baseline run (and bare-subscriber run), their order rotating each round so drift on a
 * shared machine hits all alike; then {@link LATENCY_RUNS} open-loop runs at half the median rate.
 */
async function measure(bench: Bench, rig: Rig, bare?: BareSubscriber): Promise<Measured> {
  const captured: OutgoingMessage[] = [];
  await connectorRun(bench, rig, 0, RECORDS, { capture: captured });
  const records: Message[] = captured.map((m) => ({ key: m.key, value: m.value }));
  await rawRun(bench, records);
  if (bare) await bareRun(rig, bare, 0);

  const ours: number[] = [];
  const base: number[] = [];
  const bareRates: number[] = [];
  for (let run = 1; run <= REPEATS; run++) {
    const steps: Array<() => Promise<void>> = [
      async () => void ours.push((await connectorRun(bench, rig, run, RECORDS)).ratePerS),
      async () => void base.push(await rawRun(bench, records)),
      ...(bare ? [async () => void bareRates.push(await bareRun(rig, bare, run))] : []),
    ];
    const first = run % steps.length;
    for (const step of [...steps.slice(first), ...steps.slice(0, first)]) await step();
  }

  const ratePerS = median(ours) / 2;
  const messages = Math.max(2_000, Math.min(MAX_RECORDS_PER_RUN, Math.round(ratePerS * LATENCY_RUN_SECONDS))) / rig.recordsPerMessage;
  const count = Math.round(messages) * rig.recordsPerMessage;
  const p50: number[] = [];
  const p99: number[] = [];
  const offered: number[] = [];
  for (let i = 0; i < LATENCY_RUNS; i++) {
    const run = await connectorRun(bench, rig, REPEATS + 1 + i, count, { ratePerS });
    p50.push(percentile(run.latenciesMs, 50));
    p99.push(percentile(run.latenciesMs, 99));
    offered.push(run.offeredPerS);
  }
  return {
    subject: median(ours),
    baseline: median(base),
    ...(bare ? { bare: median(bareRates) } : {}),
    latency: { ratePerS: median(offered), p50Ms: median(p50), p99Ms: median(p99) },
  };
}

async function benchMqtt(bench: Bench): Promise<BenchResult[]> {
  const { kernel } = bench;
  const metrics = new Registry();
  const { ingest, watch } = ingestFor(bench, 'mqtt', metrics);
  const clientId = `${kernel.prefix}mqtt`;
  const topicPrefix = `${kernel.prefix}mqtt/`;
  // A short session expiry, so a bench that dies before its clean-up leaves no session for long.
  const source = createMqttSource({ url: kernel.config.mqtt.url, clientId, topicPrefix, sessionExpirySeconds: 600, metrics, logger: kernel.logger });
  const client = new LoadClient();
  const bare = await bareSubscriber(bench);
  try {
    await source.start(ingest);
    await client.setup({ transport: 'mqtt', url: kernel.config.mqtt.url, publishers: MQTT_PUBLISHERS });
    const found = await measure(bench, { client, watch, answeredBy: 'kafka', recordsPerMessage: 1, topicPrefix }, bare);
    const subject = `mqtt: station telemetry, QoS 1, ${MQTT_PUBLISHERS} publishers → Kafka ack`;
    return [
      { name: subject, subject: found.subject, baseline: found.baseline, baselineName: 'raw kafkajs batched produce, same records', aim: 0.8, unit: 'rec/s', latency: found.latency },
      { name: 'mqtt: the same runs, against the broker', subject: found.subject, baseline: found.bare!, baselineName: 'Mosquitto → bare auto-acking QoS 1 subscriber', aim: 0.5, unit: 'rec/s' },
    ];
  } finally {
    await client.close();
    await bare.close();
    await source.stop();
    // The connector's session is persistent; a clean start with expiry 0 ends it at the broker.
    const forget = await mqtt.connectAsync(kernel.config.mqtt.url, { clientId, clean: true, protocolVersion: 5, properties: { sessionExpiryInterval: 0 } });
    await forget.endAsync();
  }
}

async function benchHttp(bench: Bench, uplinksPerRequest: number, connections: number): Promise<BenchResult[]> {
  const { kernel } = bench;
  const metrics = new Registry();
  const { ingest, watch } = ingestFor(bench, 'http', metrics);
  const organisation = `${kernel.prefix}org`;
  const secret = `mf_bench_${randomBytes(16).toString('hex')}`;
  const redisKeyPrefix = `${kernel.prefix}http:`;
  const db = new pg.Client({ connectionString: kernel.config.postgres.url });
  await db.connect();
  await db.query('INSERT INTO organisations (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING', [organisation]);
  await db.query(`INSERT INTO api_tokens (id, organisation_id, name, secret_sha256, scopes) VALUES ($1, $2, 'bench', $3, ARRAY['ingest'])`,
    [`tok-${organisation}`, organisation, createHash('sha256').update(secret).digest()]);
  const source = createHttpSource({
    port: 0, host: '127.0.0.1', maxBodyBytes: 1 << 20, databaseUrl: kernel.config.postgres.url, redisUrl: kernel.config.redis.url,
    // Short retention, so Idempotency-Key answers of a bench that dies before its clean-up expire soon.
    redisKeyPrefix, idempotencyRetentionMs: 600_000, metrics, logger: kernel.logger,
  });
  const client = new LoadClient();
  try {
    await source.start(ingest);
    await client.setup({ transport: 'http', url: `http://127.0.0.1:${source.port}`, token: secret, uplinksPerRequest, connections });
    const found = await measure(bench, { client, watch, answeredBy: 'client', recordsPerMessage: uplinksPerRequest });
    const shape = uplinksPerRequest === 1 ? '1 uplink per request' : `${uplinksPerRequest} uplinks per request`;
    return [{
      name: `http: ${shape}, ${connections} connections → 202`, subject: found.subject, baseline: found.baseline,
      baselineName: 'raw kafkajs batched produce, same records', aim: 0.8, unit: 'rec/s', latency: found.latency,
    }];
  } finally {
    await client.close();
    await source.stop();
    await db.query('DELETE FROM api_tokens WHERE organisation_id = $1', [organisation]);
    await db.query('DELETE FROM organisations WHERE id = $1', [organisation]);
    await db.end();
    await deleteRedisKeys(kernel.config.redis.url, redisKeyPrefix);
  }
}

async function benchMbusTcp(bench: Bench): Promise<BenchResult[]> {
  const metrics = new Registry();
  const { ingest, watch } = ingestFor(bench, 'mbus-tcp', metrics);
  const source = createMbusTcpSource({ port: 0, host: '127.0.0.1', registry: metrics });
  const client = new LoadClient();
  try {
    await source.start(ingest);
    await client.setup({ transport: 'mbus-tcp', host: '127.0.0.1', port: source.address()!.port, gateways: TCP_GATEWAYS });
    const found = await measure(bench, { client, watch, answeredBy: 'client', recordsPerMessage: 1 });
    return [{
      name: `mbus-tcp: long frames, ${TCP_GATEWAYS} gateway connections → E5`, subject: found.subject, baseline: found.baseline,
      baselineName: 'raw kafkajs batched produce, same records', aim: 0.8, unit: 'rec/s', latency: found.latency,
    }];
  } finally {
    await client.close();
    await source.stop();
  }
}

async function benchLns(bench: Bench): Promise<BenchResult[]> {
  const { kernel } = bench;
  const metrics = new Registry();
  const { ingest, watch } = ingestFor(bench, 'lns', metrics);
  const client = new LoadClient();
  const login = 'bench';
  const password = randomBytes(8).toString('hex');
  let source: LnsSource | undefined;
  try {
    const { lnsUrl } = await client.setup({ transport: 'lns', login, password });
    // No resume store: the connector starts on an empty history, where the store finds nothing to resume from.
    source = createLnsSource({ url: lnsUrl!, login, password, connector: 'lns', logger: kernel.logger, metrics });
    const started = source;
    await started.start(ingest);
    await waitFor('the LNS connector to log in and resume', () => started.status().resumed);
    const found = await measure(bench, { client, watch, answeredBy: 'kafka', recordsPerMessage: 1 });
    return [{
      name: 'lns: Vega rx over WebSocket → Kafka ack', subject: found.subject, baseline: found.baseline,
      baselineName: 'raw kafkajs batched produce, same records', aim: 0.8, unit: 'rec/s', latency: found.latency,
    }];
  } finally {
    await client.close();
    await source?.stop();
  }
}

async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1000 })) {
      if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
    }
  } finally {
    redis.disconnect();
  }
}

/** Deletes the registry subjects of the kernel's catalogue (soft, then permanently). */
async function deleteSubjects(kernel: TestKernel): Promise<void> {
  const registry = kernel.config.schemaRegistry.url;
  const subjects = (await (await fetch(`${registry}/subjects`)).json()) as string[];
  for (const subject of subjects.filter((s) => s.startsWith(kernel.prefix))) {
    for (const query of ['', '?permanent=true']) {
      const response = await fetch(`${registry}/subjects/${encodeURIComponent(subject)}${query}`, { method: 'DELETE' });
      if (!response.ok) throw new Error(`deleting subject ${subject}${query}: HTTP ${response.status} ${await response.text()}`);
    }
  }
}

/**
 * Runs every connector's measurement against the local stack (`make up`) and returns one row per
 * ratio; the connector rows carry the answer latency at half their maximum. Takes several
 * minutes. Removes every topic, subject, session, token and key it created.
 */
export async function benchConnectors(): Promise<BenchResult[]> {
  const kernel = await testKernel('bench-conn');
  const admin = kernel.kafka.admin();
  await admin.connect();
  const { kafka, codec, catalogue } = kernel;
  const producer = createRecordProducer({ kafka, codec, topics: [catalogue.rawUplinks, catalogue.dlqOf(catalogue.rawUplinks)] });
  await producer.start();
  const raw = new Kafka({ clientId: 'bench-raw', brokers: [...kernel.config.kafka.brokers], logLevel: logLevel.NOTHING })
    .producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await raw.connect();
  const bench: Bench = { kernel, producer, raw, admin };
  try {
    const results: BenchResult[] = [];
    // BENCH_TRANSPORTS=mqtt,lns picks transports (e.g. to profile one); all by default.
    const wanted = (process.env['BENCH_TRANSPORTS'] ?? '').split(',').map((name) => name.trim()).filter(Boolean);
    const transports = [
      ['mqtt', () => benchMqtt(bench)],
      ['http', () => benchHttp(bench, 1, HTTP_CONNECTIONS)],
      ['http batches', () => benchHttp(bench, HTTP_BATCH, HTTP_BATCH_CONNECTIONS)],
      ['mbus-tcp', () => benchMbusTcp(bench)],
      ['lns', () => benchLns(bench)],
    ] as const;
    for (const [name, one] of transports.filter(([name]) => wanted.length === 0 || wanted.includes(name.split(' ')[0]!))) {
      const started = nowMs();
      results.push(...(await one()));
      process.stderr.write(`connectors bench: ${name} done in ${((nowMs() - started) / 1000).toFixed(0)} s\n`);
    }
    return results;
  } finally {
    await raw.disconnect();
    await producer.stop();
    await admin.disconnect();
    await deleteTopics(kernel);
    await deleteSubjects(kernel);
  }
}
