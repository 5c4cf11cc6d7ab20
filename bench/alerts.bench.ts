/**
 * The alerts stage against a bare consume loop of the same topic.
 *
 * A prefixed `reading.v1` (3 partitions) is filled once with readings of water meters registered in
 * PostgreSQL (medium water, expected every 15 min): each meter's volume register, read every
 * 15 minutes and advancing most of the time, so every reading moves the device's silence timer and
 * runs the continuous-flow rule, and a share of the meters flow without pause long enough to raise
 * CONTINUOUS_FLOW. An alerts run is the whole alerts process in-process (PostgreSQL, worker) under a
 * fresh prefix, so a fresh consumer group and changelog and a cold registry cache. The baseline is a
 * bare kafkajs consumer reading the same topic (read_committed, with the runner's fetch sizes).
 *
 * Both are measured in steady state, from the end of their first batch to their last record: the
 * runner's start (a transactional producer and a changelog restore per partition, about two seconds
 * here) would otherwise outweigh a worker whose work per record is a few microseconds. For the
 * worker, the first batch ends when its group's committed offsets (committed in the same
 * transactions as the alerts and state) first move, and the run ends when they reach the end of
 * the topic. Runs alternate after an untimed warm-up of each.
 */
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { Registry } from 'prom-client';
import { loadConfig } from '../core/config.js';
import { createRecordProducer } from '../core/kafka/record-producer.js';
import { Lifecycle } from '../core/lifecycle.js';
import type { Reading } from '../schemas/avro/index.js';
import { createAlertsProcess } from '../streams/alerts/main.js';
import { DEFAULT_MAX_BYTES_PER_PARTITION } from '../streams/runtime/stateful-worker.js';
import { deleteTopics, testKernel, waitFor, type TestKernel } from '../test/support/stack.js';
import { median, type BenchResult } from './lib/measure.js';

/** Sizes of one benchmark; the defaults are what `make bench` runs. */
export interface AlertsBenchOptions {
  /** @default 5000 */
  readonly meters?: number;
  /** @default 600000 */
  readonly readings?: number;
  /** @default 5 */
  readonly repeats?: number;
}

const INTERVAL_MS = 15 * 60_000;

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

/** `count` readings of `deviceIds`, round robin every 15 min up to now; one meter in five never pauses. */
function readingsOf(deviceIds: readonly string[], count: number, organisation: string): Reading[] {
  const rounds = Math.ceil(count / deviceIds.length);
  const start = Date.now() - rounds * INTERVAL_MS;
  const values = deviceIds.map((_, i) => 1000 + i);
  const out: Reading[] = [];
  for (let round = 0; out.length < count; round++) {
    for (let i = 0; i < deviceIds.length && out.length < count; i++) {
      const at = start + round * INTERVAL_MS + (i % 900) * 1000;
      // Most meters pause for an hour every six; every fifth one never does (a leak).
      const still = i % 5 !== 0 && round % 24 >= 20;
      if (!still) values[i] = values[i]! + 0.002;
      out.push({
        readingId: `bench-${round}-${i}:0`,
        uplinkId: `bench-${round}-${i}`,
        deviceId: deviceIds[i]!,
        registerKey: 'volume',
        organisationId: organisation,
        siteId: null,
        quantity: 'volume',
        value: values[i]!,
        unit: 'm3',
        originalValue: values[i]! * 1000,
        originalUnit: 'l',
        function: 'INSTANTANEOUS',
        storageNumber: 0,
        tariff: 0,
        subunit: 0,
        cumulative: true,
        observedAt: at,
        receivedAt: at + 200,
        qualityFlags: [],
        decoderVersion: 'mbus@1.0.0',
      });
    }
  }
  return out;
}

async function benchStage(kernel: TestKernel, meters: number, readings: number, repeats: number): Promise<BenchResult> {
  const config = loadConfig(process.env);
  const db = new pg.Pool({ connectionString: config.postgres.url, max: 2 });
  const organisation = `${kernel.prefix}org`;
  const base = 90_000_000 + Math.floor(Math.random() * (10_000_000 - meters));
  const deviceIds = Array.from({ length: meters }, (_, i) => `mbus:${base + i}2c2d1b07`);
  await db.query('INSERT INTO organisations (id, name) VALUES ($1, $2)', [organisation, 'Alerts benchmark utility']);
  await db.query(
    `INSERT INTO devices (id, organisation_id, medium, status, expected_interval_s) SELECT id, $2, 'water', 'active', 900 FROM unnest($1::text[]) AS d(id)`,
    [deviceIds, organisation],
  );
  const topic = kernel.catalogue.readings;
  const raw = new Kafka({ clientId: 'bench-alerts-raw', brokers: [...config.kafka.brokers], logLevel: logLevel.NOTHING });
  const admin = kernel.kafka.admin();
  await admin.connect();
  try {
    const producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: [topic] });
    await producer.start();
    const all = readingsOf(deviceIds, readings, organisation);
    for (let i = 0; i < all.length; i += 2000) await producer.produce(topic, all.slice(i, i + 2000));
    await producer.stop();

    /** The bare loop: join, then read every record of the topic and do nothing with it. */
    async function baselineRun(): Promise<number> {
      const consumer = raw.consumer({
        groupId: `${kernel.prefix}bare-${Math.random()}`,
        maxBytesPerPartition: DEFAULT_MAX_BYTES_PER_PARTITION,
        maxBytes: DEFAULT_MAX_BYTES_PER_PARTITION * topic.partitions,
      });
      await consumer.connect();
      await consumer.subscribe({ topic: topic.name, fromBeginning: true });
      let seen = 0;
      let first: { at: bigint; seen: number } | undefined;
      let done!: (rate: number) => void;
      const finished = new Promise<number>((resolve) => (done = resolve));
      await consumer.run({
        eachBatch: async ({ batch }) => {
          seen += batch.messages.length;
          if (first === undefined) first = { at: process.hrtime.bigint(), seen };
          else if (seen >= readings) done((seen - first.seen) / seconds(first.at));
        },
      });
      const rate = await finished;
      await consumer.disconnect();
      return rate;
    }

    /** The alerts process under a fresh prefix, until its group has committed the whole topic. */
    async function alertsRun(run: string): Promise<number> {
      const prefix = `${kernel.prefix}${run}.`;
      const metrics = new Registry();
      const alerts = createAlertsProcess({ config, logger: kernel.logger, catalogue: kernel.catalogue, metrics, prefix });
      const lifecycle = new Lifecycle(alerts.components, { logger: kernel.logger });
      await lifecycle.start();
      let first: { at: bigint; committed: number } | undefined;
      await waitFor(`alerts run ${run} to commit ${readings} readings`, async () => {
        const committed = (await admin.groupOffsets(`${prefix}alerts`, topic.name)).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
        if (first === undefined && committed > 0) first = { at: process.hrtime.bigint(), committed };
        return committed >= readings;
      }, { timeoutMs: 600_000, intervalMs: 20 });
      if (first === undefined || first.committed >= readings) throw new Error(`alerts run ${run} committed everything in its first batch: give it more readings`);
      const rate = (readings - first.committed) / seconds(first.at);
      await lifecycle.stop();
      // The figure counts only if the rules ran: the leaking meters raised their alerts.
      const emitted = (await metrics.getSingleMetric('meterflux_alerts_emitted_total')?.get())?.values ?? [];
      const leaks = emitted.find((v) => v.labels['kind'] === 'CONTINUOUS_FLOW' && v.labels['state'] === 'RAISED')?.value ?? 0;
      if (readings / meters > 4 * 24 && leaks < meters / 5) throw new Error(`alerts run ${run}: ${leaks} CONTINUOUS_FLOW raised for ${meters / 5} leaking meters`);
      return rate;
    }

    await baselineRun();
    await alertsRun('warmup');
    const ours: number[] = [];
    const baseRates: number[] = [];
    for (let run = 0; run < repeats; run++) {
      if (run % 2 === 0) {
        baseRates.push(await baselineRun());
        ours.push(await alertsRun(`run${run}`));
      } else {
        ours.push(await alertsRun(`run${run}`));
        baseRates.push(await baselineRun());
      }
    }
    return {
      name: `alerts stage, steady state: ${readings.toLocaleString('en')} readings of ${meters.toLocaleString('en')} water meters (silence timers, continuous flow), committed`,
      subject: median(ours),
      baseline: median(baseRates),
      baselineName: 'bare kafkajs consume loop, same topic',
      aim: 0.7,
      unit: 'rec/s',
    };
  } finally {
    await admin.disconnect();
    await db.query('DELETE FROM devices WHERE organisation_id = $1', [organisation]);
    await db.query('DELETE FROM organisations WHERE id = $1', [organisation]);
    await db.end();
  }
}

/** The alerts benchmark, for bench/run.ts. Needs the local stack (`make up`). */
export async function benchAlerts(options: AlertsBenchOptions = {}): Promise<BenchResult[]> {
  const kernel = await testKernel('bench-alerts');
  try {
    return [await benchStage(kernel, options.meters ?? 5000, options.readings ?? 600_000, options.repeats ?? 5)];
  } finally {
    await deleteTopics(kernel);
  }
}
