/**
 * The simulator's faults against the real M-Bus TCP connector and Kafka: a silenced meter stops
 * and resumes, and duplicates, reordering, garbage and dropped connections appear in the ledger
 * while the topic still reconciles with it.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter, RawUplink } from '../../schemas/avro/index.js';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import { createIngest } from '../kit/ingest.js';
import { createMbusTcpSource } from '../mbus-tcp/source.js';
import { createMqttSource } from '../mqtt/source.js';
import { deleteTopics, readToEnd, testKernel, waitFor, type TestKernel } from '../../test/support/stack.js';
import { deviceIdOf } from './messages.js';
import { loadFrameTemplates } from './real-frames.js';
import { createSimulator, type SilenceWindow, type Simulator } from './simulator.js';

let kernel: TestKernel;
let producer: RecordProducer;
let source: ReturnType<typeof createMbusTcpSource>;
let simulator: Simulator;
let quiet: string;

const ACCESS_NUMBER_OFFSET = 15;

/** The dead letters of one connector. */
async function deadLettersOf(connector: string): Promise<DeadLetter[]> {
  const all = await Promise.all(
    (await readToEnd(kernel, kernel.catalogue.dlqOf(kernel.catalogue.rawUplinks).name)).map(async (m) => (await kernel.codec.decode('DeadLetter', m.value)).value),
  );
  return all.filter((d) => d.component === connector);
}

async function uplinks(): Promise<RawUplink[]> {
  return Promise.all((await readToEnd(kernel, kernel.catalogue.rawUplinks.name)).map(async (m) => (await kernel.codec.decode('RawUplink', m.value)).value));
}

/** The access numbers a device's frames on the topic carry, distinct, in the order first seen. */
function accessNumbers(all: readonly RawUplink[], deviceId: string): number[] {
  return [...new Set(all.filter((u) => u.deviceId === deviceId).map((u) => u.payload[ACCESS_NUMBER_OFFSET]!))];
}

/** The test's fleet: three wired meters sending real meters' frames every 300 ms, with every fault on. */
function fleet(silence: SilenceWindow[]): Simulator {
  return createSimulator({
    mix: { 'mbus-tcp': 3, 'wmbus-mqtt': 0, 'chirpstack-mqtt': 0, 'lns-websocket': 0, http: 0, 'station-mqtt': 0 },
    seed: 5,
    intervalMs: 300,
    backfillMs: 0,
    speed: 1,
    frameTemplates: loadFrameTemplates(),
    faults: { duplicateRate: 0.3, reorderRate: 0.2, garbageRate: 0.3, disconnectRate: 0.15, silence },
    targets: { tcp: { host: '127.0.0.1', port: source.address()?.port ?? 0 } },
    logger: kernel.logger,
  });
}

const SILENCE = { afterMs: 1500, durationMs: 2000 };

beforeAll(async () => {
  kernel = await testKernel('simfaults');
  producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: kernel.catalogue.all });
  await producer.start();
  source = createMbusTcpSource({ port: 0, host: '127.0.0.1', registry: new Registry() });
  await source.start(createIngest({ producer, catalogue: kernel.catalogue, connector: source.name, logger: kernel.logger, metrics: new Registry() }));
  // The same seed gives the same fleet: learn its first meter's id (the test silences it).
  quiet = deviceIdOf(fleet([]).devices[0]!);
});

afterAll(async () => {
  await simulator?.stop();
  await source?.stop();
  await producer?.stop();
  await deleteTopics(kernel);
});

describe('simulator faults', () => {
  it('counts duplicates, garbage and dropped connections over MQTT while the topic reconciles per transport', async () => {
    const topicPrefix = `${kernel.prefix.replace('.', '')}/`;
    const mqttSource = createMqttSource({ url: kernel.config.mqtt.url, topicPrefix, clientId: `${kernel.prefix}mqtt`, metrics: new Registry(), logger: kernel.logger });
    await mqttSource.start(createIngest({ producer, catalogue: kernel.catalogue, connector: mqttSource.name, logger: kernel.logger, metrics: new Registry() }));
    const mqttFleet = createSimulator({
      mix: { 'mbus-tcp': 0, 'wmbus-mqtt': 2, 'chirpstack-mqtt': 3, 'lns-websocket': 0, http: 0, 'station-mqtt': 0 },
      seed: 9,
      intervalMs: 300,
      backfillMs: 0,
      speed: 1,
      faults: { duplicateRate: 0.3, garbageRate: 0.3, disconnectRate: 0.2 },
      targets: { mqttUrl: kernel.config.mqtt.url, mqttTopicPrefix: topicPrefix },
      logger: kernel.logger,
    });
    const ledger = mqttFleet.ledger;
    const transports = ['chirpstack-mqtt', 'wmbus-mqtt'];
    const byFormat: Record<string, string> = { CHIRPSTACK_EVENT: 'chirpstack-mqtt', WMBUS_TELEGRAM: 'wmbus-mqtt' };
    try {
      await mqttFleet.start();
      await waitFor('traffic with every fault', () => {
        const c = mqttFleet.ledger['chirpstack-mqtt'];
        return c !== undefined && c.acknowledged >= 20 && c.duplicates > 0 && c.garbage > 0 && c.disconnects > 0;
      }, { timeoutMs: 60_000 });
      await mqttFleet.stop();
      for (const transport of transports) expect(ledger[transport]!.refused, transport).toBe(0);
      // A PUBACK comes from the broker: the connector keeps consuming until it has every message.
      await waitFor('every acknowledged MQTT message on the topic, once per idempotency key', async () => {
        const keys = new Map<string, Set<string>>();
        for (const u of await uplinks()) {
          const transport = byFormat[u.payloadFormat];
          if (u.connector !== mqttSource.name || transport === undefined) continue;
          keys.set(transport, (keys.get(transport) ?? new Set()).add(u.idempotencyKey));
        }
        return transports.every((t) => keys.get(t)?.size === ledger[t]!.acknowledged);
      }, { timeoutMs: 60_000, intervalMs: 500 });
    } finally {
      await mqttFleet.stop();
      await mqttSource.stop();
    }
    // The bad JSON was refused into the DLQ, and nothing else was.
    const reasons = new Set((await deadLettersOf(mqttSource.name)).map((d) => d.reasonCode));
    expect([...reasons]).toEqual(['MALFORMED_JSON']);
  }, 120_000);

  it('silences a meter for a while, and counts duplicates, reordering, garbage and dropped connections while the topic reconciles', async () => {
    // Built just before it starts: its clock starts when it is built.
    simulator = fleet([{ deviceId: quiet, ...SILENCE }]);
    await simulator.start();
    const silenceEnds = Date.now() + SILENCE.afterMs + SILENCE.durationMs;
    // Until the silence is over and the quiet meter has been heard after it.
    await waitFor('the silenced meter to resume', async () => {
      if (Date.now() < silenceEnds + 1000) return false;
      const seen = accessNumbers(await uplinks(), quiet);
      return internalGaps(seen).length > 0 && seen.length >= 8;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    await simulator.stop();

    const counts = simulator.ledger['mbus-tcp']!;
    expect(counts.silenced).toBeGreaterThan(0);
    expect(counts.duplicates).toBeGreaterThan(0);
    expect(counts.reordered).toBeGreaterThan(0);
    expect(counts.garbage).toBeGreaterThan(0);
    expect(counts.disconnects).toBeGreaterThan(0);
    expect(counts.refused).toBe(0);

    // Exactly as many distinct frames as were acknowledged: duplicates and resends share keys.
    const all = await waitFor('every acknowledged frame on the topic', async () => {
      const found = (await uplinks()).filter((u) => u.connector === source.name);
      return new Set(found.map((u) => u.idempotencyKey)).size === counts.acknowledged && found;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(all.length).toBeGreaterThanOrEqual(counts.acknowledged);

    // The quiet meter's access numbers advance by one per reading, sent or not: the silence is one
    // run of missing numbers, as long as the ledger says, with frames before and after it.
    expect(internalGaps(accessNumbers(all, quiet))).toEqual([counts.silenced]);

    const deadLetters = await deadLettersOf(source.name);
    // The noise, and at most the start of a frame cut off by a dropped connection (sent again whole).
    const reasons = new Set(deadLetters.map((d) => d.reasonCode));
    expect(reasons).toContain('MBUS_GARBAGE');
    expect([...reasons].filter((r) => r !== 'MBUS_GARBAGE' && r !== 'MBUS_TRUNCATED')).toEqual([]);
  }, 120_000);
});

/**
 * The runs of access numbers missing between those seen, on the 0–255 circle, without the longest
 * run (the numbers the meter has not reached yet, or left behind); a test meter sends far fewer than
 * 128 frames, so that run is always the longest.
 */
function internalGaps(seen: readonly number[]): number[] {
  const present = new Set(seen);
  if (present.size === 0) return [];
  const runs: number[] = [];
  for (const n of present) {
    let missing = 0;
    while (missing < 256 && !present.has((n + 1 + missing) % 256)) missing++;
    if (missing > 0 && missing < 256) runs.push(missing);
  }
  runs.sort((a, b) => a - b);
  return runs.slice(0, -1);
}
