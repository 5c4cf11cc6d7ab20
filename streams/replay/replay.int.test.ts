import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type { Client } from '@elastic/elasticsearch';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lifecycle } from '../../core/lifecycle.js';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import type { Footprint, RawUplink, Reading } from '../../schemas/avro/index.js';
import { SAMPLE_RECORDS } from '../../schemas/avro/samples.js';
import { deleteTopics, readToEnd, REPO_ROOT, run, testKernel, waitFor, type TestKernel } from '../../test/support/stack.js';
import { createDecodeProcess } from '../decode/main.js';
import { deviceIdOf, mbusUplink, type TestMeter } from '../decode/testing/uplinks.js';
import { createElasticsearchClient } from '../index/elasticsearch.js';
import { liveGenerations } from '../index/main.js';
import { kernelIndexWorker } from '../index/testing/kernel-worker.js';
import type { IndexWorker } from '../index/worker.js';
import { compareRun, createRun, discardRun, planReplay, runReplay, switchRun, type ReplayContext } from './replay.js';
import { activeRunGenerations } from './store.js';

const DAY_MS = 86_400_000;
/** Meter ids unique to this run: PostgreSQL is shared with other test files and runs. */
const BASE_ID = 20_000_000 + Math.floor(Math.random() * 70_000_000);
const DEVICES = 30;
const PER_DEVICE = 100;
const TOTAL = DEVICES * PER_DEVICE;
/** Devices whose clock is 200 days behind: CLOCK_TOO_OLD under the live rule (90 days), not under the fixed one. */
const OLD_CLOCK_DEVICES = 10;
const FIXED_MAX_AGE_MS = 400 * DAY_MS;

let kernel: TestKernel;
let producer: RecordProducer;
let es: Client;
let db: pg.Pool;
let ctx: ReplayContext;
let runId: string;
const deviceIds: string[] = [];
/** A live reading received long before any replayed uplink: not rebuilt, so carried over at the switch. */
const ancient: Reading = { ...SAMPLE_RECORDS.Reading, readingId: `ancient-${randomBytes(4).toString('hex')}:0`, receivedAt: Date.parse('2020-01-15T00:00:00Z'), observedAt: Date.parse('2020-01-15T00:00:00Z'), qualityFlags: [] };

const alias = (type: string): string => `${kernel.prefix}${type}`;

async function count(index: string, query: object = { match_all: {} }): Promise<number> {
  await es.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
  return (await es.count({ index, query, ignore_unavailable: true, allow_no_indices: true })).count;
}

const flagged = { term: { qualityFlags: 'CLOCK_TOO_OLD' } };

function uplinks(): RawUplink[] {
  const now = Date.now();
  const out: RawUplink[] = [];
  for (let d = 0; d < DEVICES; d += 1) {
    const meter: TestMeter = { id: BASE_ID + d, manufacturer: 'KAM', version: 0x1b, medium: 0x07 };
    deviceIds.push(deviceIdOf(meter));
    for (let j = 0; j < PER_DEVICE; j += 1) {
      const receivedAt = now - (PER_DEVICE - j) * 60_000;
      // The device's own time of the uplink (the meter time needs a site time zone, which these devices lack).
      const deviceTimeAt = receivedAt - (d < OLD_CLOCK_DEVICES ? 200 * DAY_MS : 60_000);
      out.push({ ...mbusUplink(meter, { litres: 1000 + j * 10 }, { receivedAt }), deviceTimeAt });
    }
  }
  return out;
}

beforeAll(async () => {
  kernel = await testKernel('rp');
  es = createElasticsearchClient({ url: kernel.config.elasticsearch.url });
  db = new pg.Pool({ connectionString: kernel.config.postgres.url, max: 4 });
  // The tables of migration 0009 (idempotent), in case this database was migrated before it existed.
  await db.query(await readFile(new URL('../../infra/postgres/migrations/0009_replay.sql', import.meta.url), 'utf8'));
  producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: kernel.catalogue.all });
  await producer.start();
  runId = `${kernel.prefix.slice(3, -1)}-1`;
  ctx = {
    config: kernel.config,
    logger: kernel.logger,
    kafka: kernel.kafka,
    codec: kernel.codec,
    elasticsearch: es,
    db,
    catalogue: kernel.catalogue,
    indexPrefix: kernel.prefix,
    decodeOptions: { maxAgeMs: FIXED_MAX_AGE_MS },
  };
}, 120_000);

afterAll(async () => {
  await producer?.stop();
  if (kernel) {
    await deleteTopics(kernel);
    const admin = kernel.kafka.admin();
    await admin.connect();
    const replayPrefix = `replay-${runId}`;
    // The runs discarded their topics already; whatever a failed test left is removed here (deletions may still be pending).
    await admin.deleteTopics((await admin.listTopics()).filter((t) => t.startsWith(replayPrefix))).catch(() => undefined);
    await admin.deleteGroups((await admin.listGroups()).filter((g) => g.startsWith(kernel.prefix) || g.startsWith(replayPrefix))).catch(() => undefined);
    await admin.disconnect();
  }
  if (es) {
    await es.indices.delete({ index: `${kernel.prefix}*`, expand_wildcards: 'all' });
    await es.indices.deleteIndexTemplate({ name: `${kernel.prefix}*` }, { ignore: [404] });
    await es.close();
  }
  if (db) {
    await db.query('DELETE FROM registers WHERE device_id = ANY($1)', [deviceIds]);
    await db.query('DELETE FROM devices WHERE id = ANY($1)', [deviceIds]);
    await db.query('DELETE FROM replay_runs WHERE run_id = ANY($1)', [[runId, `${runId}-fp`]]);
    await db.query('DELETE FROM index_generations WHERE index_prefix = $1', [kernel.prefix]);
    await db.end();
  }
}, 120_000);

describe('replay', () => {
  it('rebuilds readings after a decoder change into generation 2, reports the differences, survives a kill and switches the alias without a gap', async () => {
    // Live: decode (the old rule, default 90 days) and index into generation 1.
    const liveDecode = createDecodeProcess({ config: kernel.config, logger: kernel.logger, catalogue: kernel.catalogue, metrics: new Registry(), prefix: kernel.prefix });
    const liveIndex: IndexWorker = kernelIndexWorker(kernel, es, { types: ['readings', 'devices', 'alerts'] });
    const live = new Lifecycle([liveIndex, ...liveDecode.components], { logger: kernel.logger });
    await live.start();
    try {
      const sent = uplinks();
      for (let i = 0; i < sent.length; i += 500) await producer.produce(kernel.catalogue.rawUplinks, sent.slice(i, i + 500));
      await producer.produce(kernel.catalogue.readings, [ancient]);
      await waitFor('generation 1 to hold every live reading', async () => (await count(alias('readings'))) === TOTAL + 1, { timeoutMs: 240_000, intervalMs: 1000 });
    } finally {
      await live.stop();
    }
    expect(await count(alias('readings'), flagged)).toBe(OLD_CLOCK_DEVICES * PER_DEVICE);
    const admin = kernel.kafka.admin();
    await admin.connect();
    const rawBefore = await admin.topicOffsets(kernel.catalogue.rawUplinks.name);
    const liveGroupBefore = await admin.groupOffsets(`${kernel.prefix}decode`, kernel.catalogue.rawUplinks.name);
    await admin.disconnect();

    // Plan (dry run): the whole raw topic, generation 2, nothing created.
    const plan = await planReplay(ctx, { runId });
    expect(plan).toMatchObject({ runId, total: TOTAL, decode: true, generation: 2, indexTypes: ['readings', 'devices', 'alerts', 'consumption', 'concentrations'] });
    expect(plan.liveGenerations.readings).toBe(1);
    expect(plan.indices).toContain(`${kernel.prefix}readings-v2-*`);
    expect(await count(`${kernel.prefix}readings-v2-*`)).toBe(0);
    await createRun(ctx, plan);

    // A run in a child process, killed with SIGKILL midway.
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'streams/replay/testing/replay-process.ts', kernel.prefix, runId, String(FIXED_MAX_AGE_MS)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, INDEX_BULK_MAX_DOCS: '20', INDEX_BULK_MAX_IN_FLIGHT: '1', INDEX_READING_CONSUMERS: '1' },
    });
    try {
      await waitFor('the child replay to index some readings', async () => (await count(`${kernel.prefix}readings-v2-*`)) >= 200, { timeoutMs: 180_000, intervalMs: 200 });
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    const atKill = await count(`${kernel.prefix}readings-v2-*`);
    expect(atKill).toBeLessThan(TOTAL);

    // Run again: it resumes and finishes.
    const report = await runReplay(ctx, runId);
    expect(report).toMatchObject({ runId, finished: true, generation: 2, documents: { readings: TOTAL } });

    // Exactly once: the run's copy and its readings topic hold every record once (read_committed).
    const copied = await readToEnd(kernel, `replay-${runId}.${kernel.catalogue.rawUplinks.name}`);
    expect(copied).toHaveLength(TOTAL);
    const replayedReadings = await readToEnd(kernel, `replay-${runId}.${kernel.catalogue.readings.name}`);
    const ids = await Promise.all(replayedReadings.map(async (m) => (await kernel.codec.decode('Reading', m.value)).value.readingId));
    expect(new Set(ids).size).toBe(TOTAL);
    expect(ids).toHaveLength(TOTAL);
    expect(await count(`${kernel.prefix}readings-v2-*`)).toBe(TOTAL);
    expect(await count(`${kernel.prefix}readings-v2-*`, flagged)).toBe(0);

    // The live side was never touched: the raw topic and the live decode group are where they were.
    const after = kernel.kafka.admin();
    await after.connect();
    expect(await after.topicOffsets(kernel.catalogue.rawUplinks.name)).toEqual(rawBefore);
    expect(await after.groupOffsets(`${kernel.prefix}decode`, kernel.catalogue.rawUplinks.name)).toEqual(liveGroupBefore);
    await after.disconnect();
    // The alias still serves generation 1.
    expect(await count(alias('readings'), flagged)).toBe(OLD_CLOCK_DEVICES * PER_DEVICE);

    // Compare: same readings per day and quantity, the flags gone.
    const { comparison, window } = await compareRun(ctx, runId);
    expect(window).toBeDefined();
    expect(comparison.differs).toBe(true);
    const family = (name: string) => comparison.families.find((f) => f.family === name);
    expect(family('readings')).toMatchObject({ liveCount: TOTAL, replayCount: TOTAL, changedRows: 0 });
    expect(family('readings.flagged')).toMatchObject({ liveCount: OLD_CLOCK_DEVICES * PER_DEVICE, replayCount: 0 });
    // (Live ran no consumption or concentration worker: what the run recomputed is all new.)
    expect(comparison.rows.filter((r) => r.changed && r.family.startsWith('readings')).every((r) => r.family === 'readings.flagged')).toBe(true);

    // Switch while a reader queries the alias: it always answers, first the old figures, then the new.
    const seen: Array<{ total: number; flagged: number } | { error: string }> = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        try {
          const [total, flags] = await Promise.all([
            es.count({ index: alias('readings') }).then((r) => r.count),
            es.count({ index: alias('readings'), query: flagged }).then((r) => r.count),
          ]);
          seen.push({ total, flagged: flags });
        } catch (err) {
          seen.push({ error: String(err) });
        }
      }
    })();
    const switched = await switchRun(ctx, runId).finally(() => (reading = false));
    await reader;
    expect(switched.types.find((t) => t.type === 'readings')).toMatchObject({ from: 1, carried: 1 });
    expect(seen.filter((s) => 'error' in s)).toEqual([]);
    expect(seen.length).toBeGreaterThan(0);
    await es.indices.refresh({ index: alias('readings') });
    expect(await count(alias('readings'))).toBe(TOTAL + 1);
    expect(await count(alias('readings'), flagged)).toBe(0);
    const aliased = Object.keys(await es.indices.getAlias({ name: alias('readings') }));
    expect(aliased.length).toBeGreaterThan(0);
    expect(aliased.every((index) => index.startsWith(`${kernel.prefix}readings-v2-`))).toBe(true);
    // Recorded durably: the index worker starts on generation 2 of what was switched.
    expect(await liveGenerations(kernel.config.postgres.url, kernel.prefix, kernel.logger)).toEqual({ readings: 2, devices: 2, alerts: 2, consumption: 2, concentrations: 2 });

    // Discard removes the run's topics and groups, and keeps the live generation's indices.
    const discarded = await discardRun(ctx, runId);
    expect(discarded.indices).toEqual([]);
    expect(discarded.topics).toContain(`replay-${runId}.${kernel.catalogue.readings.name}`);
    const check = kernel.kafka.admin();
    await check.connect();
    await waitFor('the run topics to be gone', async () => (await check.listTopics()).every((t) => !t.startsWith(`replay-${runId}.`)), { timeoutMs: 60_000 });
    await check.disconnect();
    expect(await count(alias('readings'))).toBe(TOTAL + 1);
  }, 900_000);

  it('plans a time range from the broker offsets for that time, and re-indexes a derived topic without decoding', async () => {
    const footprint = (n: number): Footprint => ({ ...SAMPLE_RECORDS.Footprint, organisationId: `org-${n}` });
    const topic = kernel.catalogue.footprintMonthly;
    await producer.produce(topic, [1, 2, 3, 4].map(footprint));
    const between = Date.now() + 1;
    await waitFor('the clock to pass the boundary', () => Date.now() > between);
    await producer.produce(topic, [5, 6, 7].map(footprint));

    expect((await planReplay(ctx, { topic: topic.name, from: { kind: 'time', at: between } })).total).toBe(3);
    expect((await planReplay(ctx, { topic: topic.name, to: { kind: 'time', at: between } })).total).toBe(4);
    expect((await planReplay(ctx, { topic: topic.name, from: { kind: 'offset', offsets: 10n } })).total).toBe(0);
    const plan = await planReplay(ctx, { topic: topic.name, runId: `${runId}-fp`, from: { kind: 'time', at: between } });
    // Footprint is live at 1; a generation another run of this prefix built (readings) is never reused.
    const taken = await activeRunGenerations(db, kernel.prefix);
    expect(plan).toMatchObject({ decode: false, indexTypes: ['footprint'], generation: Math.max(1, ...taken) + 1 });
    await createRun(ctx, plan);
    const report = await runReplay(ctx, plan.runId);
    expect(report).toMatchObject({ finished: true, documents: { footprint: 3 } });
    const { comparison } = await compareRun(ctx, plan.runId);
    expect(comparison.families).toEqual([{ family: 'footprint', liveCount: 0, replayCount: 3, rows: 1, changedRows: 1 }]);
    expect((await discardRun(ctx, plan.runId)).indices).toEqual([`${kernel.prefix}footprint-v${plan.generation}`]);
    expect(await count(`${kernel.prefix}footprint-v${plan.generation}`)).toBe(0);
  }, 300_000);

  it('prints a plan from the command line without creating anything', async () => {
    const stdout = await run(process.execPath, ['--import', 'tsx', 'streams/replay/main.ts', 'plan', '--json', '--to-offset', '0'], 120_000);
    const plan = JSON.parse(stdout) as { runId: string; total: number; decode: boolean; names: { topics: string[] } };
    expect(plan).toMatchObject({ total: 0, decode: true });
    const admin = kernel.kafka.admin();
    await admin.connect();
    const topics = await admin.listTopics();
    await admin.disconnect();
    expect(topics.some((t) => t.startsWith(`replay-${plan.runId}.`))).toBe(false);
  }, 180_000);
});
