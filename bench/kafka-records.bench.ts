/**
 * The kernel's cost over raw kafkajs: producing RawUplink records through RecordProducer
 * (validation + Avro + registry framing + acks=all idempotent send) against raw batched kafkajs
 * produce of the same encoded bytes; consuming them through the codec's decode against a bare
 * kafkajs consume loop of the same range.
 */
import { Kafka, logLevel } from 'kafkajs';
import { SAMPLE_RECORDS } from '../schemas/avro/samples.js';
import type { RawUplink } from '../schemas/avro/index.js';
import { createRecordProducer } from '../core/kafka/record-producer.js';
import { deleteTopics, testKernel } from '../test/support/stack.js';
import { median, throughputs, type BenchResult } from './lib/measure.js';

const RECORDS = 20_000;
const BATCH = 500;
const REPEATS = 5;

function uplinks(run: number): RawUplink[] {
  return Array.from({ length: RECORDS }, (_, i) => ({
    ...SAMPLE_RECORDS.RawUplink,
    uplinkId: `bench-${run}-${i}`,
    idempotencyKey: `bench-${run}-${i}`,
    deviceId: `mbus:${String(10_000_000 + (i % 5000)).padStart(8, '0')}04771403`,
  }));
}

export async function benchKafkaRecords(): Promise<BenchResult[]> {
  const kernel = await testKernel('bench');
  const topic = kernel.catalogue.rawUplinks;
  const producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: [topic] });
  await producer.start();
  const raw = new Kafka({ clientId: 'bench-raw', brokers: [...kernel.config.kafka.brokers], logLevel: logLevel.NOTHING });
  const rawProducer = raw.producer({ idempotent: true, maxInFlightRequests: 1 });
  await rawProducer.connect();

  const inputs = Array.from({ length: REPEATS }, (_, run) => uplinks(run));
  const encoded = inputs.map((records) => producer.encode(topic, records));

  // Interleave subject and baseline runs so drift on a shared machine hits both alike.
  const ours: number[] = [];
  const base: number[] = [];
  for (let run = 0; run < REPEATS; run++) {
    base.push(...(await throughputs(1, RECORDS, async () => {
      for (let i = 0; i < RECORDS; i += BATCH) {
        await rawProducer.send({ topic: topic.name, acks: -1, messages: encoded[run]!.slice(i, i + BATCH).map((m) => ({ key: m.key, value: m.value })) });
      }
    })));
    ours.push(...(await throughputs(1, RECORDS, async () => {
      for (let i = 0; i < RECORDS; i += BATCH) await producer.produce(topic, inputs[run]!.slice(i, i + BATCH));
    })));
  }

  const total = RECORDS * REPEATS * 2;
  const consumeBase = await timedConsume(kernel, total, async () => undefined);
  const consumeOurs = await timedConsume(kernel, total, async (value) => {
    await kernel.codec.decode('RawUplink', value);
  });

  await rawProducer.disconnect();
  await producer.stop();
  await deleteTopics(kernel);
  return [
    { name: 'produce RawUplink (validate + Avro + acks=all)', subject: median(ours), baseline: median(base), baselineName: 'raw kafkajs batched produce', unit: 'rec/s' },
    { name: 'consume + decode RawUplink', subject: consumeOurs, baseline: consumeBase, baselineName: 'bare kafkajs consume loop', unit: 'rec/s' },
  ];

  async function timedConsume(k: typeof kernel, expected: number, perValue: (value: Buffer | null) => Promise<void>): Promise<number> {
    const rates: number[] = [];
    for (let run = 0; run < 3; run++) {
      const consumer = raw.consumer({ groupId: `${k.prefix}bench-${Math.random()}` });
      await consumer.connect();
      await consumer.subscribe({ topic: topic.name, fromBeginning: true });
      let seen = 0;
      let started = 0n;
      const done = new Promise<number>((resolve) => {
        void consumer.run({
          eachBatch: async ({ batch }) => {
            if (started === 0n) started = process.hrtime.bigint();
            for (const m of batch.messages) await perValue(m.value);
            seen += batch.messages.length;
            if (seen >= expected) resolve(Number(process.hrtime.bigint() - started) / 1e9);
          },
        });
      });
      const seconds = await done;
      await consumer.disconnect();
      rates.push(expected / seconds);
    }
    return median(rates);
  }
}
