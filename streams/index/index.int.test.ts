import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Client } from '@elastic/elasticsearch';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import type { RecordTypes } from '../../schemas/avro/index.js';
import { SAMPLE_RECORDS } from '../../schemas/avro/samples.js';
import { deleteTopics, REPO_ROOT, testKernel, waitFor, type TestKernel } from '../../test/support/stack.js';
import { swapAlias } from './aliases.js';
import { createElasticsearchClient } from './elasticsearch.js';
import type { IndexType } from './index-names.js';
import { kernelIndexWorker } from './testing/kernel-worker.js';
import type { IndexWorker, IndexWorkerOptions } from './worker.js';

let kernel: TestKernel;
let producer: RecordProducer;
let elasticsearch: Client;
const workers: IndexWorker[] = [];
/** Undoes what beforeEach set up, newest first; only what was actually set up. */
const cleanups: Array<() => Promise<unknown>> = [];

// Each test gets its own topics, groups, indices and templates under a fresh prefix.
beforeEach(async () => {
  const k = (kernel = await testKernel('index'));
  cleanups.push(() => deleteTopics(k));
  const es = (elasticsearch = createElasticsearchClient({ url: k.config.elasticsearch.url }));
  cleanups.push(async () => {
    await es.indices.delete({ index: `${k.prefix}*`, expand_wildcards: 'all' });
    await es.indices.deleteIndexTemplate({ name: `${k.prefix}*` }, { ignore: [404] });
    await es.close();
  });
  const p = (producer = createRecordProducer({ kafka: k.kafka, codec: k.codec, topics: k.catalogue.all }));
  cleanups.push(() => p.stop());
  await p.start();
});

afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.stop();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startWorker(options: Partial<IndexWorkerOptions> = {}): Promise<IndexWorker> {
  const worker = kernelIndexWorker(kernel, elasticsearch, options);
  workers.push(worker);
  await worker.start();
  return worker;
}

interface Hit<T = Record<string, unknown>> {
  readonly _index: string;
  readonly _id: string;
  readonly _version: number;
  readonly _source: T;
}

/** Every document behind an index or alias, after a refresh, by id. */
async function documents<T = Record<string, unknown>>(target: string, query: object = { match_all: {} }): Promise<Map<string, Hit<T>>> {
  await elasticsearch.indices.refresh({ index: target });
  const result = await elasticsearch.search<T>({ index: target, query, size: 10_000, version: true });
  return new Map(result.hits.hits.map((hit) => [hit._id!, hit as unknown as Hit<T>]));
}

async function countOf(target: string): Promise<number> {
  await elasticsearch.indices.refresh({ index: target, ignore_unavailable: true, allow_no_indices: true });
  return (await elasticsearch.count({ index: target, ignore_unavailable: true, allow_no_indices: true })).count;
}

const alias = (type: IndexType): string => `${kernel.prefix}${type}`;

async function waitForCounts(expected: Partial<Record<IndexType, number>>): Promise<void> {
  for (const [type, count] of Object.entries(expected)) {
    await waitFor(`${count} ${type} documents`, async () => (await countOf(alias(type as IndexType))) === count, { timeoutMs: 60_000 });
  }
}

/** Sum of a worker's counts of one outcome over every type. */
function total(worker: IndexWorker, outcome: 'created' | 'updated' | 'duplicate' | 'stale' | 'deadLettered'): number {
  return Object.values(worker.stats()).reduce((sum, counts) => sum + counts[outcome], 0);
}

const monthly: RecordTypes['Consumption'] = {
  ...SAMPLE_RECORDS.Consumption,
  granularity: 'MONTHLY',
  periodStartAt: Date.parse('2026-02-28T23:00:00.000Z'),
  periodEndAt: Date.parse('2026-03-31T22:00:00.000Z'),
  localPeriod: '2026-03',
  startValue: '0.010000000',
  delta: '0.250000000',
};
const daily: RecordTypes['Concentration'] = {
  ...SAMPLE_RECORDS.Concentration,
  granularity: 'DAILY',
  periodStartAt: Date.parse('2026-03-28T21:00:00.000Z'),
  periodEndAt: Date.parse('2026-03-29T21:00:00.000Z'),
};

/** One record of every indexed type, on every indexed topic: 9 documents. */
async function produceSamples(): Promise<void> {
  const { catalogue } = kernel;
  await producer.produce(catalogue.readings, [SAMPLE_RECORDS.Reading]);
  await producer.produce(catalogue.devices, [SAMPLE_RECORDS.Device]);
  await producer.produce(catalogue.consumptionDaily, [SAMPLE_RECORDS.Consumption]);
  await producer.produce(catalogue.consumptionMonthly, [monthly]);
  await producer.produce(catalogue.concentrationHourly, [SAMPLE_RECORDS.Concentration]);
  await producer.produce(catalogue.concentrationDaily, [daily]);
  await producer.produce(catalogue.footprintMonthly, [SAMPLE_RECORDS.Footprint]);
  await producer.produce(catalogue.alerts, [SAMPLE_RECORDS.Alert]);
  await producer.produce(catalogue.dlqOf(catalogue.rawUplinks), [SAMPLE_RECORDS.DeadLetter]);
}

const SAMPLE_COUNTS = { readings: 1, devices: 1, consumption: 2, concentrations: 2, footprint: 1, alerts: 1, rejects: 1 } as const;

async function committedEverything(groupId: string, topic: string): Promise<boolean> {
  const admin = kernel.kafka.admin();
  await admin.connect();
  try {
    const high = new Map((await admin.topicOffsets(topic)).map((p) => [p.partition, p.high]));
    const committed = await admin.groupOffsets(groupId, topic);
    return [...high].every(([partition, offset]) => offset === '0' || committed.find((c) => c.partition === partition)?.offset === offset);
  } finally {
    await admin.disconnect();
  }
}

describe('indexing worker', () => {
  it('indexes every record type under its alias, with its deterministic id, its version and its fields as mapped', async () => {
    await startWorker();
    await produceSamples();
    await waitForCounts(SAMPLE_COUNTS);

    const readings = await documents(alias('readings'));
    expect(readings.get(SAMPLE_RECORDS.Reading.readingId)).toMatchObject({
      _index: `${kernel.prefix}readings-v1-2026.03`,
      _version: 1,
      _source: SAMPLE_RECORDS.Reading,
    });
    expect((await documents(alias('devices'))).get(SAMPLE_RECORDS.Device.deviceId)).toMatchObject({
      _index: `${kernel.prefix}devices-v1`,
      _version: 57,
      _source: SAMPLE_RECORDS.Device,
    });
    const consumption = await documents(alias('consumption'));
    expect([...consumption.keys()].sort()).toEqual(['reg-0042|2026-02-28T23:00:00.000Z|MONTHLY', 'reg-0042|2026-03-28T23:00:00.000Z|DAILY']);
    expect(consumption.get('reg-0042|2026-03-28T23:00:00.000Z|DAILY')).toMatchObject({ _version: 3, _source: SAMPLE_RECORDS.Consumption });
    const concentrations = await documents(alias('concentrations'));
    expect([...concentrations.keys()].sort()).toEqual(['minsk-01|CH4|2026-03-28T21:00:00.000Z|DAILY', 'minsk-01|CH4|2026-03-29T09:00:00.000Z|HOURLY']);
    expect((await documents(alias('footprint'))).get('org-7|2026-03|SCOPE_2')).toMatchObject({ _version: 2, _source: SAMPLE_RECORDS.Footprint });
    expect((await documents(alias('alerts'))).get(SAMPLE_RECORDS.Alert.alertId)).toMatchObject({ _version: 1, _source: SAMPLE_RECORDS.Alert });
    const reject = (await documents<Record<string, unknown>>(alias('rejects'))).get(SAMPLE_RECORDS.DeadLetter.deadLetterId);
    expect(Buffer.from(reject!._source['originalValue'] as string, 'base64').equals(SAMPLE_RECORDS.DeadLetter.originalValue)).toBe(true);

    // Exact decimals sum through their double twin; nested lines keep resource and emissions together.
    await elasticsearch.indices.refresh({ index: alias('consumption') });
    const sums = await elasticsearch.search({
      index: alias('consumption'),
      size: 0,
      aggs: { delta: { sum: { field: 'delta.double' } } },
    });
    expect((sums.aggregations!['delta'] as { value: number }).value).toBeCloseTo(0.392, 9);
    const heat = await documents(alias('footprint'), {
      nested: { path: 'lines', query: { bool: { filter: [{ term: { 'lines.resource': 'HEAT' } }, { range: { 'lines.emissionsKgCo2e.double': { gt: 1000 } } }] } } },
    });
    expect(heat.size).toBe(1);
    // Rejects are searchable by reason code and by the words of their message.
    expect((await documents(alias('rejects'), { term: { reasonCode: 'MBUS_BAD_CHECKSUM' } })).size).toBe(1);
    expect((await documents(alias('rejects'), { match: { reasonMessage: 'checksum' } })).size).toBe(1);

    const mapping = await elasticsearch.indices.getMapping({ index: `${kernel.prefix}readings-v1-2026.03` });
    expect(Object.values(mapping)[0]!.mappings).toMatchObject({ dynamic: 'strict', properties: { location: { type: 'geo_point' } } });
    const aliases = await elasticsearch.indices.getAlias({ name: alias('readings') });
    expect(Object.keys(aliases)).toEqual([`${kernel.prefix}readings-v1-2026.03`]);
  });

  it('creates no duplicate when the same records are delivered again, and changes no version', async () => {
    const worker = await startWorker();
    await produceSamples();
    await waitForCounts(SAMPLE_COUNTS);
    const before = await Promise.all(Object.keys(SAMPLE_COUNTS).map((type) => documents(alias(type as IndexType))));

    await produceSamples();
    await waitFor('the second delivery to be acknowledged', () => total(worker, 'duplicate') + total(worker, 'stale') === 9, { timeoutMs: 60_000 });

    const after = await Promise.all(Object.keys(SAMPLE_COUNTS).map((type) => documents(alias(type as IndexType))));
    expect(after).toEqual(before);
    expect(total(worker, 'created')).toBe(9);
    expect(worker.stats().readings).toMatchObject({ created: 1, duplicate: 1 });
    expect(worker.stats().devices).toMatchObject({ created: 1, stale: 1 });
  });

  it('never lets an older revision overwrite a newer one, in one batch or in a later one', async () => {
    const worker = await startWorker({ types: ['devices', 'alerts'] });
    const device = (revision: number): RecordTypes['Device'] => ({ ...SAMPLE_RECORDS.Device, revision, batteryPercent: revision });
    const alert = (revision: number, state: RecordTypes['Alert']['state']): RecordTypes['Alert'] => ({ ...SAMPLE_RECORDS.Alert, revision, state });
    await producer.produce(kernel.catalogue.devices, [device(5), device(7), device(6)]);
    await producer.produce(kernel.catalogue.alerts, [alert(1, 'RAISED'), alert(3, 'CLEARED'), alert(2, 'ACKNOWLEDGED')]);
    await waitFor('six revisions to be acknowledged', () => total(worker, 'created') + total(worker, 'updated') + total(worker, 'stale') === 6, { timeoutMs: 60_000 });

    await producer.produce(kernel.catalogue.devices, [device(4)]);
    await waitFor('the late revision to be acknowledged', () => total(worker, 'stale') === 3, { timeoutMs: 60_000 });

    expect((await documents(alias('devices'))).get(SAMPLE_RECORDS.Device.deviceId)).toMatchObject({ _version: 7, _source: { revision: 7, batteryPercent: 7 } });
    expect((await documents(alias('alerts'))).get(SAMPLE_RECORDS.Alert.alertId)).toMatchObject({ _version: 3, _source: { revision: 3, state: 'CLEARED' } });
  });

  it('dead-letters readings Elasticsearch cannot map, with the reason and its message, and goes on with the rest', async () => {
    const worker = await startWorker({ types: ['readings', 'rejects'] });
    const reading = (index: number, changes: Partial<RecordTypes['Reading']> = {}): RecordTypes['Reading'] => ({
      ...SAMPLE_RECORDS.Reading,
      readingId: `${SAMPLE_RECORDS.Reading.uplinkId}:${index}`,
      ...changes,
    });
    // A keyword longer than Lucene's 32766-byte term limit: valid Avro, refused by Elasticsearch per item.
    const immense = reading(1, { registerKey: 'volume.'.repeat(6000) });
    // NaN is a valid Avro double but has no JSON form: refused before it reaches Elasticsearch.
    const notANumber = reading(2, { value: Number.NaN });
    // One device, so one partition: the bad readings sit between good ones in one batch.
    await producer.produce(kernel.catalogue.readings, [reading(0), immense, notANumber, reading(3)]);

    await waitForCounts({ readings: 2, rejects: 2 });
    expect([...(await documents(alias('readings'))).keys()].sort()).toEqual([reading(0).readingId, reading(3).readingId]);
    const rejects = [...(await documents<RecordTypes['DeadLetter']>(alias('rejects'), { term: { reasonCode: 'INDEX_MAPPING_FAILED' } })).values()]
      .map((hit) => hit._source)
      .sort((a, b) => (a.originalOffset ?? 0) - (b.originalOffset ?? 0));
    expect(rejects).toHaveLength(2);
    expect(rejects.map((r) => [r.originalTopic, r.stage, r.component])).toEqual([
      [kernel.catalogue.readings.name, 'index', `${kernel.prefix}index-readings`],
      [kernel.catalogue.readings.name, 'index', `${kernel.prefix}index-readings`],
    ]);
    expect(rejects[0]!.reasonMessage).toMatch(/^Elasticsearch could not index readings document .*:1 into .*readings-v1-2026\.03: document_parsing_exception: .*registerKey/);
    expect(rejects[1]!.reasonMessage).toMatch(/^value: expected a finite number, got NaN/);
    // The original bytes are kept, so the reading can be re-driven once the cause is fixed.
    const original = await kernel.codec.decode('Reading', Buffer.from(rejects[0]!.originalValue as unknown as string, 'base64'));
    expect(original.value.readingId).toBe(immense.readingId);
    expect(worker.stats().readings).toMatchObject({ created: 2, deadLettered: 2 });
    await waitFor('every reading offset to be committed', () => committedEverything(`${kernel.prefix}index-readings`, kernel.catalogue.readings.name));
  });

  it('extends existing indices of its generation with added fields, and refuses to start on a mapping it cannot extend', async () => {
    const devices = `${kernel.prefix}devices-v1`;
    // An index from before the mapping gained every field but deviceId.
    await elasticsearch.indices.create({ index: devices, mappings: { dynamic: 'strict', properties: { deviceId: { type: 'keyword' } } } });
    const worker = await startWorker({ types: ['devices'] });
    await producer.produce(kernel.catalogue.devices, [SAMPLE_RECORDS.Device]);
    await waitFor('the device to be indexed', () => worker.stats().devices.created === 1, { timeoutMs: 60_000 });
    expect((await documents(devices)).get(SAMPLE_RECORDS.Device.deviceId)?._source).toEqual(SAMPLE_RECORDS.Device);

    const alerts = `${kernel.prefix}alerts-v1`;
    await elasticsearch.indices.create({ index: alerts, mappings: { properties: { revision: { type: 'keyword' } } } });
    const refused = kernelIndexWorker(kernel, elasticsearch, { groupIdPrefix: `${kernel.prefix}refused.`, types: ['alerts'] });
    await expect(refused.start()).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringContaining(
        `the alerts mapping cannot be applied to the existing indices ${alerts} (mapper [revision] cannot be changed from type [keyword] to [long]); build generation 2 by replay`,
      ) as unknown,
    });
  });

  it('moves a read alias from generation 1 to a rebuilt generation 2 in one step', async () => {
    const readings = ['2026-02-15T10:00:00.000Z', '2026-03-15T10:00:00.000Z'].map((at, i) => ({
      ...SAMPLE_RECORDS.Reading,
      readingId: `swap:${i}`,
      observedAt: Date.parse(at),
    }));
    await producer.produce(kernel.catalogue.readings, readings);
    await producer.produce(kernel.catalogue.devices, [SAMPLE_RECORDS.Device]);
    await startWorker({ types: ['readings', 'devices'] });
    await waitForCounts({ readings: 2, devices: 1 });

    // The rebuild reads the topics again under its own groups and stays out of the read aliases.
    const rebuild = await startWorker({ types: ['readings', 'devices'], generation: 2, groupIdPrefix: `${kernel.prefix}replay.`, attachReadAliases: false });
    await waitFor('generation 2 to be built', () => rebuild.stats().readings.created === 2 && rebuild.stats().devices.created === 1, { timeoutMs: 60_000 });
    const aliasedIndices = async (name: string) => Object.keys(await elasticsearch.indices.getAlias({ name })).sort();
    expect(await aliasedIndices(alias('readings'))).toEqual([`${kernel.prefix}readings-v1-2026.02`, `${kernel.prefix}readings-v1-2026.03`]);
    expect(await countOf(alias('readings'))).toBe(2);

    const p = kernel.prefix;
    await swapAlias(elasticsearch, { alias: alias('readings'), from: `${p}readings-v1-*`, to: `${p}readings-v2-*` });
    await swapAlias(elasticsearch, { alias: alias('devices'), from: `${p}devices-v1`, to: `${p}devices-v2` });
    expect(await aliasedIndices(alias('readings'))).toEqual([`${p}readings-v2-2026.02`, `${p}readings-v2-2026.03`]);
    expect(await aliasedIndices(alias('devices'))).toEqual([`${p}devices-v2`]);
    expect(await countOf(alias('readings'))).toBe(2);

    // Swapping again changes nothing; swapping to indices that do not exist fails and leaves the alias.
    await swapAlias(elasticsearch, { alias: alias('readings'), from: `${p}readings-v1-*`, to: `${p}readings-v2-*` });
    await expect(swapAlias(elasticsearch, { alias: alias('readings'), from: `${p}readings-v2-*`, to: `${p}readings-v3-*` })).rejects.toThrow(/index_not_found_exception/);
    expect(await aliasedIndices(alias('readings'))).toEqual([`${p}readings-v2-2026.02`, `${p}readings-v2-2026.03`]);
  });

  it('leaves exactly one document per reading when the worker is killed mid-run and started again', async () => {
    const total = 20_000;
    const start = Date.parse('2026-03-31T20:00:00.000Z');
    const readings: RecordTypes['Reading'][] = Array.from({ length: total }, (_, i) => ({
      ...SAMPLE_RECORDS.Reading,
      readingId: `crash:${i}`,
      deviceId: `mbus:${String(10_000_000 + (i % 300)).padStart(8, '0')}04771403`,
      // Straddles a month boundary, so two monthly indices are created while the worker runs.
      observedAt: start + i * 1000,
    }));
    for (let i = 0; i < total; i += 2000) await producer.produce(kernel.catalogue.readings, readings.slice(i, i + 2000));

    // `node --import tsx` rather than the tsx binary, which would run the worker in a grandchild that SIGKILL misses.
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'streams/index/testing/worker-process.ts', kernel.prefix], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    try {
      await waitFor('the child worker to index some readings', async () => (await countOf(alias('readings'))) >= 2000, { timeoutMs: 90_000 });
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    const atKill = await countOf(alias('readings'));
    expect(atKill).toBeLessThan(total);

    const worker = await startWorker({ types: ['readings'] });
    await waitFor('every reading to be indexed', async () => (await countOf(alias('readings'))) === total, { timeoutMs: 120_000 });
    await waitFor('every offset to be committed', () => committedEverything(`${kernel.prefix}index-readings`, kernel.catalogue.readings.name), { timeoutMs: 60_000 });

    // Ids are unique per index; count equal to the readings sent, over both months, means one each.
    expect(await countOf(alias('readings'))).toBe(total);
    expect(await countOf(`${kernel.prefix}readings-v1-2026.03`) + (await countOf(`${kernel.prefix}readings-v1-2026.04`))).toBe(total);
    // The restarted worker read again what the killed one had indexed but not committed.
    expect(worker.stats().readings.duplicate).toBeGreaterThan(0);
    expect(worker.stats().readings.created + worker.stats().readings.duplicate).toBeGreaterThanOrEqual(total - atKill);
  });
});
