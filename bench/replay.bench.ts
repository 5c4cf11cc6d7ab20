/**
 * Replay throughput against a bare consume of the same range in the same run.
 *
 * A prefixed `uplink.raw.v1` (3 partitions) is filled once with {@link UPLINKS} wired M-Bus uplinks
 * of {@link METERS} meters, one volume register each. A replay run is the whole command in-process
 * under a fresh run id: plan, then run (copy of the range in transactions, decode with the current
 * decoders, index generation N+1 in Elasticsearch) until every reader has committed everything;
 * its clock runs from the start of `run` to its return and its figure is readings indexed per
 * second. The run is discarded after each repeat (topics, groups, indices). The baseline is a bare
 * kafkajs consumer reading the same range (read_committed), from its join to its last record.
 * Runs alternate after an untimed warm-up of each; medians of {@link REPEATS}.
 */
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import type { RawUplink } from '../schemas/avro/index.js';
import { deviceIdOf, mbusUplink, type TestMeter } from '../streams/decode/testing/uplinks.js';
import { createElasticsearchClient } from '../streams/index/elasticsearch.js';
import { compareRun, createRun, discardRun, planReplay, runReplay, type ReplayContext } from '../streams/replay/replay.js';
import { deleteTopics, testKernel, type TestKernel } from '../test/support/stack.js';
import { bareConsumeRate } from './lib/bare-consume.js';
import { median, secondsSince, type BenchResult } from './lib/measure.js';
import { fillTopic } from './lib/stage-run.js';

const METERS = 1000;
const UPLINKS = 60_000;
const REPEATS = 3;

function uplinksOf(base: number): { uplinks: RawUplink[]; deviceIds: string[] } {
  const meters: TestMeter[] = Array.from({ length: METERS }, (_, i) => ({ id: base + i, manufacturer: 'KAM', version: 0x1b, medium: 0x07 }));
  const start = Date.now() - (UPLINKS / METERS) * 15 * 60_000;
  const uplinks: RawUplink[] = [];
  for (let i = 0; i < UPLINKS; i += 1) {
    const meter = meters[i % METERS]!;
    const round = Math.floor(i / METERS);
    uplinks.push(mbusUplink(meter, { litres: 10_000 + round * 37 }, { receivedAt: start + round * 15 * 60_000 + (i % METERS) }));
  }
  return { uplinks, deviceIds: meters.map(deviceIdOf) };
}

/** Replay readings/s as a ratio to a bare consume of the same range. */
export async function benchReplay(): Promise<BenchResult[]> {
  const kernel: TestKernel = await testKernel('bench-replay');
  const es = createElasticsearchClient({ url: kernel.config.elasticsearch.url });
  const db = new pg.Pool({ connectionString: kernel.config.postgres.url, max: 4 });
  const raw = new Kafka({ clientId: 'bench-replay-raw', brokers: [...kernel.config.kafka.brokers], logLevel: logLevel.NOTHING });
  const { uplinks, deviceIds } = uplinksOf(80_000_000 + Math.floor(Math.random() * 9_000_000));
  const topic = kernel.catalogue.rawUplinks;
  const { config, logger, kafka, codec, catalogue, prefix } = kernel;
  const ctx: ReplayContext = { config, logger, kafka, codec, catalogue, elasticsearch: es, db, indexPrefix: prefix };
  const runIds: string[] = [];
  try {
    await fillTopic(kernel, topic, uplinks, 2000);
    const baselineRun = (): Promise<number> =>
      bareConsumeRate(raw, { groupId: `${kernel.prefix}bare-${Math.random()}`, topic: topic.name, partitions: topic.partitions, records: UPLINKS });

    async function replayRun(run: number): Promise<number> {
      const runId = `${kernel.prefix.slice(0, -1).replaceAll('.', '-')}-${run}`;
      runIds.push(runId);
      await createRun(ctx, await planReplay(ctx, { runId }));
      const started = process.hrtime.bigint();
      const report = await runReplay(ctx, runId);
      const rate = (report.documents.readings ?? 0) / secondsSince(started);
      // The figure counts only if every uplink became its one indexed reading.
      if (!report.finished || report.documents.readings !== UPLINKS) throw new Error(`replay ${runId} indexed ${report.documents.readings} readings of ${UPLINKS}`);
      if (run === 0) {
        const { comparison } = await compareRun(ctx, runId);
        if (comparison.rows.length === 0) throw new Error('the comparison of the warm-up replay found no figures');
      }
      await discardRun(ctx, runId);
      return rate;
    }

    await baselineRun();
    await replayRun(0);
    const replay: number[] = [];
    const baseline: number[] = [];
    for (let i = 1; i <= REPEATS; i += 1) {
      baseline.push(await baselineRun());
      replay.push(await replayRun(i));
    }
    return [
      {
        name: 'replay raw uplinks: copy + decode + index generation N+1',
        subject: median(replay),
        baseline: median(baseline),
        baselineName: 'bare kafkajs consume of the same range',
        unit: 'readings/s',
      },
    ];
  } finally {
    for (const runId of runIds) await discardRun(ctx, runId).catch(() => undefined);
    await db.query('DELETE FROM replay_runs WHERE run_id = ANY($1)', [runIds]);
    await db.query('DELETE FROM registers WHERE device_id = ANY($1)', [deviceIds]);
    await db.query('DELETE FROM devices WHERE id = ANY($1)', [deviceIds]);
    await db.end();
    await es.indices.delete({ index: `${kernel.prefix}*`, expand_wildcards: 'all' }).catch(() => undefined);
    await es.indices.deleteIndexTemplate({ name: `${kernel.prefix}*` }, { ignore: [404] });
    await es.close();
    await deleteTopics(kernel);
  }
}
