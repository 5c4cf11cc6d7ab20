/**
 * The connector conformance suite: the same behaviour asked of every connector, each against its
 * real upstream (Mosquitto, an HTTP client, a TCP gateway, the LNS emulator) and the real Kafka.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import type { DeadLetter, RawUplink } from '../../schemas/avro/index.js';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import { createIngest } from '../kit/ingest.js';
import type { Source } from '../kit/source.js';
import { deleteTopics, readToEnd, run, testKernel, waitFor, type TestKernel } from '../../test/support/stack.js';
import { httpDriver, lnsDriver, mbusTcpDriver, mqttDriver, type ConnectorDriver } from './drivers.js';

/** Every record a topic holds now, decoded. */
async function readAll<R extends 'RawUplink' | 'DeadLetter'>(kernel: TestKernel, record: R, topic: string) {
  const messages = await readToEnd(kernel, topic);
  return Promise.all(messages.map(async (m) => (await kernel.codec.decode(record, m.value)).value as R extends 'RawUplink' ? RawUplink : DeadLetter));
}

/**
 * Waits until the raw topic holds the given devices' uplinks and checks nothing was lost or
 * counted twice: one distinct idempotency key per device, and where a key repeats (a redelivery)
 * its payload is byte-identical.
 */
async function expectExactlyOnce(kernel: TestKernel, deviceIds: readonly string[]): Promise<void> {
  const wanted = new Set(deviceIds);
  let mine: RawUplink[] = [];
  await waitFor(`${wanted.size} devices on the raw topic`, async () => {
    const all = await readAll(kernel, 'RawUplink', kernel.catalogue.rawUplinks.name);
    mine = all.filter((u) => wanted.has(u.deviceId));
    return new Set(mine.map((u) => u.deviceId)).size === wanted.size;
  }, { timeoutMs: 180_000, intervalMs: 1000 });
  const keysPerDevice = new Map<string, Set<string>>();
  const payloadPerKey = new Map<string, string>();
  for (const uplink of mine) {
    const keys = keysPerDevice.get(uplink.deviceId) ?? new Set();
    keys.add(uplink.idempotencyKey);
    keysPerDevice.set(uplink.deviceId, keys);
    const payload = uplink.payload.toString('hex');
    expect(payloadPerKey.get(uplink.idempotencyKey) ?? payload, `payload of ${uplink.idempotencyKey}`).toBe(payload);
    payloadPerKey.set(uplink.idempotencyKey, payload);
  }
  expect([...keysPerDevice.values()].every((keys) => keys.size === 1), 'one idempotency key per device').toBe(true);
}

describe.each([mqttDriver(), httpDriver(), mbusTcpDriver(), lnsDriver()])('the $name connector', (driver: ConnectorDriver) => {
  let kernel: TestKernel;
  let producer: RecordProducer;
  let source: Source | undefined;
  /** Made before the started one: HTTP and TCP drivers talk to the source they created last. */
  let unstarted: Source;

  async function startSource(): Promise<void> {
    source = driver.createSource();
    await source.start(createIngest({ producer, catalogue: kernel.catalogue, connector: driver.name, logger: kernel.logger, metrics: new Registry() }));
  }

  beforeAll(async () => {
    kernel = await testKernel(`conf-${driver.name}`);
    producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: kernel.catalogue.all });
    await producer.start();
    await driver.setUp(kernel);
    unstarted = driver.createSource();
    await startSource();
  });

  afterAll(async () => {
    await source?.stop();
    await driver.tearDown();
    await producer.stop();
    await deleteTopics(kernel);
  });

  it('can be stopped before it starts, and stopped twice', async () => {
    await unstarted.stop();
    await unstarted.stop();
  });

  it('turns valid input into exactly one record each, keyed by device', async () => {
    await expectExactlyOnce(kernel, await driver.sendValid('valid', 5, 1));
  });

  it('keeps invalid input in the DLQ with its reason and tells the sender where its protocol can', async () => {
    const dlq = kernel.catalogue.dlqOf(kernel.catalogue.rawUplinks).name;
    const before = (await readAll(kernel, 'DeadLetter', dlq)).length;
    const answer = await driver.sendInvalid('broken');
    expect(answer).toBe(driver.expectedAnswer);
    const letters = await waitFor('the dead letter', async () => {
      const all = await readAll(kernel, 'DeadLetter', dlq);
      return all.length > before ? all : undefined;
    });
    const letter = letters.at(-1)!;
    expect(letter.stage).toBe('connector');
    expect(letter.reasonCode).toMatch(/^[A-Z_]+$/);
    expect(letter.originalValue.length).toBeGreaterThan(0);
  });

  it('loses nothing from many parallel clients', async () => {
    await expectExactlyOnce(kernel, await driver.sendValid('parallel', 120, 12));
  });

  // HTTP and TCP clients connect to the connector itself: they have no upstream of their own.
  const restartUpstream = driver.restartUpstream;
  if (restartUpstream) {
    it('loses and duplicates nothing when its upstream restarts mid-stream', async () => {
      const before = await driver.sendValid('upstream-before', 50, 3);
      const restarting = restartUpstream();
      const during = await driver.sendValid('upstream-during', 100, 3);
      await restarting;
      await expectExactlyOnce(kernel, [...before, ...during]);
    });
  }

  it('loses and duplicates nothing when Kafka restarts mid-stream', async () => {
    const before = await driver.sendValid('kafka-before', 50, 3);
    const restarting = run('infra/stack.sh', ['restart', 'kafka'], 180_000);
    // Sent while the broker stops and starts again: nothing may be acknowledged that Kafka lacks.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const during = await driver.sendValid('kafka-during', 100, 3);
    await restarting;
    await expectExactlyOnce(kernel, [...before, ...during]);
  });
});
