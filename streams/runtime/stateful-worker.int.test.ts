import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SAMPLE_RECORDS } from '../../schemas/avro/samples.js';
import type { Alert, Reading } from '../../schemas/avro/index.js';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import { TransientError } from '../../core/errors.js';
import { deleteTopics, testKernel, waitFor, type TestKernel } from '../../test/support/stack.js';
import { changelogTopicName } from '../../core/topics.js';
import type { KafkaClient } from '../../core/kafka/client.js';
import { partitionOfKey } from '../../core/kafka/murmur2.js';
import { jsonStateCodec } from './state-codec.js';
import { createStatefulWorker, type StatefulWorker, type StatefulWorkerDefinition, type StatefulWorkerDeps } from './stateful-worker.js';

/** A toy worker: counts readings per device in state and emits one alert per reading carrying the count. */
interface Tally {
  count: number;
  silentAt?: number;
}

let kernel: TestKernel;
let producer: RecordProducer;
const running: StatefulWorker[] = [];

function reading(deviceId: string, n: number): Reading {
  return { ...SAMPLE_RECORDS.Reading, deviceId, readingId: `${deviceId}:${n}`, value: n };
}

function tallyWorker(overrides: Partial<StatefulWorkerDefinition<'Reading', Tally>> = {}, kafka: KafkaClient = kernel.kafka, deps: Partial<StatefulWorkerDeps> = {}): StatefulWorker {
  const definition: StatefulWorkerDefinition<'Reading', Tally> = {
    name: 'tally',
    input: kernel.catalogue.readings,
    outputs: [kernel.catalogue.alerts],
    stateCodec: jsonStateCodec<Tally>(),
    handle({ value }, ctx) {
      const count = (ctx.get(value.deviceId)?.count ?? 0) + 1;
      ctx.put(value.deviceId, { count });
      ctx.emit(kernel.catalogue.alerts, { ...SAMPLE_RECORDS.Alert, deviceId: value.deviceId, alertId: `${value.deviceId}|${count}`, revision: count });
    },
    ...overrides,
  };
  const worker = createStatefulWorker(definition, { kafka, codec: kernel.codec, catalogue: kernel.catalogue, logger: kernel.logger, prefix: kernel.prefix, timerIntervalMs: 100, ...deps });
  running.push(worker);
  return worker;
}

/** Every alert committed on the output topic (read_committed), in order per device. */
async function committedAlerts(expected: number): Promise<Alert[]> {
  const alerts: Alert[] = [];
  const consumer = kernel.kafka.consumer({ groupId: `${kernel.prefix}check-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe([kernel.catalogue.alerts.name], { fromBeginning: true });
  await consumer.run({
    eachBatch: async (batch) => {
      for (const m of batch.messages) alerts.push((await kernel.codec.decode('Alert', m.value)).value);
    },
  });
  try {
    await waitFor(`${expected} alerts`, () => alerts.length >= expected, { timeoutMs: 60_000 });
    // Anything beyond `expected` would be a duplicate: give it a moment to show up.
    await new Promise((resolve) => setTimeout(resolve, 1500));
  } finally {
    await consumer.disconnect();
  }
  return alerts;
}

function countsByDevice(alerts: readonly Alert[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const a of alerts) (out[a.deviceId] ??= []).push(a.revision);
  return out;
}

beforeEach(async () => {
  kernel = await testKernel('runner');
  producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: kernel.catalogue.all });
  await producer.start();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((w) => w.stop()));
  await producer.stop();
  await deleteTopics(kernel);
});

describe('the stateful worker runner', () => {
  it('restores state from its changelog after a restart, so counts continue instead of starting over', async () => {
    const devices = ['d1', 'd2', 'd3', 'd4'];
    await producer.produce(kernel.catalogue.readings, devices.flatMap((d) => [1, 2, 3].map((n) => reading(d, n))));
    const first = tallyWorker();
    await first.start();
    await committedAlerts(12);
    await first.stop();

    await producer.produce(kernel.catalogue.readings, devices.flatMap((d) => [4, 5].map((n) => reading(d, n))));
    await tallyWorker().start();

    const alerts = await committedAlerts(20);
    expect(alerts).toHaveLength(20);
    for (const d of devices) expect(countsByDevice(alerts)[d]).toEqual([1, 2, 3, 4, 5]);
  });

  it('gives the same outputs with two instances as with one, without duplicates or gaps', async () => {
    const devices = Array.from({ length: 12 }, (_, i) => `dev-${i}`);
    await producer.produce(kernel.catalogue.readings, devices.flatMap((d) => [1, 2].map((n) => reading(d, n))));
    await Promise.all([tallyWorker().start(), tallyWorker().start()]);
    await producer.produce(kernel.catalogue.readings, devices.flatMap((d) => [3, 4].map((n) => reading(d, n))));

    const alerts = await committedAlerts(48);
    expect(alerts).toHaveLength(48);
    for (const d of devices) expect(countsByDevice(alerts)[d]).toEqual([1, 2, 3, 4]);
  });

  it('aborts a batch that failed midway and processes it again, leaving no trace of the failed attempt', async () => {
    let failures = 1;
    const worker = tallyWorker({
      handle({ value }, ctx) {
        const count = (ctx.get(value.deviceId)?.count ?? 0) + 1;
        ctx.put(value.deviceId, { count });
        ctx.emit(kernel.catalogue.alerts, { ...SAMPLE_RECORDS.Alert, deviceId: value.deviceId, alertId: `${value.deviceId}|${count}`, revision: count });
        if (count === 2 && failures-- > 0) throw new TransientError('simulated crash after emitting', { code: 'TEST' });
      },
    });
    await producer.produce(kernel.catalogue.readings, [1, 2, 3].map((n) => reading('solo', n)));
    await worker.start();

    const alerts = await committedAlerts(3);
    expect(countsByDevice(alerts)['solo']).toEqual([1, 2, 3]);
  });

  it('hands beforeBatch the batch before handling it, and aborts and repeats a batch whose beforeCommit failed', async () => {
    const log: string[] = [];
    let failures = 1;
    const worker = tallyWorker({
      async beforeBatch(_partition, records) {
        for (const { value } of records) log.push(`before ${value.readingId}`);
      },
      handle({ value }, ctx) {
        log.push(`handle ${value.readingId}`);
        const count = (ctx.get(value.deviceId)?.count ?? 0) + 1;
        ctx.put(value.deviceId, { count });
        ctx.emit(kernel.catalogue.alerts, { ...SAMPLE_RECORDS.Alert, deviceId: value.deviceId, alertId: `${value.deviceId}|${count}`, revision: count });
      },
      async beforeCommit() {
        log.push('beforeCommit');
        if (failures-- > 0) throw new TransientError('simulated registry outage before the commit', { code: 'TEST' });
      },
    });
    await producer.produce(kernel.catalogue.readings, [1, 2, 3].map((n) => reading('solo', n)));
    await worker.start();

    const alerts = await committedAlerts(3);
    expect(countsByDevice(alerts)['solo']).toEqual([1, 2, 3]);
    // The failed attempt and its repetition: each looks the batch up first, then handles it, then commits.
    const attempt = ['before solo:1', 'before solo:2', 'before solo:3', 'handle solo:1', 'handle solo:2', 'handle solo:3', 'beforeCommit'];
    expect(log).toEqual([...attempt, ...attempt]);
  });

  it('skips the records a previous owner committed after this instance had fetched its position, instead of applying them twice', async () => {
    await producer.produce(kernel.catalogue.readings, [1, 2, 3, 4, 5, 6].map((n) => reading('late', n)));
    const admin = kernel.kafka.admin();
    await admin.connect();
    const partition = (await admin.topicOffsets(kernel.catalogue.readings.name).finally(() => admin.disconnect())).find((o) => o.high === '6')!.partition;
    // The previous owner's last transaction (readings 1-3 applied: state, outputs, offsets) lands after
    // this instance's consumer fetched the group's position (0) and before its producer fences.
    const previousOwnerCommits = async (): Promise<void> => {
      const zombie = kernel.kafka.producer({ transactionalId: `${kernel.prefix}previous-owner` });
      await zombie.connect();
      const tx = await zombie.transaction();
      await tx.send(changelogTopicName('tally', kernel.prefix), [{ key: 'late', value: jsonStateCodec<Tally>().encode({ count: 3 }), partition }]);
      await tx.send(kernel.catalogue.alerts.name, [1, 2, 3].map((count) => ({
        key: 'late',
        value: kernel.codec.encode(kernel.catalogue.alerts.subject, 'Alert', { ...SAMPLE_RECORDS.Alert, deviceId: 'late', alertId: `late|${count}`, revision: count }),
      })));
      await tx.commitOffsetsWith(`${kernel.prefix}tally`, [{ topic: kernel.catalogue.readings.name, partition, offset: '3' }]);
      await tx.commit();
      await zombie.disconnect();
    };
    let fetched = false;
    const racing: KafkaClient = {
      ...kernel.kafka,
      producer: (options) => {
        const real = kernel.kafka.producer(options);
        if (!options?.transactionalId?.endsWith(`.${partition}`) || fetched) return real;
        fetched = true;
        return {
          ...real,
          async connect() {
            // Long enough for the consumer to have fetched its position after joining.
            await new Promise((resolve) => setTimeout(resolve, 1500));
            await previousOwnerCommits();
            await real.connect();
          },
        };
      },
    };
    await tallyWorker({}, racing).start();

    const alerts = await committedAlerts(6);
    expect(countsByDevice(alerts)['late']).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('drops the state changes of a timer pass that failed midway, so the keys before the failure are not applied twice', async () => {
    // Two devices on one partition: their timers run in one pass.
    const first = 'timer-a';
    const second = Array.from({ length: 100 }, (_, i) => `timer-b${i}`).find((id) => partitionOfKey(id, 3) === partitionOfKey(first, 3))!;
    let calls = 0;
    const worker = tallyWorker({
      handle({ value }, ctx) {
        ctx.put(value.deviceId, { count: 1, silentAt: ctx.now() + 500 });
      },
      timerOf: (tally) => tally.silentAt,
      onTimer(key, ctx) {
        const count = (ctx.get(key)?.count ?? 0) + 100;
        ctx.put(key, { count });
        ctx.emit(kernel.catalogue.alerts, { ...SAMPLE_RECORDS.Alert, deviceId: key, alertId: `${key}|${count}`, revision: count });
        if (++calls === 2) throw new TransientError('simulated failure on the second key of the pass', { code: 'TEST' });
      },
    });
    await worker.start();
    await producer.produce(kernel.catalogue.readings, [reading(first, 1), reading(second, 1)]);

    const alerts = await committedAlerts(2);
    expect(calls).toBeGreaterThanOrEqual(4);
    expect(countsByDevice(alerts)).toEqual({ [first]: [101], [second]: [101] });
  });

  it('keeps its group session through a batch longer than the session timeout, instead of being evicted and taking its partitions over again', async () => {
    // Every partition taken over reads the group's committed offsets once (after fencing): counted.
    let takeovers = 0;
    const counting: KafkaClient = {
      ...kernel.kafka,
      admin: () => {
        const real = kernel.kafka.admin();
        return { ...real, groupOffsets: (groupId, topic) => ((takeovers += 1), real.groupOffsets(groupId, topic)) };
      },
    };
    let slow = true;
    const worker = tallyWorker({
      async beforeBatch() {
        // Longer than the 6 s session (the broker's minimum): only heartbeats keep the member in.
        if (slow) await new Promise((resolve) => setTimeout(resolve, 9000));
        slow = false;
      },
    }, counting, { sessionTimeoutMs: 6000 });
    await worker.start();
    await producer.produce(kernel.catalogue.readings, [1, 2, 3].map((n) => reading('slow', n)));

    const alerts = await committedAlerts(3);
    expect(countsByDevice(alerts)['slow']).toEqual([1, 2, 3]);
    // Each of the 3 partitions was taken over once: an evicted member rejoins and takes them over again.
    expect(takeovers).toBe(3);
  });

  it('runs timers kept in state, also after a restart', async () => {
    const fired: string[] = [];
    const timed = (): StatefulWorker =>
      tallyWorker({
        handle({ value }, ctx) {
          ctx.put(value.deviceId, { count: 1, silentAt: ctx.now() + 1500 });
        },
        timerOf: (tally) => tally.silentAt,
        onTimer(key, ctx) {
          fired.push(key);
          ctx.put(key, { count: ctx.get(key)?.count ?? 0 });
          ctx.emit(kernel.catalogue.alerts, { ...SAMPLE_RECORDS.Alert, deviceId: key, alertId: `DEVICE_SILENT|${key}|`, kind: 'DEVICE_SILENT' });
        },
      });
    const first = timed();
    await first.start();
    await producer.produce(kernel.catalogue.readings, [reading('quiet', 1)]);
    await waitFor('the reading to be in state', async () => (await committedAlerts(0), first.stateSize() === 1));
    await first.stop();

    await timed().start();
    await waitFor('the silence timer to fire after the restart', () => fired.includes('quiet'), { timeoutMs: 30_000 });
    const alerts = await committedAlerts(1);
    expect(alerts.map((a) => a.alertId)).toEqual(['DEVICE_SILENT|quiet|']);
  });
});
