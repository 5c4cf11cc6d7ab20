/**
 * The indexing worker's throughput against the client's own bulk helper: the worker consumes a topic
 * of N readings (fetch, Avro decode, document ids, bulk with acknowledgement before commit) into a
 * fresh index; `client.helpers.bulk` indexes the same documents, with the same ids and op type,
 * into another fresh index of the same template. Runs alternate so drift on a shared machine hits
 * both alike. The clock starts once the worker's consumer has joined its group and stops when
 * Elasticsearch has acknowledged every document.
 */
import { SAMPLE_RECORDS } from '../schemas/avro/samples.js';
import type { Reading } from '../schemas/avro/index.js';
import { createRecordProducer } from '../core/kafka/record-producer.js';
import { deleteTopics, testKernel } from '../test/support/stack.js';
import { createElasticsearchClient } from '../streams/index/elasticsearch.js';
import { monthlyIndex } from '../streams/index/index-names.js';
import { ensureIndexTemplates } from '../streams/index/templates.js';
import { createIndexWorker } from '../streams/index/worker.js';
import { median, type BenchResult } from './lib/measure.js';

const READINGS = 100_000;
const REPEATS = 7;
const OBSERVED_FROM = Date.parse('2026-03-01T00:00:00.000Z');

function readings(): Reading[] {
  return Array.from({ length: READINGS }, (_, i) => ({
    ...SAMPLE_RECORDS.Reading,
    readingId: `bench:${i}`,
    deviceId: `mbus:${String(10_000_000 + (i % 5000)).padStart(8, '0')}04771403`,
    value: i / 100,
    observedAt: OBSERVED_FROM + i * 20_000,
  }));
}

export async function benchIndexing(): Promise<BenchResult[]> {
  const kernel = await testKernel('bench-index');
  const elasticsearch = createElasticsearchClient({ url: kernel.config.elasticsearch.url });
  const topic = kernel.catalogue.readings;
  const producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: [topic] });
  await producer.start();
  const documents = readings();
  for (let i = 0; i < documents.length; i += 2000) await producer.produce(topic, documents.slice(i, i + 2000));
  await producer.stop();

  /** A fresh prefix per run: fresh template, fresh index (created before the clock starts), fresh consumer group. */
  async function freshIndex(prefix: string): Promise<string> {
    await ensureIndexTemplates(elasticsearch, { prefix });
    const index = monthlyIndex({ prefix, generation: 1 }, 'readings', OBSERVED_FROM);
    await elasticsearch.indices.create({ index, aliases: { [`${prefix}readings`]: {} } });
    return index;
  }

  async function baselineRun(run: number): Promise<number> {
    const index = await freshIndex(`${kernel.prefix}base${run}.`);
    const started = process.hrtime.bigint();
    const stats = await elasticsearch.helpers.bulk({
      datasource: documents,
      onDocument: (reading: Reading) => ({ create: { _index: index, _id: reading.readingId } }),
    });
    const rate = READINGS / seconds(started);
    if (stats.successful !== READINGS) throw new Error(`the bulk helper indexed ${stats.successful} of ${READINGS}`);
    return rate;
  }

  async function workerRun(run: number): Promise<number> {
    const prefix = `${kernel.prefix}run${run}.`;
    await freshIndex(prefix);
    const worker = createIndexWorker({
      kafka: kernel.kafka,
      codec: kernel.codec,
      catalogue: kernel.catalogue,
      elasticsearch,
      logger: kernel.logger,
      prefix,
      groupIdPrefix: prefix,
      types: ['readings'],
    });
    await worker.start();
    // Start-up (templates, group joins) is not indexing; documents the first consumer indexed while
    // the others were still joining count neither in the numerator nor in the time.
    const before = worker.stats().readings.created;
    const started = process.hrtime.bigint();
    while (worker.stats().readings.created < READINGS) await new Promise((resolve) => setTimeout(resolve, 5));
    const rate = (READINGS - before) / seconds(started);
    await worker.stop();
    return rate;
  }

  const ours: number[] = [];
  const base: number[] = [];
  try {
    for (let run = 0; run < REPEATS; run++) {
      // Alternate which goes first, so neither always inherits the other's background merges.
      if (run % 2 === 0) {
        base.push(await baselineRun(run));
        ours.push(await workerRun(run));
      } else {
        ours.push(await workerRun(run));
        base.push(await baselineRun(run));
      }
    }
  } finally {
    await elasticsearch.indices.delete({ index: `${kernel.prefix}*`, expand_wildcards: 'all' });
    await elasticsearch.indices.deleteIndexTemplate({ name: `${kernel.prefix}*` });
    await elasticsearch.close();
    await deleteTopics(kernel);
  }
  return [
    {
      name: 'index readings (consume + decode + bulk, acknowledged)',
      subject: median(ours),
      baseline: median(base),
      baselineName: 'client.helpers.bulk, same documents',
      aim: 0.8,
      unit: 'docs/s',
    },
  ];
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}
