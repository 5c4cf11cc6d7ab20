/**
 * The simulator against every connector at once, through outages: Mosquitto restarts, the LNS link
 * drops, Kafka restarts. Afterwards the topic must reconcile with the simulator's ledger, per
 * transport: at least as many distinct idempotency keys as messages the senders saw acknowledged
 * (nothing acknowledged is lost), at most as many as distinct messages sent (no copy beyond what
 * the idempotency key names). Messages still unanswered when the simulator stopped (a sender's
 * request cut by the Kafka restart) may or may not have reached the topic: that is the only slack,
 * and when the senders got every answer the two bounds meet.
 */
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawUplink } from '../../schemas/avro/index.js';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import { createIngest } from '../kit/ingest.js';
import type { Source } from '../kit/source.js';
import { createMqttSource } from '../mqtt/source.js';
import { createHttpSource } from '../http/source.js';
import { createMbusTcpSource } from '../mbus-tcp/source.js';
import { createLnsSource } from '../lns/source.js';
import { createKafkaResumeStore } from '../lns/resume-store.js';
import { startLnsEmulator, type LnsEmulator } from '../lns/emulator.js';
import { deleteTopics, readToEnd, run, testKernel, waitFor, type TestKernel } from '../../test/support/stack.js';
import { createSimulator, type Simulator } from './simulator.js';

const TRANSPORT_OF_CONNECTOR: Record<string, string> = { 'mbus-tcp': 'mbus-tcp', http: 'http', lns: 'lns-websocket' };

let kernel: TestKernel;
let producer: RecordProducer;
let emulator: LnsEmulator;
let simulator: Simulator;
const sources: Source[] = [];
const organisation = `org-reconcile-${randomBytes(3).toString('hex')}`;
const secret = `mf_rec_${randomBytes(16).toString('hex')}`;

beforeAll(async () => {
  kernel = await testKernel('reconcile');
  producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: kernel.catalogue.all });
  await producer.start();
  const db = new pg.Client({ connectionString: kernel.config.postgres.url });
  await db.connect();
  await db.query('INSERT INTO organisations (id, name) VALUES ($1, $1)', [organisation]);
  await db.query(`INSERT INTO api_tokens (id, organisation_id, name, secret_sha256, scopes) VALUES ($1, $2, 'reconcile', $3, ARRAY['ingest'])`,
    [`tok-${organisation}`, organisation, createHash('sha256').update(secret).digest()]);
  await db.end();
  emulator = await startLnsEmulator({ users: { sim: 'sim' } });
  const topicPrefix = `${kernel.prefix.replace('.', '')}/`;
  const { logger, config } = kernel;
  const tcp = createMbusTcpSource({ port: 0, host: '127.0.0.1', registry: new Registry() });
  const http = createHttpSource({ port: 0, maxBodyBytes: 1 << 20, databaseUrl: config.postgres.url, redisUrl: config.redis.url,
    redisKeyPrefix: `${kernel.prefix}http:`, metrics: new Registry(), logger });
  sources.push(
    createMqttSource({ url: config.mqtt.url, topicPrefix, clientId: `${kernel.prefix}mqtt`, metrics: new Registry(), logger }),
    http,
    tcp,
    createLnsSource({ url: emulator.url, login: 'sim', password: 'sim', connector: 'lns', logger, metrics: new Registry(), reconnectInitialDelayMs: 100,
      resumeStore: createKafkaResumeStore({ kafka: kernel.kafka, codec: kernel.codec, topic: kernel.catalogue.rawUplinks, connector: 'lns', logger }) }),
  );
  for (const source of sources) {
    await source.start(createIngest({ producer, catalogue: kernel.catalogue, connector: source.name, logger, metrics: new Registry() }));
  }
  simulator = createSimulator({
    mix: { 'mbus-tcp': 6, 'wmbus-mqtt': 6, 'chirpstack-mqtt': 6, 'lns-websocket': 6, http: 6, 'station-mqtt': 2 },
    seed: 11,
    backfillMs: 12 * 3_600_000,
    speed: 1800,
    targets: {
      mqttUrl: config.mqtt.url, mqttTopicPrefix: topicPrefix, lns: emulator,
      tcp: { host: '127.0.0.1', port: tcp.address()?.port ?? 0 },
      http: { baseUrl: `http://127.0.0.1:${http.port}`, token: secret },
    },
    logger,
  });
});

afterAll(async () => {
  await simulator?.stop();
  for (const source of sources.reverse()) await source.stop();
  await emulator?.close();
  await producer?.stop();
  const db = new pg.Client({ connectionString: kernel.config.postgres.url });
  await db.connect();
  await db.query('DELETE FROM api_tokens WHERE organisation_id = $1', [organisation]);
  await db.query('DELETE FROM organisations WHERE id = $1', [organisation]);
  await db.end();
  await deleteTopics(kernel);
});

function transportOf(uplink: RawUplink): string {
  if (uplink.connector !== 'mqtt') return TRANSPORT_OF_CONNECTOR[uplink.connector] ?? uplink.connector;
  if (uplink.payloadFormat === 'WMBUS_TELEGRAM') return 'wmbus-mqtt';
  if (uplink.payloadFormat === 'CHIRPSTACK_EVENT') return 'chirpstack-mqtt';
  return 'station-mqtt';
}

describe('the simulated fleet through outages', () => {
  it('reconciles with the raw topic after Mosquitto restarts, the LNS link drops and Kafka restarts', async () => {
    await simulator.start();
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    await pause(2000);
    await run('infra/stack.sh', ['restart', 'mosquitto']);
    await pause(1000);
    emulator.dropConnections();
    await pause(1000);
    await run('infra/stack.sh', ['restart', 'kafka'], 180_000);
    await pause(2000);
    await simulator.stop();

    const ledger = Object.entries(simulator.ledger);
    expect(ledger.map(([transport]) => transport).sort()).toEqual(['chirpstack-mqtt', 'http', 'lns-websocket', 'mbus-tcp', 'station-mqtt', 'wmbus-mqtt']);
    expect(ledger.filter(([, c]) => c.refused > 0)).toEqual([]);

    let found: Record<string, number> = {};
    const reconciles = () => ledger.every(([t, c]) => (found[t] ?? 0) >= c.acknowledged && (found[t] ?? 0) <= c.sent);
    await waitFor('the raw topic to hold every acknowledged uplink', async () => {
      const uplinks = await Promise.all(
        (await readToEnd(kernel, kernel.catalogue.rawUplinks.name)).map(async (m) => (await kernel.codec.decode('RawUplink', m.value)).value),
      );
      const keys = new Map<string, Set<string>>();
      for (const u of uplinks) {
        const set = keys.get(transportOf(u)) ?? new Set();
        set.add(u.idempotencyKey);
        keys.set(transportOf(u), set);
      }
      found = Object.fromEntries([...keys].map(([t, s]) => [t, s.size]));
      return reconciles();
    }, { timeoutMs: 240_000, intervalMs: 2000 }).finally(() => {
      // The evidence of the run: which transport is short (loss) or over (copies), if any.
      process.stdout.write(`reconciliation, per transport (sent / acknowledged / distinct keys on the topic): ${
        ledger.map(([t, c]) => `${t} ${c.sent} / ${c.acknowledged} / ${found[t] ?? 0}`).join(', ')}\n`);
    });
    expect(reconciles()).toBe(true);
  }, 420_000);
});
