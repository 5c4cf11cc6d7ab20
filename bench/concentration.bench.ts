/**
 * The concentration stage against a bare consume loop of the same topic, and against its write
 * ceiling.
 *
 * A prefixed `reading.v1` (3 partitions) is filled once with the readings of {@link STATIONS}
 * stations reporting every minute: per uplink CO2, CH4, N2O, temperature, pressure and humidity, as
 * decode writes them (streams/concentration/testing), stations interleaved in time order over
 * several hours, so the worker pairs samples, fills hours and days and closes them as the stations'
 * clocks move on. A run is the whole concentration process in-process (PostgreSQL, worker) under a
 * fresh prefix, so a fresh consumer group and changelog; its clock starts once it started and stops
 * when the group's committed offsets (committed in the same transactions as the records and the
 * state) reach the end of the topic. The baseline is a bare kafkajs consumer reading the same topic
 * (read_committed, with the runner's fetch sizes), from its join to its last record. The write
 * ceiling is what the warm-up run wrote (hourly and daily statistics, changelog), read back and
 * written again by plain kafkajs transactional producers in as many transactions, from their
 * connect to the last commit (bench/lib/write-ceiling.ts), divided by the records written per
 * reading. Runs alternate after an untimed warm-up of each; the medians are reported.
 */
import { Registry } from 'prom-client';
import { Lifecycle } from '../core/lifecycle.js';
import type { Reading } from '../schemas/avro/index.js';
import { createConcentrationProcess } from '../streams/concentration/main.js';
import { stationReadings } from '../streams/concentration/testing/readings.js';
import { deleteTopics, testKernel } from '../test/support/stack.js';
import { median, type BenchResult } from './lib/measure.js';
import { runStageBench, writeCeilingResult } from './lib/stage-run.js';

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

/**
 * Concentration records/s (readings in) against a bare consume loop of the same readings, and
 * against a raw kafkajs transactional write of what one run wrote.
 */
export async function benchConcentration(options: ConcentrationBenchOptions = {}): Promise<BenchResult[]> {
  const uplinks = options.uplinks ?? 20_000;
  const kernel = await testKernel('bench-conc');
  try {
    const figures = await runStageBench({
      kernel,
      input: kernel.catalogue.readings,
      records: readingsOf(uplinks),
      fillChunk: 5000,
      repeats: options.repeats ?? 5,
      /** The concentration process under a fresh prefix, until its group has committed the whole topic. */
      async stageRun(run, untilCommitted) {
        const prefix = `${kernel.prefix}${run}.`;
        const metrics = new Registry();
        const proc = createConcentrationProcess({ config: kernel.config, logger: kernel.logger, catalogue: kernel.catalogue, metrics, prefix });
        const lifecycle = new Lifecycle(proc.components, { logger: kernel.logger });
        await lifecycle.start();
        const rate = await untilCommitted(`${prefix}concentration`, process.hrtime.bigint());
        await lifecycle.stop();
        // The figure counts only if every gas value became a sample.
        const samples = (await metrics.getSingleMetric('meterflux_concentration_samples_total')?.get())?.values ?? [];
        const accepted = samples.find((v) => v.labels['outcome'] === 'accepted')?.value ?? 0;
        if (accepted !== uplinks * 3 || samples.some((v) => v.labels['outcome'] !== 'accepted' && v.value > 0)) {
          throw new Error(`concentration run ${run}: ${accepted} samples from ${uplinks} uplinks, outcomes ${JSON.stringify(samples)}`);
        }
        return rate;
      },
    });
    return [{
      name: `concentration stage: ${(uplinks * PER_UPLINK).toLocaleString('en')} station readings (${STATIONS} stations, 1 min, 6 values per uplink) → hourly and daily statistics, committed`,
      subject: median(figures.stage),
      baseline: median(figures.bare),
      baselineName: 'bare kafkajs consume loop, same topic',
      aim: 0.7,
      unit: 'rec/s',
    }, writeCeilingResult('concentration stage', figures)];
  } finally {
    await deleteTopics(kernel);
  }
}
