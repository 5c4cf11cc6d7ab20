import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SAMPLE_RECORDS } from '../../schemas/avro/samples.js';
import type { Alert, Reading } from '../../schemas/avro/index.js';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import { TransientError } from '../../core/errors.js';
import { deleteTopics, testKernel, waitFor, type TestKernel } from '../../test/support/stack.js';
import { jsonStateCodec } from './state-codec.js';
import { createStatefulWorker, type StatefulWorker, type StatefulWorkerDefinition } from './stateful-worker.js';

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

function tallyWorker(overrides: Partial<StatefulWorkerDefinition<'Reading', Tally>> = {}): StatefulWorker {
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
  const worker = createStatefulWorker(definition, { kafka: kernel.kafka, codec: kernel.codec, catalogue: kernel.catalogue, logger: kernel.logger, prefix: kernel.prefix, timerIntervalMs: 100 });
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
