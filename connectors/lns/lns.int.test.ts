/**
 * The lns connector end to end: the emulated network server on one side, the real Kafka and schema
 * registry of the local stack on the other.
 */
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeadLetter, RawUplink } from '../../schemas/avro/index.js';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import { deleteTopics, testKernel, waitFor, type TestKernel } from '../../test/support/stack.js';
import { createIngest, type Ingest } from '../kit/ingest.js';
import { startLnsEmulator, type LnsEmulator } from './emulator.js';
import { WATERMARK_METADATA_KEY, createKafkaResumeStore } from './resume-store.js';
import { createLnsSource, type LnsSource, type LnsSourceOptions } from './source.js';
import { readUplink } from './uplink.js';
import type { JsonObject } from './protocol.js';

const USERS = { meterflux: 'secret' };
const DEVICES = ['70b3d5e75e0000a1', '70B3D5E75E0000B2', '70b3d5e75e0000c3'];

let kernel: TestKernel;
let producer: RecordProducer;
let ingest: Ingest;
let emulator: LnsEmulator;
const sources: LnsSource[] = [];
const readers: Array<() => Promise<void>> = [];

beforeEach(async () => {
  kernel = await testKernel('lns');
  producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: kernel.catalogue.all });
  await producer.start();
  ingest = createIngest({ producer, catalogue: kernel.catalogue, connector: 'lns', logger: kernel.logger, metrics: new Registry() });
  emulator = await startLnsEmulator({ users: USERS });
});

afterEach(async () => {
  for (const source of sources.splice(0)) await source.stop();
  for (const stop of readers.splice(0)) await stop();
  await emulator?.close();
  await producer?.stop();
  if (kernel) await deleteTopics(kernel);
});

function connector(options: Partial<LnsSourceOptions> = {}): LnsSource {
  const source = createLnsSource({
    url: emulator.url, login: 'meterflux', password: 'secret', reconnectInitialDelayMs: 50, reconnectMaxDelayMs: 500, ...options,
  });
  sources.push(source);
  return source;
}

function kafkaResumeStore() {
  return createKafkaResumeStore({ kafka: kernel.kafka, codec: kernel.codec, topic: kernel.catalogue.rawUplinks, connector: 'lns', logger: kernel.logger });
}

/** Reads uplink.raw.v1 and its DLQ from the beginning, decoded, for as long as the test runs. */
async function readTopics(): Promise<{ uplinks: RawUplink[]; letters: DeadLetter[] }> {
  const seen = { uplinks: [] as RawUplink[], letters: [] as DeadLetter[] };
  const raw = kernel.catalogue.rawUplinks;
  const dlq = kernel.catalogue.dlqOf(raw);
  const consumer = kernel.kafka.consumer({ groupId: `${kernel.prefix}reader-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe([raw.name, dlq.name], { fromBeginning: true });
  await consumer.run({
    eachBatch: async (batch) => {
      for (const message of batch.messages) {
        if (batch.topic === raw.name) seen.uplinks.push((await kernel.codec.decode('RawUplink', message.value)).value);
        else seen.letters.push((await kernel.codec.decode('DeadLetter', message.value)).value);
      }
    },
  });
  readers.push(() => consumer.disconnect());
  return seen;
}

/** Records on uplink.raw.v1: exact once every writer has stopped, since nothing compacts or aborts there. */
async function recordCount(): Promise<number> {
  const admin = kernel.kafka.admin();
  await admin.connect();
  try {
    return (await admin.topicOffsets(kernel.catalogue.rawUplinks.name)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

const keyOf = (message: JsonObject) => readUplink(message, 'vega').idempotencyKey;
const distinctKeys = (uplinks: readonly RawUplink[]) => new Set(uplinks.map((u) => u.idempotencyKey));

describe('the lns connector with Kafka', () => {
  it('writes every pushed uplink as exactly one RawUplink keyed by its device, with the payload bytes untouched', async () => {
    const topics = await readTopics();
    const source = connector();
    await source.start(ingest);
    await waitFor('the first resume', () => source.status().resumed);

    const emitted = Array.from({ length: 6 }, (_, i) =>
      emulator.emit({ devEui: DEVICES[i % 3]!, fcnt: 100 + i, port: 2, payload: Buffer.from([i, 0xa5, 0x00, 0xff]), rssi: -90 - i, sf: 9 }));
    await waitFor('six uplinks on the topic', () => topics.uplinks.length >= 6);
    await source.stop();

    expect(await recordCount()).toBe(6);
    for (const [i, message] of emitted.entries()) {
      const record = topics.uplinks.find((u) => u.idempotencyKey === keyOf(message));
      expect(record, `uplink ${i}`).toMatchObject({
        deviceId: `lorawan:${DEVICES[i % 3]!.toLowerCase()}`,
        transport: 'LNS_WEBSOCKET',
        payloadFormat: 'LORAWAN_PAYLOAD',
        deviceTimeAt: message['ts'],
        connector: 'lns',
        sourceAddress: emulator.url,
        radio: { rssiDbm: -90 - i, snrDb: 7.5, gatewayId: '7276ff0039030001', frequencyHz: 868_100_000, spreadingFactor: 9, fCnt: 100 + i, fPort: 2 },
      });
      expect(record!.payload).toEqual(Buffer.from([i, 0xa5, 0x00, 0xff]));
    }
  });

  it('dead-letters malformed frames with their reason and bytes, keeps the link, and still writes good uplinks', async () => {
    const topics = await readTopics();
    const source = connector();
    await source.start(ingest);
    await waitFor('the first resume', () => source.status().resumed);

    const bad = [
      { text: '{"cmd":"rx","devEui":', reason: 'MALFORMED_JSON', deviceId: null },
      { text: '{"cmd":"fw_update_push","devEui":"70b3d5e75e0000a1"}', reason: 'UNKNOWN_COMMAND', deviceId: null },
      { text: JSON.stringify({ cmd: 'rx', devEui: DEVICES[0], ts: Date.now(), fcnt: 1, port: 2, data: 'q1' }), reason: 'INVALID_FIELD', deviceId: `lorawan:${DEVICES[0]}` },
      { text: JSON.stringify({ cmd: 'rx', ts: Date.now(), fcnt: 2, port: 2, data: '0102' }), reason: 'MISSING_FIELD', deviceId: null },
    ];
    for (const frame of bad) emulator.sendRaw(frame.text);
    const good = emulator.emit({ devEui: DEVICES[1]!, fcnt: 3, port: 2, payload: '0102' });
    await waitFor('four dead letters and the good uplink', () => topics.letters.length >= 4 && topics.uplinks.length >= 1);

    for (const frame of bad) {
      const letter = topics.letters.find((l) => l.originalValue.toString('utf8') === frame.text);
      expect(letter, frame.reason).toMatchObject({ reasonCode: frame.reason, stage: 'connector', component: 'lns', transport: 'LNS_WEBSOCKET', deviceId: frame.deviceId });
      expect(letter!.reasonMessage.length).toBeGreaterThan(0);
    }
    expect(topics.uplinks.map((u) => u.idempotencyKey)).toEqual([keyOf(good)]);
    expect(emulator.connectionsAccepted()).toBe(1);
    expect(source.status()).toMatchObject({ connected: true, authenticated: true });
  });

  it('loses nothing while the WebSocket is down: the uplinks the server kept meanwhile are fetched on reconnect', async () => {
    const topics = await readTopics();
    const source = connector();
    await source.start(ingest);
    await waitFor('the first resume', () => source.status().resumed);
    const before = DEVICES.map((devEui, i) => emulator.emit({ devEui, fcnt: i, port: 2, payload: '0a' }));
    await waitFor('the uplinks before the outage', () => topics.uplinks.length >= 3);

    emulator.refuseConnections(true);
    emulator.dropConnections();
    await waitFor('the connector to see the outage', () => !source.status().connected);
    const during = Array.from({ length: 9 }, (_, i) => emulator.emit({ devEui: DEVICES[i % 3]!, fcnt: 10 + i, port: 2, payload: Buffer.from([i, i]) }));
    expect(emulator.sessions()).toBe(0);
    emulator.refuseConnections(false);

    await waitFor('every uplink on the topic', () => distinctKeys(topics.uplinks).size >= 12);
    await source.stop();

    expect(distinctKeys(topics.uplinks)).toEqual(new Set([...before, ...during].map(keyOf)));
    expect(await recordCount()).toBe(12);
    expect(emulator.connectionsAccepted()).toBe(2);
  });

  it('resumes a restarted connector from the watermark it stored in Kafka, without writing again what it had written', async () => {
    const topics = await readTopics();
    const first = connector({ resumeStore: kafkaResumeStore() });
    await first.start(ingest);
    await waitFor('the first resume', () => first.status().resumed);
    const before = [1, 2, 3].map((fcnt) => emulator.emit({ devEui: DEVICES[0]!, fcnt, port: 2, payload: '01' }));
    await waitFor('the first uplinks', () => topics.uplinks.length >= 3);
    // One more once the watermark has passed them, so the topic holds a watermark covering all three.
    await waitFor('the watermark to pass them', () => first.status().watermarkTs === before[2]!['ts']);
    before.push(emulator.emit({ devEui: DEVICES[0]!, fcnt: 4, port: 2, payload: '01' }));
    await waitFor('the fourth uplink', () => topics.uplinks.length >= 4);
    await first.stop();

    const whileStopped = [5, 6].map((fcnt) => emulator.emit({ devEui: DEVICES[0]!, fcnt, port: 2, payload: '02' }));
    const stored = Math.max(...topics.uplinks.map((u) => Number(u.metadata[WATERMARK_METADATA_KEY] ?? -1)));
    expect(stored).toBe(before[2]!['ts']);

    const second = connector({ resumeStore: kafkaResumeStore(), resumeOverlapMs: 60_000 });
    const queriesBefore = emulator.requests().length;
    await second.start(ingest);
    await waitFor('every uplink on the topic', () => distinctKeys(topics.uplinks).size >= 6);
    await waitFor('the second resume', () => second.status().resumed);
    await second.stop();

    const resume = emulator.requests().slice(queriesBefore).find((r) => r.cmd === 'get_data_req');
    expect(resume?.message).toMatchObject({ select: { date_from: stored - 60_000 } });
    expect(distinctKeys(topics.uplinks)).toEqual(new Set([...before, ...whileStopped].map(keyOf)));
    // The overlap returned the four written before the restart; the keys read back from Kafka kept them out.
    expect(await recordCount()).toBe(6);
  });

  it('reports a wrong password as unauthenticated, retries, and writes nothing', async () => {
    const source = connector({ password: 'wrong' });
    await source.start(ingest);

    await waitFor('repeated login attempts', () => emulator.requests().filter((r) => r.cmd === 'auth_req').length >= 3);
    expect(source.health()).toMatchObject({ healthy: false });
    expect(source.health().detail).toContain('unauthenticated');
    expect(source.health().detail).toContain('invalid login or password');
    emulator.emit({ devEui: DEVICES[0]!, fcnt: 1, port: 2, payload: '01' });
    await source.stop();
    expect(await recordCount()).toBe(0);
  });
});
