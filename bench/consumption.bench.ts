/**
 * The consumption stage against a bare consume loop of the same topic and against its write
 * ceiling, its state per register, and its restore from the changelog.
 *
 * Stage: a prefixed `reading.v1` (3 partitions) is filled once with {@link READINGS} readings:
 * {@link REGISTERS} cumulative registers (one device each, no registry rows, so the defaults),
 * each read every 4 hours (so days close and records are emitted), in event-time order per device,
 * interleaved across devices as a fleet sends them. A consumption run is the worker in-process under a fresh prefix (fresh consumer
 * group and changelog, cold registry cache against PostgreSQL); its clock starts once it is
 * started and stops when its group's committed offsets reach the end of the topic. The baseline
 * is a bare kafkajs consumer of the same topic (read_committed, the runner's fetch sizes), from
 * its join to its last record. The write ceiling is what the warm-up run wrote (daily and monthly
 * consumption, changelog), read back and written again by plain kafkajs transactional producers in
 * as many transactions, from their connect to the last commit (bench/lib/write-ceiling.ts),
 * divided by the records written per reading. Runs alternate after an untimed warm-up of each.
 *
 * State: heap bytes per register (the state as restored, and the chain the worker keeps beside
 * it) after 8 days of hourly readings (the default 7-day late-data window keeps about 8 days) for
 * 100k registers, and after 8 days of daily readings for 100k and 1M registers, against the bytes
 * the same state takes encoded in the changelog.
 *
 * Restore: 100k register states (8 days of daily readings) written to a prefixed changelog of 3
 * partitions; the runner's restore (`restorePartitions`: read, decode, build the state) in
 * registers per second against a bare consume loop of the same changelog.
 */
import { getHeapStatistics } from 'node:v8';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { loadConfig } from '../core/config.js';
import type { Reading } from '../schemas/avro/index.js';
import { SAMPLE_RECORDS } from '../schemas/avro/samples.js';
import { applyReading, emptyState, type ConsumptionRules, type RegisterProfile, type RegisterState } from '../streams/consumption/engine.js';
import { parseNano } from '../streams/consumption/nano.js';
import { createRegistry, DEFAULT_MAX_GAP_MS, rangeOf } from '../streams/consumption/registry.js';
import { consumptionStateCodec } from '../streams/consumption/state.js';
import { createConsumptionWorker } from '../streams/consumption/worker.js';
import { buildChain, type Chain } from '../streams/consumption/series.js';
import { restorePartitions } from '../streams/runtime/restore.js';
import { deleteTopics, testKernel, waitFor, type TestKernel } from '../test/support/stack.js';
import { median, secondsSince, type BenchResult } from './lib/measure.js';
import { runStageBench, writeCeilingResult } from './lib/stage-run.js';

const REGISTERS = 5000;
const READINGS = 100_000;
const REPEATS = 3;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const RULES: ConsumptionRules = { graceMs: 2 * DAY, lateWindowMs: 7 * DAY };
const START = Date.parse('2026-01-04T22:00:00Z');
const STEP_MS = 4 * HOUR;

function readingsOf(prefix: string): Reading[] {
  const out: Reading[] = [];
  for (let i = 0; out.length < READINGS; i++) {
    const r = i % REGISTERS;
    const step = Math.floor(i / REGISTERS);
    const deviceId = `mbus:${prefix}${String(r).padStart(6, '0')}`;
    const observedAt = START + step * STEP_MS + r;
    out.push({ ...SAMPLE_RECORDS.Reading, readingId: `${deviceId}:${step}`, uplinkId: `${deviceId}:${step}`, deviceId, registerKey: 'volume',
      organisationId: null, siteId: null, quantity: 'volume', value: Number((1000 + step * (2 + r / REGISTERS)).toFixed(3)), unit: 'm3',
      function: 'INSTANTANEOUS', storageNumber: 0, cumulative: true, observedAt, receivedAt: observedAt, qualityFlags: [] });
  }
  return out;
}

async function benchStage(kernel: TestKernel): Promise<BenchResult[]> {
  const db = new pg.Pool({ connectionString: kernel.config.postgres.url, max: 2 });
  try {
    const figures = await runStageBench({
      kernel,
      input: kernel.catalogue.readings,
      records: readingsOf(kernel.prefix),
      fillChunk: 5000,
      repeats: REPEATS,
      async stageRun(run, untilCommitted) {
        const prefix = `${kernel.prefix}${run}.`;
        const worker = createConsumptionWorker({
          kafka: kernel.kafka, codec: kernel.codec, catalogue: kernel.catalogue, logger: kernel.logger,
          registry: createRegistry({ db, logger: kernel.logger }), rules: RULES, prefix,
        });
        const started = process.hrtime.bigint();
        // Creating the run's changelog right after another run's can meet a broker still electing leaders.
        await waitFor(`consumption run ${run} to start`, () => worker.start().then(() => true), { timeoutMs: 60_000, intervalMs: 500 });
        const rate = await untilCommitted(`${prefix}consumption`, started);
        if (worker.stateSize() !== REGISTERS) throw new Error(`consumption run ${run}: ${worker.stateSize()} registers in state, expected ${REGISTERS}`);
        await worker.stop();
        return rate;
      },
    });
    return [{
      name: 'consume + daily/monthly consumption (5000 registers, a reading every 4 h)',
      subject: median(figures.stage),
      baseline: median(figures.bare),
      baselineName: 'bare kafkajs consume loop',
      aim: 0.7,
      unit: 'rec/s',
    }, writeCeilingResult('consumption stage', figures)];
  } finally {
    await db.end();
  }
}

function profileOf(i: number): RegisterProfile {
  return {
    registerId: `mbus:${String(i).padStart(8, '0')}/volume`, deviceId: `mbus:${String(i).padStart(8, '0')}`, registerKey: 'volume', unit: 'm3',
    organisationId: 'org-1', siteId: 'site-1', timeZone: 'Europe/Berlin', billingDayStartHour: 0, range: rangeOf(null, null), maxGapMs: DEFAULT_MAX_GAP_MS,
  };
}

/** A register's state after `count` readings `stepMs` apart, computed as the worker would. */
function stateAfter(i: number, count: number, stepMs: number): RegisterState {
  const profile = profileOf(i);
  let state = emptyState(profile);
  for (let k = 0; k < count; k++) {
    state = applyReading(state, profile, [], { at: START + k * stepMs + i, value: parseNano((1000 + k * 0.731 + i / 1000).toFixed(3)) }, START + 30 * DAY, RULES).state;
  }
  return state;
}

function heapUsed(): number {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

/**
 * Heap and changelog bytes per register for `registers` registers of one template history: each
 * state as restored from the changelog, plus the chain the worker keeps beside it (engine.ts
 * caches each register's chain so in-order readings extend it).
 */
function stateBytes(registers: number, count: number, stepMs: number): { heap: number; encoded: number } {
  const template = consumptionStateCodec.encode(stateAfter(0, count, stepMs));
  const before = heapUsed();
  const kept: Array<[RegisterState, Chain]> = new Array<[RegisterState, Chain]>(registers);
  for (let i = 0; i < registers; i++) {
    const state = consumptionStateCodec.decode(template);
    kept[i] = [state, buildChain(state.profile, state.readings, state.replacements, state.base)];
  }
  const heap = (heapUsed() - before) / registers;
  if (kept.length !== registers) throw new Error('unreachable');
  return { heap, encoded: template.length };
}

async function benchRestore(kernel: TestKernel): Promise<BenchResult> {
  const registers = 100_000;
  const config = loadConfig(process.env);
  const changelog = `${kernel.prefix}restore.changelog.v1`;
  const raw = new Kafka({ clientId: 'bench-consumption-restore', brokers: [...config.kafka.brokers], logLevel: logLevel.NOTHING });
  const admin = kernel.kafka.admin();
  await admin.connect();
  try {
    // Usable once every partition has a leader (listing offsets needs them).
    await waitFor(`${changelog} to have leaders`, async () => {
      await admin.createTopics([{ name: changelog, partitions: 3, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } }]);
      return (await admin.topicOffsets(changelog)).length === 3;
    }, { timeoutMs: 60_000, intervalMs: 500 });
  } finally {
    await admin.disconnect();
  }
  const producer = kernel.kafka.producer();
  await producer.connect();
  const template = stateAfter(0, 8, DAY);
  for (let i = 0; i < registers; i += 5000) {
    await producer.send(changelog, Array.from({ length: 5000 }, (_, k) => {
      const state = { ...template, profile: profileOf(i + k) };
      return { key: state.profile.registerId, value: consumptionStateCodec.encode(state), partition: (i + k) % 3 };
    }));
  }
  await producer.disconnect();

  async function restoreRun(): Promise<number> {
    const started = process.hrtime.bigint();
    const states = await restorePartitions({ kafka: kernel.kafka, changelog, partitions: [0, 1, 2], codec: consumptionStateCodec, logger: kernel.logger });
    const rate = registers / secondsSince(started);
    const size = [...states.values()].reduce((sum, s) => sum + s.size, 0);
    if (size !== registers) throw new Error(`restored ${size} registers, expected ${registers}`);
    return rate;
  }
  async function bareRun(): Promise<number> {
    const consumer = raw.consumer({ groupId: `${kernel.prefix}bare-restore-${Math.random()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: changelog, fromBeginning: true });
    let seen = 0;
    let done!: (s: number) => void;
    const finished = new Promise<number>((resolve) => (done = resolve));
    const started = process.hrtime.bigint();
    await consumer.run({
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length;
        if (seen >= registers) done(secondsSince(started));
      },
    });
    const rate = registers / (await finished);
    await consumer.disconnect();
    return rate;
  }
  await restoreRun();
  const subject: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    baseline.push(await bareRun());
    subject.push(await restoreRun());
  }
  return {
    name: `restore 100k registers from the changelog (median ${(registers / median(subject)).toFixed(1)} s)`,
    subject: median(subject),
    baseline: median(baseline),
    baselineName: 'bare kafkajs consume of the changelog',
    unit: 'registers/s',
  };
}

/** The consumption benchmarks, for `make bench` (bench/run.ts). */
export async function benchConsumption(): Promise<BenchResult[]> {
  const kernel = await testKernel('bench-consumption');
  try {
    const results = [...(await benchStage(kernel)), await benchRestore(kernel)];
    for (const [label, registers, count, step] of [
      ['hourly readings', 100_000, 8 * 24, HOUR],
      ['daily readings', 100_000, 8, DAY],
      ['daily readings', 1_000_000, 8, DAY],
    ] as const) {
      // A million registers need several GB of heap: run node with --max-old-space-size=12000 (and --expose-gc).
      if (registers > 100_000 && getHeapStatistics().heap_size_limit < 8e9) {
        process.stderr.write(`skipping state per register at ${registers} registers: heap limit below 8 GB\n`);
        continue;
      }
      const bytes = stateBytes(registers, count, step);
      results.push({
        name: `state per register, ${label}, ${registers.toLocaleString('en')} registers (heap vs changelog bytes)`,
        subject: bytes.heap,
        baseline: bytes.encoded,
        baselineName: 'encoded in the changelog',
        unit: 'B',
      });
    }
    return results;
  } finally {
    await deleteTopics(kernel);
  }
}

if (process.argv[1]?.endsWith('consumption.bench.ts')) {
  const { renderResults } = await import('./lib/measure.js');
  process.stdout.write(`${renderResults(await benchConsumption())}\n`);
  process.exit(0);
}
