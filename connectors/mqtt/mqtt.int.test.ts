import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { ServiceUnavailableError } from '../../core/errors.js';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import type { Consumer } from '../../core/kafka/client.js';
import type { DeadLetter, RawUplink } from '../../schemas/avro/index.js';
import { deleteTopics, run, testKernel, waitFor, type TestKernel } from '../../test/support/stack.js';
import { createIngest, type Ingest } from '../kit/ingest.js';
import type { Source } from '../kit/source.js';
import { createMqttSource, type MqttSourceOptions } from './source.js';
import { FIXTURE_DIR, expectedPayload, loadMqttFixtures, type MqttFixture } from './testing/fixtures.js';
import type { RejectionNotice } from './replies.js';

const fixtures = loadMqttFixtures();
const fixture = (name: string): MqttFixture => fixtures.find((f) => f.name === name)!;

let kernel: TestKernel;
let producer: RecordProducer;
let reader: Consumer;
const uplinks: { key: string | null; value: RawUplink }[] = [];
const deadLetters: DeadLetter[] = [];
const sources: Source[] = [];
const publishers: MqttClient[] = [];

beforeAll(async () => {
  kernel = await testKernel('mqtt');
  const dlq = kernel.catalogue.dlqOf(kernel.catalogue.rawUplinks);
  producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: [kernel.catalogue.rawUplinks, dlq] });
  await producer.start();
  // One reader for the file collects everything; each test looks only at its own topic prefix.
  reader = kernel.kafka.consumer({ groupId: `${kernel.prefix}reader` });
  await reader.connect();
  await reader.subscribe([kernel.catalogue.rawUplinks.name, dlq.name], { fromBeginning: true });
  await reader.run({
    eachBatch: async (batch) => {
      for (const message of batch.messages) {
        if (message.topic === dlq.name) {
          deadLetters.push((await kernel.codec.decode('DeadLetter', message.value)).value);
        } else {
          uplinks.push({ key: message.key?.toString('utf8') ?? null, value: (await kernel.codec.decode('RawUplink', message.value)).value });
        }
      }
    },
  });
});

afterEach(async () => {
  await Promise.all(sources.splice(0).map((source) => source.stop()));
  await Promise.all(publishers.splice(0).map((publisher) => publisher.endAsync(true)));
});

afterAll(async () => {
  await reader?.disconnect();
  await producer?.stop();
  if (kernel) await deleteTopics(kernel);
});

/** A topic root of its own for each test: `mqtt-3f9a1c/<label>/`. */
function topicRoot(label: string): string {
  return `${kernel.prefix.slice(0, -1)}/${label}/`;
}

interface Started {
  readonly source: Source;
  readonly metrics: Registry;
}

async function startSource(root: string, overrides: Partial<MqttSourceOptions> = {}, wrap: (ingest: Ingest) => Ingest = (i) => i): Promise<Started> {
  const metrics = new Registry();
  const ingest = createIngest({ producer, catalogue: kernel.catalogue, connector: 'mqtt-it', logger: kernel.logger, metrics });
  const source = createMqttSource({
    url: kernel.config.mqtt.url,
    clientId: `meterflux-it-${root}`,
    topicPrefix: root,
    sessionExpirySeconds: 300,
    metrics,
    logger: kernel.logger,
    ...overrides,
  });
  sources.push(source);
  await source.start(wrap(ingest));
  return { source, metrics };
}

async function publisher(options: IClientOptions = {}): Promise<MqttClient> {
  const client = await connectAsync(kernel.config.mqtt.url, { protocolVersion: 5, reconnectPeriod: 100, ...options });
  publishers.push(client);
  return client;
}

const uplinksUnder = (root: string) => uplinks.filter((u) => u.value.sourceAddress.startsWith(root)).map((u) => u.value);
const deadLettersUnder = (root: string) => deadLetters.filter((d) => d.details['sourceAddress']?.startsWith(root));

function telemetry(minute: number, co2Ppm = 420): Buffer {
  const time = new Date(Date.UTC(2026, 2, 29, 0, minute)).toISOString();
  return Buffer.from(JSON.stringify({ time, co2Ppm, temperatureC: 4.2, pressurePa: 99870 }));
}

async function waitForUplink(root: string, match: (u: RawUplink) => boolean, what: string): Promise<RawUplink> {
  return waitFor(what, () => uplinksUnder(root).find(match), { timeoutMs: 60_000 });
}

describe('MQTT source against Mosquitto and Kafka', () => {
  it('turns a ChirpStack uplink and a station telemetry published with mosquitto_pub into exactly one RawUplink each, keyed by device, payload untouched', async () => {
    const root = topicRoot('mosquitto-pub');
    await startSource(root);
    const broker = new URL(kernel.config.mqtt.url);
    const publish = (topic: string, file: URL) =>
      run('mosquitto_pub', ['-h', broker.hostname, '-p', broker.port || '1883', '-q', '1', '-t', root + topic, '-f', file.pathname]);

    for (const name of ['chirpstack-up', 'station-telemetry']) {
      await publish(fixture(name).topic, new URL(`${name}.json`, FIXTURE_DIR));
    }
    // A later message for the same device lands on the same partition after the first, so once it
    // is there a second copy of the first would be too.
    await publish(fixture('chirpstack-status').topic, new URL('chirpstack-status.json', FIXTURE_DIR));
    await publish('stations/minsk-01/telemetry', new URL('station-telemetry-minimal.json', FIXTURE_DIR));

    for (const [name, later] of [['chirpstack-up', 'chirpstack-status'], ['station-telemetry', 'station-telemetry-minimal']] as const) {
      const expected = fixture(name).uplink!;
      await waitForUplink(root, (u) => u.idempotencyKey === fixture(later).uplink!.idempotencyKey, `${later} after ${name}`);
      const records = uplinks.filter((u) => u.value.sourceAddress.startsWith(root) && u.value.idempotencyKey === expected.idempotencyKey);
      expect(records, name).toHaveLength(1);
      const [{ key, value }] = records as [(typeof records)[0]];
      expect(key).toBe(expected.deviceId);
      expect(value).toMatchObject({
        deviceId: expected.deviceId,
        transport: 'MQTT',
        payloadFormat: expected.payloadFormat,
        connector: 'mqtt-it',
        sourceAddress: root + fixture(name).topic,
        deviceTimeAt: Date.parse(expected.deviceTimeAt!),
        radio: expected.radio,
        metadata: expected.metadata,
      });
      expect(value.payload.equals(readFileSync(new URL(`${name}.json`, FIXTURE_DIR))), `${name} payload`).toBe(true);
    }
  });

  for (const protocolVersion of [4, 5] as const) {
    it(`ingests wM-Bus telegrams at QoS 1 and station messages at QoS 0 with MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}`, async () => {
      const root = topicRoot(`v${protocolVersion}`);
      await startSource(root, { protocolVersion });
      const client = await publisher({ protocolVersion });
      const telegram = fixture('wmbus-telegram');
      await client.publishAsync(root + telegram.topic, telegram.payload, { qos: 1 });
      await client.publishAsync(root + 'stations/qos0-station/telemetry', telemetry(1), { qos: 0 });

      const record = await waitForUplink(root, (u) => u.payloadFormat === 'WMBUS_TELEGRAM', 'the telegram');
      expect(record.deviceId).toBe('mbus:1234567815933303');
      expect(record.payload.equals(expectedPayload(telegram, telegram.uplink!))).toBe(true);
      expect(record.radio).toMatchObject({ gatewayId: 'gw-minsk-7', rssiDbm: -71 });
      const qos0 = await waitForUplink(root, (u) => u.deviceId === 'station:qos0-station', 'the QoS 0 telemetry');
      expect(qos0.metadata['qos']).toBe('0');
    });
  }

  it('dead-letters every kind of bad input with its reason, answers an MQTT 5 sender on its response topic, acknowledges it, and keeps working', async () => {
    const root = topicRoot('refusals');
    const { metrics } = await startSource(root);
    const replies = new Map<string, RejectionNotice>();
    const client = await publisher();
    const responseTopic = `${root}replies/sensor-fleet`;
    await client.subscribeAsync(responseTopic, { qos: 1 });
    client.on('message', (topic, payload, packet) => {
      if (topic === responseTopic) replies.set(String(packet.properties?.correlationData), JSON.parse(payload.toString()) as RejectionNotice);
    });

    const invalid = fixtures.filter((f) => f.rejected);
    for (const bad of invalid) {
      await client.publishAsync(root + bad.topic, bad.payload, { qos: 1, properties: { responseTopic, correlationData: Buffer.from(bad.name) } });
    }

    const letters = await waitFor('a dead letter per invalid fixture', () => deadLettersUnder(root).length >= invalid.length && deadLettersUnder(root), { timeoutMs: 60_000 });
    await waitFor('an answer per invalid fixture', () => replies.size >= invalid.length);
    for (const bad of invalid) {
      const letter = letters.find((l) => l.details['sourceAddress'] === root + bad.topic && l.originalValue.equals(bad.payload));
      expect(letter, bad.name).toBeDefined();
      expect(letter).toMatchObject({ reasonCode: bad.rejected!.reason, stage: 'connector', component: 'mqtt-it', transport: 'MQTT', originalKey: null });
      // Messages name the topic as received, prefix included; the fixtures name it without.
      const reasonMessage = letter!.reasonMessage.replaceAll(root, '');
      if (bad.rejected!.message !== undefined) expect(reasonMessage).toBe(bad.rejected!.message);
      else expect(reasonMessage.startsWith(bad.rejected!.messageStartsWith!), reasonMessage).toBe(true);
      expect(replies.get(bad.name), bad.name).toMatchObject({ reasonCode: bad.rejected!.reason, field: bad.rejected!.field, topic: root + bad.topic });
    }
    expect(letters).toHaveLength(invalid.length);
    expect(letters.find((l) => l.reasonCode === 'TOPIC_MISMATCH')?.deviceId).toBe('lorawan:70b3d5e75e001234');

    const received = await metrics.getSingleMetric('meterflux_mqtt_received_total')!.get();
    expect(received.values.find((v) => v.labels['kind'] === 'unknown')?.value).toBe(2);

    await client.publishAsync(root + 'stations/after-refusals/telemetry', telemetry(2), { qos: 1 });
    await waitForUplink(root, (u) => u.deviceId === 'station:after-refusals', 'a valid message after the refusals');

    // A new connection of the same session gets nothing back: every refusal was acknowledged.
    await Promise.all(sources.splice(0).map((source) => source.stop()));
    await startSource(root);
    await client.publishAsync(root + 'stations/after-restart/telemetry', telemetry(3), { qos: 1 });
    await waitForUplink(root, (u) => u.deviceId === 'station:after-restart', 'a valid message after reconnecting');
    expect(deadLettersUnder(root)).toHaveLength(invalid.length);
  });

  it('leaves a message unacknowledged while Kafka writes fail, and writes it once they succeed again', async () => {
    const root = topicRoot('write-failures');
    let attempts = 0;
    let healthDuringFailure: ReturnType<Source['health']> | undefined;
    const started: { source?: Source } = {};
    const failTwice = (ingest: Ingest): Ingest => ({
      ...ingest,
      async accept(drafts) {
        attempts += 1;
        if (attempts === 1) throw new ServiceUnavailableError({ service: 'Kafka', address: '127.0.0.1:9092', detail: 'broker down in the test' });
        // kafkajs gives up with KafkaJSNumberOfRetriesExceeded, which says retriable: false.
        if (attempts === 2) {
          healthDuringFailure = started.source?.health();
          throw Object.assign(new Error('Number of retries exceeded'), { retriable: false });
        }
        return ingest.accept(drafts);
      },
    });
    started.source = (await startSource(root, { reconnectInitialDelayMs: 50 }, failTwice)).source;
    const client = await publisher();
    await client.publishAsync(root + 'stations/kafka-down/telemetry', telemetry(4), { qos: 1 });

    await waitForUplink(root, (u) => u.deviceId === 'station:kafka-down', 'the message after two failed writes');
    expect(attempts).toBe(3);
    expect(healthDuringFailure).toMatchObject({ healthy: false, detail: expect.stringContaining('Kafka write failed') });
    await waitFor('the source to report healthy again', () => started.source!.health().healthy);
    expect(uplinksUnder(root)).toHaveLength(1);
  });

  it('loses none of the messages written together with one whose write failed', async () => {
    const root = topicRoot('failure-in-stream');
    let calls = 0;
    const failTenthCall = (ingest: Ingest): Ingest => ({
      ...ingest,
      async accept(drafts) {
        calls += 1;
        if (calls === 10) throw new ServiceUnavailableError({ service: 'Kafka', address: '127.0.0.1:9092', detail: 'broker down in the test' });
        return ingest.accept(drafts);
      },
    });
    await startSource(root, { reconnectInitialDelayMs: 50 }, failTenthCall);
    const client = await publisher();
    const total = 200;
    await Promise.all(Array.from({ length: total }, (_, i) => client.publishAsync(`${root}stations/stream-${i % 5}/telemetry`, telemetry(i), { qos: 1 })));

    await waitFor(`${total} distinct idempotency keys`, () => new Set(uplinksUnder(root).map((u) => u.idempotencyKey)).size >= total, { timeoutMs: 60_000 });
    expect(calls).toBeGreaterThan(total);
  });

  it('stops mid-stream without losing anything: what it did not acknowledge arrives after the next start', async () => {
    const root = topicRoot('stop-mid-stream');
    const first = await startSource(root);
    const client = await publisher();
    const total = 300;
    const acked = Array.from({ length: total }, (_, i) => client.publishAsync(`${root}stations/stop-${i % 3}/telemetry`, telemetry(i), { qos: 1 }));
    await waitFor('the connector to be mid-stream', () => uplinksUnder(root).length >= total / 10);
    await first.source.stop();
    await Promise.all(acked);
    await startSource(root);

    await waitFor(`${total} distinct idempotency keys`, () => new Set(uplinksUnder(root).map((u) => u.idempotencyKey)).size >= total, { timeoutMs: 60_000 });
  });

  it('loses nothing when Mosquitto restarts mid-stream: every published message reaches Kafka, repeats only with the same idempotency key', async () => {
    const root = topicRoot('broker-restart');
    // Writes wait at a gate until the broker is back, so messages are certainly in flight in the
    // connector and queued at the broker when it goes down.
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let waitingAtGate = 0;
    const gated = (ingest: Ingest): Ingest => ({
      ...ingest,
      async accept(drafts) {
        waitingAtGate += 1;
        await gate;
        return ingest.accept(drafts);
      },
    });
    await startSource(root, {}, gated);
    const client = await publisher({ clientId: `it-publisher-${root}`, clean: false, properties: { sessionExpiryInterval: 300 } });
    const total = 400;
    const messages = Array.from({ length: total }, (_, i) => ({ topic: `${root}stations/restart-${i % 4}/telemetry`, payload: telemetry(i, 400 + i / 10) }));
    const acked: Promise<unknown>[] = [];
    const publish = (from: number, to: number) => {
      for (const m of messages.slice(from, to)) acked.push(client.publishAsync(m.topic, m.payload, { qos: 1 }));
    };

    publish(0, total / 2);
    await waitFor('messages in flight in the connector', () => waitingAtGate >= 10);
    const restart = run('infra/stack.sh', ['restart', 'mosquitto']);
    // Published while the broker goes down and comes back: the publisher's session keeps them.
    publish(total / 2, total);
    await restart;
    openGate();
    await Promise.all(acked);

    await waitFor(`${total} distinct idempotency keys`, () => new Set(uplinksUnder(root).map((u) => u.idempotencyKey)).size >= total, { timeoutMs: 90_000 });
    const payloadsByKey = new Map<string, Set<string>>();
    for (const uplink of uplinksUnder(root)) {
      payloadsByKey.set(uplink.idempotencyKey, (payloadsByKey.get(uplink.idempotencyKey) ?? new Set()).add(uplink.payload.toString('hex')));
    }
    expect(payloadsByKey.size).toBe(total);
    expect([...payloadsByKey.values()].filter((payloads) => payloads.size !== 1)).toEqual([]);
    const written = new Set(uplinksUnder(root).map((u) => u.payload.toString('hex')));
    expect(messages.filter((m) => !written.has(m.payload.toString('hex'))).map((m) => m.topic)).toEqual([]);
    // The writes held at the gate finished after their connection was gone, so the broker redelivered them.
    expect(uplinksUnder(root).length).toBeGreaterThan(total);
  });

  it('loses nothing from many publishers at once', async () => {
    const root = topicRoot('parallel');
    await startSource(root);
    const publisherCount = 20;
    const perPublisher = 25;
    const clients = await Promise.all(Array.from({ length: publisherCount }, () => publisher()));
    await Promise.all(clients.flatMap((client, p) =>
      Array.from({ length: perPublisher }, (_, i) => client.publishAsync(`${root}stations/parallel-${p}/telemetry`, telemetry(i), { qos: 1 }))));

    const total = publisherCount * perPublisher;
    const keys = await waitFor(`${total} distinct uplinks`, () => {
      const distinct = new Set(uplinksUnder(root).map((u) => `${u.deviceId}|${u.idempotencyKey}`));
      return distinct.size >= total && distinct;
    }, { timeoutMs: 90_000 });
    expect(keys.size).toBe(total);
  });

  it('refuses to start, naming the broker, when no broker answers', async () => {
    const metrics = new Registry();
    const source = createMqttSource({ url: 'mqtt://127.0.0.1:1', clientId: 'meterflux-it-nobody', connectTimeoutMs: 2_000, metrics, logger: kernel.logger });
    const ingest = createIngest({ producer, catalogue: kernel.catalogue, connector: 'mqtt-it', logger: kernel.logger, metrics });

    const error = await source.start(ingest).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as Error).message).toMatch(/^MQTT broker is not reachable at mqtt:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
    expect(source.health()).toEqual({ healthy: false, detail: 'stopped' });
  });
});
