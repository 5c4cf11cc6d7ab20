/**
 * The concentration stage against a bare consume loop of the same topic.
 *
 * A prefixed `reading.v1` (3 partitions) is filled once with the readings of {@link STATIONS}
 * stations reporting every minute: per uplink CO2, CH4, N2O, temperature, pressure and humidity, as
 * decode writes them (streams/concentration/testing), stations interleaved in time order over
 * several hours, so the worker pairs samples, fills hours and days and closes them as the stations'
 * clocks move on. A run is the whole concentration process in-process (PostgreSQL, worker) under a
 * fresh prefix, so a fresh consumer group and changelog; its clock starts once it started and stops
 * when the group's committed offsets (committed in the same transactions as the records and the
 * state) reach the end of the topic. The baseline is a bare kafkajs consumer reading the same topic
 * (read_committed, with the runner's fetch sizes), from its join to its last record. Runs alternate
 * after an untimed warm-up of each; the medians are reported.
 */
import { Kafka, logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import { loadConfig } from '../core/config.js';
import { createRecordProducer } from '../core/kafka/record-producer.js';
import { Lifecycle } from '../core/lifecycle.js';
import type { Reading } from '../schemas/avro/index.js';
import { createConcentrationProcess } from '../streams/concentration/main.js';
import { stationReadings } from '../streams/concentration/testing/readings.js';
import { DEFAULT_MAX_BYTES_PER_PARTITION } from '../streams/runtime/stateful-worker.js';
import { deleteTopics, testKernel, waitFor } from '../test/support/stack.js';
import { median, type BenchResult } from './lib/measure.js';
import { bareConsumeRate } from './lib/bare-consume.js';

const STATIONS = 200;
const INTERVAL_MS = 60_000;
/** Readings per station uplink (three gases, temperature, pressure, humidity). */
const PER_UPLINK = 6;

/** Options of {@link benchConcentration}; the defaults are what `make bench` runs. */
export interface ConcentrationBenchOptions {
  /** @default 20000 */
  readonly uplinks?: number;
  /** @default 5 */
  readonly repeats?: number;
}

function readingsOf(uplinks: number): Reading[] {
  const start = Date.parse('2026-03-01T00:00:00Z');
  const out: Reading[] = [];
  for (let i = 0; i < uplinks; i++) {
    const station = i % STATIONS;
    const at = start + Math.floor(i / STATIONS) * INTERVAL_MS + station * 100;
    const wave = Math.sin((at / 3_600_000) * (Math.PI / 12));
    out.push(...stationReadings(`station:bench-${station}`, {
      uplinkId: `bench-${i}`,
      observedAt: new Date(at).toISOString(),
      gases: { co2: 420 + 15 * wave + (station % 7), ch4: 1.95 + 0.05 * wave, n2o: 0.337 },
      temperatureC: 8 + 6 * wave,
      pressurePa: 100_800 + (station % 50) * 3,
    }));
  }
  return out;
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

/** Concentration records/s (readings in) against a bare consume loop of the same readings. */
export async function benchConcentration(options: ConcentrationBenchOptions = {}): Promise<BenchResult[]> {
  const uplinks = options.uplinks ?? 20_000;
  const repeats = options.repeats ?? 5;
  const total = uplinks * PER_UPLINK;
  const kernel = await testKernel('bench-conc');
  const config = loadConfig(process.env);
  const topic = kernel.catalogue.readings;
  const raw = new Kafka({ clientId: 'bench-concentration-raw', brokers: [...config.kafka.brokers], logLevel: logLevel.NOTHING });
  const admin = kernel.kafka.admin();
  await admin.connect();
  try {
    const producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: [topic] });
    await producer.start();
    const readings = readingsOf(uplinks);
    for (let i = 0; i < readings.length; i += 5000) await producer.produce(topic, readings.slice(i, i + 5000));
    await producer.stop();

    const baselineRun = (): Promise<number> =>
      bareConsumeRate(raw, {
        groupId: `${kernel.prefix}bare-${Math.random()}`,
        topic: topic.name,
        partitions: topic.partitions,
        records: total,
        maxBytesPerPartition: DEFAULT_MAX_BYTES_PER_PARTITION,
      });

    /** The concentration process under a fresh prefix, until its group has committed the whole topic. */
    async function stageRun(run: string): Promise<number> {
      const prefix = `${kernel.prefix}${run}.`;
      const metrics = new Registry();
      const proc = createConcentrationProcess({ config, logger: kernel.logger, catalogue: kernel.catalogue, metrics, prefix });
      const lifecycle = new Lifecycle(proc.components, { logger: kernel.logger });
      await lifecycle.start();
      const started = process.hrtime.bigint();
      await waitFor(`concentration run ${run} to commit ${total} readings`, async () => {
        const committed = (await admin.groupOffsets(`${prefix}concentration`, topic.name)).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
        return committed >= total;
      }, { timeoutMs: 600_000, intervalMs: 20 });
      const rate = total / seconds(started);
      await lifecycle.stop();
      // The figure counts only if every gas value became a sample.
      const samples = (await metrics.getSingleMetric('meterflux_concentration_samples_total')?.get())?.values ?? [];
      const accepted = samples.find((v) => v.labels['outcome'] === 'accepted')?.value ?? 0;
      if (accepted !== uplinks * 3 || samples.some((v) => v.labels['outcome'] !== 'accepted' && v.value > 0)) {
        throw new Error(`concentration run ${run}: ${accepted} samples from ${uplinks} uplinks, outcomes ${JSON.stringify(samples)}`);
      }
      return rate;
    }

    await baselineRun();
    await stageRun('warmup');
    const ours: number[] = [];
    const base: number[] = [];
    for (let run = 0; run < repeats; run++) {
      if (run % 2 === 0) {
        base.push(await baselineRun());
        ours.push(await stageRun(`run${run}`));
      } else {
        ours.push(await stageRun(`run${run}`));
        base.push(await baselineRun());
      }
    }
    return [{
      name: `concentration stage: ${total.toLocaleString('en')} station readings (${STATIONS} stations, 1 min, 6 values per uplink) → hourly and daily statistics, committed`,
      subject: median(ours),
      baseline: median(base),
      baselineName: 'bare kafkajs consume loop, same topic',
      aim: 0.7,
      unit: 'rec/s',
    }];
  } finally {
    await admin.disconnect();
    await deleteTopics(kernel);
  }
}
