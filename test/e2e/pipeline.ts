/**
 * The whole pipeline on the local stack under one test prefix, for the end-to-end tests: every
 * connector in-process (MQTT, HTTP, M-Bus over TCP, LNS with its emulator), the fleet simulator
 * with its ledger sending to them, and decode and index as child processes that a test may kill
 * with SIGKILL and start again. Also what the tests reconcile with: the raw, reading and dead-letter
 * topics read to their end (read_committed), the Elasticsearch aliases, and the registry rows.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Client } from '@elastic/elasticsearch';
import pg from 'pg';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { storeDeviceKey } from '../../core/device-keys.js';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import type { TopicSpec } from '../../core/topics.js';
import type { RecordName, RecordTypes } from '../../schemas/avro/index.js';
import { createIngest } from '../../connectors/kit/ingest.js';
import type { Source } from '../../connectors/kit/source.js';
import { startLnsEmulator, type LnsEmulator } from '../../connectors/lns/emulator.js';
import { createKafkaResumeStore } from '../../connectors/lns/resume-store.js';
import { createLnsSource } from '../../connectors/lns/source.js';
import { createHttpSource } from '../../connectors/http/source.js';
import { createMbusTcpSource } from '../../connectors/mbus-tcp/source.js';
import { createMqttSource } from '../../connectors/mqtt/source.js';
import type { FleetMix, SimDevice } from '../../connectors/simulator/fleet.js';
import { deviceIdOf, meterDeviceId } from '../../connectors/simulator/messages.js';
import { createSimulator, type FaultOptions, type Simulator } from '../../connectors/simulator/simulator.js';
import { createElasticsearchClient } from '../../streams/index/elasticsearch.js';
import { deleteTopics, readToEnd, REPO_ROOT, testKernel, waitFor, type TestKernel } from '../support/stack.js';

/** What the tests configure of a run. */
export interface PipelineOptions {
  readonly label: string;
  readonly mix: FleetMix;
  readonly backfillMs: number;
  /** Simulated ms per real ms while the simulator catches up with the clock. */
  readonly speed: number;
  /** Faults the simulator injects (duplicates, reordering, garbage, dropped connections, silence). @default none */
  readonly faults?: FaultOptions;
  /**
   * The fleet's seed, for a test that must know the device ids before the run (silence windows).
   * @default a random one: meter ids derive from it, and the registry is shared with other runs
   */
  readonly seed?: number;
  /** The meters' reporting interval (simulated ms). @default the simulator's (15 min) */
  readonly intervalMs?: number;
}

/** A worker running as a child process (streams/{decode,index}/testing/*-process.ts). */
export class ChildWorker {
  #child: ChildProcess | undefined;
  #stderr = '';
  /** Starts counted, for reports. */
  starts = 0;

  constructor(
    readonly name: string,
    private readonly script: string,
    private readonly args: readonly string[],
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Spawns the process and resolves once it wrote `ready` (every component started). */
  async start(): Promise<void> {
    if (this.#child) throw new Error(`${this.name} is already running`);
    this.starts++;
    this.#stderr = '';
    // `node --import tsx` rather than the tsx binary, which would run the worker in a grandchild that SIGKILL misses.
    const child = spawn(process.execPath, ['--import', 'tsx', this.script, ...this.args], {
      cwd: REPO_ROOT,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    child.stderr!.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-8000);
    });
    child.once('exit', () => {
      if (this.#child === child) this.#child = undefined;
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const onData = (chunk: Buffer) => {
        out += chunk.toString('utf8');
        if (out.split('\n').includes('ready')) {
          child.stdout!.off('data', onData);
          child.off('exit', onExit);
          child.stdout!.resume();
          resolve();
        }
      };
      const onExit = (code: number | null, signal: string | null) =>
        reject(new Error(`${this.name} exited before it was ready (code ${code}, signal ${signal}): ${this.#stderr}`));
      child.stdout!.on('data', onData);
      child.once('exit', onExit);
    });
  }

  /** Kills the process with SIGKILL, as a crash would: nothing is flushed, committed or left cleanly. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Stops the process with SIGTERM (a clean shutdown), killing it if it takes longer than 30 s. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited.finally(() => clearTimeout(timer));
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** The end of what the process wrote to stderr, for failure messages. */
  get stderr(): string {
    return this.#stderr;
  }
}

/** One Elasticsearch hit's source, with its id. */
export type Doc<T> = T & { readonly _id: string };

/** A fleet seed of its own for a run. */
export function randomSeed(): number {
  return 1 + Math.floor(Math.random() * 1_000_000);
}

/** The simulated transport (ledger key) of a raw uplink, as the simulator counts it. */
export function transportOf(uplink: RecordTypes['RawUplink']): string {
  switch (uplink.payloadFormat) {
    case 'MBUS_LONG_FRAME':
      return 'mbus-tcp';
    case 'WMBUS_TELEGRAM':
      return 'wmbus-mqtt';
    case 'CHIRPSTACK_EVENT':
      return 'chirpstack-mqtt';
    case 'LORAWAN_PAYLOAD':
      return 'lns-websocket';
    case 'DECODED_VALUES_JSON':
      return 'http';
    default:
      return 'station-mqtt';
  }
}

/** The pipeline under test; {@link startPipeline} builds it, `close` undoes everything it set up. */
export interface Pipeline {
  readonly kernel: TestKernel;
  readonly db: pg.Pool;
  readonly elasticsearch: Client;
  readonly simulator: Simulator;
  /** Registry organisation owning the HTTP token and the onboarded wireless meters. */
  readonly organisation: string;
  /** MQTT topic root of the connector and the simulator. */
  readonly mqttTopicPrefix: string;
  readonly tcpPort: number;
  readonly httpBaseUrl: string;
  readonly httpToken: string;
  readonly decode: ChildWorker;
  readonly index: ChildWorker;
  /** Fleet device ids that had a registry row before the run (fixed station ids shared by runs). */
  readonly preexisting: ReadonlySet<string>;
  /** Device ids the run onboarded itself (the wireless meters, whose keys an operator must enter). */
  readonly onboarded: ReadonlySet<string>;
  /** Devices that may have been created in the registry by the run: removed by `close`. */
  readonly createdDevices: Set<string>;
  /** Each simulated device's first send time, taken before the simulator started. */
  readonly firstSendAt: ReadonlyMap<SimDevice, number>;
  /** Starts the simulator sending. */
  startSimulator(): Promise<void>;
  close(): Promise<void>;
  /** Every record a topic holds now, decoded, in partition order (read_committed). */
  topicRecords<R extends RecordName>(topic: TopicSpec<R>): Promise<Array<RecordTypes[R]>>;
  /** Every document behind a read alias (`readings`, `devices`, `rejects`…), after a refresh. */
  documents<T>(type: string, query?: object): Promise<Array<Doc<T>>>;
  /** Number of documents behind a read alias, after a refresh; 0 while it does not exist. */
  count(type: string): Promise<number>;
}

/**
 * Sets up the stack side of a run (topics, registry rows, the HTTP token, the wireless meters'
 * keys), starts the connectors in-process and decode and index as child processes, and creates the
 * simulator without starting it.
 */
export async function startPipeline(options: PipelineOptions): Promise<Pipeline> {
  const kernel = await testKernel(options.label);
  const { config, logger, catalogue, prefix } = kernel;
  const undo: Array<() => Promise<unknown>> = [() => deleteTopics(kernel)];
  const close = async () => {
    for (const step of undo.splice(0).reverse()) await step().catch((err: unknown) => logger.warn({ err }, 'e2e clean-up step failed'));
  };
  try {
    const masterKey = randomBytes(32);
    const db = new pg.Pool({ connectionString: config.postgres.url, max: 3 });
    undo.push(() => db.end());
    const elasticsearch = createElasticsearchClient({ url: config.elasticsearch.url });
    undo.push(async () => {
      await elasticsearch.indices.delete({ index: `${prefix}*`, expand_wildcards: 'all', ignore_unavailable: true, allow_no_indices: true });
      await elasticsearch.indices.deleteIndexTemplate({ name: `${prefix}*` }, { ignore: [404] });
      await elasticsearch.close();
    });

    const organisation = `${prefix}org`;
    const httpToken = `mf_e2e_${randomBytes(16).toString('hex')}`;
    await db.query('INSERT INTO organisations (id, name) VALUES ($1, $2)', [organisation, 'End-to-end test utility']);
    await db.query(`INSERT INTO api_tokens (id, organisation_id, name, secret_sha256, scopes) VALUES ($1, $2, 'e2e head-end', $3, ARRAY['ingest'])`,
      [`${prefix}token`, organisation, createHash('sha256').update(httpToken, 'utf8').digest()]);
    const createdDevices = new Set<string>();
    undo.push(async () => {
      const ids = [...createdDevices];
      await db.query('DELETE FROM device_keys WHERE device_id = ANY($1)', [ids]);
      await db.query('DELETE FROM registers WHERE device_id = ANY($1)', [ids]);
      await db.query('DELETE FROM devices WHERE id = ANY($1)', [ids]);
      await db.query('DELETE FROM api_tokens WHERE organisation_id = $1', [organisation]);
      await db.query('DELETE FROM organisations WHERE id = $1', [organisation]);
      const redis = new Redis(config.redis.url);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });

    const producer: RecordProducer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: catalogue.all });
    await producer.start();
    undo.push(() => producer.stop());
    const emulator: LnsEmulator = await startLnsEmulator({ users: { sim: 'sim' } });
    undo.push(() => emulator.close());
    const mqttTopicPrefix = `${prefix.replace('.', '')}/`;
    const tcp = createMbusTcpSource({ port: 0, host: '127.0.0.1', registry: new Registry() });
    const http = createHttpSource({ port: 0, maxBodyBytes: 1 << 20, databaseUrl: config.postgres.url, redisUrl: config.redis.url,
      redisKeyPrefix: `${prefix}http:`, metrics: new Registry(), logger });
    const sources: Source[] = [
      createMqttSource({ url: config.mqtt.url, topicPrefix: mqttTopicPrefix, clientId: `${prefix}mqtt`, metrics: new Registry(), logger }),
      http,
      tcp,
      createLnsSource({ url: emulator.url, login: 'sim', password: 'sim', connector: 'lns', logger, metrics: new Registry(), reconnectInitialDelayMs: 100,
        resumeStore: createKafkaResumeStore({ kafka: kernel.kafka, codec: kernel.codec, topic: catalogue.rawUplinks, connector: 'lns', logger }) }),
    ];
    for (const source of sources) {
      await source.start(createIngest({ producer, catalogue, connector: source.name, logger, metrics: new Registry() }));
      undo.push(() => source.stop());
    }
    const tcpPort = tcp.address()?.port ?? 0;
    const httpBaseUrl = `http://127.0.0.1:${http.port}`;

    // A seed of its own per run: meter ids derive from it, and the registry is shared with other runs.
    const simulator = createSimulator({
      mix: options.mix,
      seed: options.seed ?? randomSeed(),
      backfillMs: options.backfillMs,
      ...(options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs }),
      speed: options.speed,
      ...(options.faults === undefined ? {} : { faults: options.faults }),
      targets: { mqttUrl: config.mqtt.url, mqttTopicPrefix, lns: emulator, tcp: { host: '127.0.0.1', port: tcpPort }, http: { baseUrl: httpBaseUrl, token: httpToken } },
      logger,
    });
    undo.push(() => simulator.stop());
    const firstSendAt = new Map(simulator.devices.map((d) => [d, d.nextAtMs]));
    const fleetIds = simulator.devices.map(deviceIdOf);
    const { rows } = await db.query<{ id: string }>('SELECT id FROM devices WHERE id = ANY($1)', [fleetIds]);
    const preexisting = new Set(rows.map((r) => r.id));
    for (const id of fleetIds) if (!preexisting.has(id)) createdDevices.add(id);

    // The wireless meters' keys, entered as an operator does: a registry row, then the sealed key.
    const onboarded = new Set<string>();
    for (const device of simulator.devices) {
      if (device.kind !== 'wmbus-mqtt' || !device.key) continue;
      const deviceId = meterDeviceId(device);
      await db.query(
        `INSERT INTO devices (id, organisation_id, mbus_secondary_address, manufacturer, device_version, medium, codec, status)
         VALUES ($1, $2, $3, $4, $5, 'water', 'mbus', 'active')`,
        [deviceId, organisation, deviceId.slice('mbus:'.length), device.manufacturer, device.version],
      );
      await storeDeviceKey(db, masterKey, deviceId, device.key);
      onboarded.add(deviceId);
    }

    const env = { ...process.env, DEVICE_KEY_ENCRYPTION_KEY: masterKey.toString('hex'), LOG_LEVEL: process.env['E2E_LOG_LEVEL'] ?? 'warn' };
    const decode = new ChildWorker('decode', 'streams/decode/testing/decode-process.ts', [prefix], env);
    const index = new ChildWorker('index', 'streams/index/testing/index-process.ts', [prefix], env);
    undo.push(() => decode.stop(), () => index.stop());
    await Promise.all([decode.start(), index.start()]);

    const alias = (type: string) => `${prefix}${type}`;
    const pipeline: Pipeline = {
      kernel, db, elasticsearch, simulator, organisation, mqttTopicPrefix, tcpPort, httpBaseUrl, httpToken, decode, index,
      preexisting, onboarded, createdDevices, firstSendAt,
      startSimulator: () => simulator.start(),
      close,
      async topicRecords(topic) {
        const messages = await readToEnd(kernel, topic.name);
        return Promise.all(messages.map(async (m) => (await kernel.codec.decode(topic.record, m.value)).value));
      },
      async documents<T>(type: string, query: object = { match_all: {} }) {
        const docs: Array<Doc<T>> = [];
        await elasticsearch.indices.refresh({ index: alias(type), ignore_unavailable: true, allow_no_indices: true });
        for await (const page of elasticsearch.helpers.scrollSearch<T>({ index: alias(type), query, size: 5000, ignore_unavailable: true, allow_no_indices: true })) {
          for (const hit of page.body.hits.hits) docs.push({ ...hit._source!, _id: hit._id! } as Doc<T>);
        }
        return docs;
      },
      async count(type) {
        await elasticsearch.indices.refresh({ index: alias(type), ignore_unavailable: true, allow_no_indices: true });
        return (await elasticsearch.count({ index: alias(type), ignore_unavailable: true, allow_no_indices: true })).count;
      },
    };
    return pipeline;
  } catch (err) {
    await close();
    throw err;
  }
}

/** Waits until the simulator has caught up with the clock, stops it, and returns its ledger. */
export async function finishSimulation(pipeline: Pipeline): Promise<Simulator['ledger']> {
  const { simulator } = pipeline;
  await waitFor('the simulator to catch up with the clock', () => simulator.clockMs() >= Date.now() - 1000, { timeoutMs: 300_000, intervalMs: 500 });
  await simulator.stop();
  return simulator.ledger;
}

/** What the simulator sent per device: its send times, from the first to the last before it stopped. */
export function sentSchedule(pipeline: Pipeline): Map<SimDevice, number[]> {
  const schedule = new Map<SimDevice, number[]>();
  for (const device of pipeline.simulator.devices) {
    const times: number[] = [];
    for (let at = pipeline.firstSendAt.get(device)!; at < device.nextAtMs; at += device.intervalMs) times.push(at);
    schedule.set(device, times);
  }
  return schedule;
}
