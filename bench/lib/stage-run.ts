/**
 * The scaffolding the stateful stage benchmarks (decode, consumption, concentration) share: the
 * input topic filled once; then runs of the stage, of its baseline (a bare kafkajs consumer of the
 * same topic, read_committed, with the runner's fetch sizes, from its join to its last record) and
 * of its write ceiling (plain kafkajs transactional producers writing again what one stage run
 * wrote, see write-ceiling.ts), each after an untimed warm-up, then interleaved in an order that
 * rotates every round. What a stage run is, and when its clock starts, is each benchmark's own.
 */
import { Kafka, logLevel } from 'kafkajs';
import { createRecordProducer } from '../../core/kafka/record-producer.js';
import type { TopicSpec } from '../../core/topics.js';
import type { RecordName, RecordTypes } from '../../schemas/avro/index.js';
import { DEFAULT_MAX_BYTES_PER_PARTITION } from '../../streams/runtime/stateful-worker.js';
import { waitFor, type TestKernel } from '../../test/support/stack.js';
import { bareConsumeRate } from './bare-consume.js';
import { median, secondsSince, type BenchResult } from './measure.js';
import { createScratchTopic, profileWrites, rawWriteRate, writesPerInput, type WriteProfile } from './write-ceiling.js';

/** The name of the first, untimed stage run (the one whose writes the ceiling writes again). */
export const WARM_UP_RUN = 'warmup';

/**
 * Waits until the consumer group `groupId` has committed every record of the input topic, then
 * resolves to input records per second since `started` (a `process.hrtime.bigint()`).
 */
export type UntilCommitted = (groupId: string, started: bigint) => Promise<number>;

/** What {@link runStageBench} runs. */
export interface StageBenchOptions<R extends RecordName> {
  readonly kernel: TestKernel;
  /** The stage's input topic, filled once with {@link records}. */
  readonly input: TopicSpec<R>;
  readonly records: readonly RecordTypes[R][];
  /** Records per produce call while filling. */
  readonly fillChunk: number;
  /** Timed runs of each of stage, baseline and ceiling. */
  readonly repeats: number;
  /**
   * One stage run under a name not used before ({@link WARM_UP_RUN} first), with a fresh consumer
   * group and changelog; resolves to its input records per second, usually through `untilCommitted`.
   */
  readonly stageRun: (run: string, untilCommitted: UntilCommitted) => Promise<number>;
}

/** Per-run figures of {@link runStageBench}, warm-ups left out. */
export interface StageFigures {
  /** Input records per second of the stage. */
  readonly stage: readonly number[];
  /** Records per second of the bare consume loop. */
  readonly bare: readonly number[];
  /** Records per second of the raw transactional write of the warm-up run's records. */
  readonly rawWrite: readonly number[];
  /** What the warm-up run wrote. */
  readonly profile: WriteProfile;
}

/** Writes `values` to `topic` through the project's record producer, `chunk` records a call. */
export async function fillTopic<R extends RecordName>(kernel: TestKernel, topic: TopicSpec<R>, values: readonly RecordTypes[R][], chunk: number): Promise<void> {
  const producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: [topic] });
  await producer.start();
  try {
    for (let i = 0; i < values.length; i += chunk) await producer.produce(topic, values.slice(i, i + chunk));
  } finally {
    await producer.stop();
  }
}

/** Fills the input, then runs stage, baseline and write ceiling as the module comment says. */
export async function runStageBench<R extends RecordName>(options: StageBenchOptions<R>): Promise<StageFigures> {
  const { kernel, input } = options;
  const inputs = options.records.length;
  await fillTopic(kernel, input, options.records, options.fillChunk);
  const raw = new Kafka({ clientId: `${kernel.prefix}raw`, brokers: [...kernel.config.kafka.brokers], logLevel: logLevel.NOTHING });
  const admin = kernel.kafka.admin();
  await admin.connect();
  try {
    const untilCommitted: UntilCommitted = async (groupId, started) => {
      await waitFor(`${groupId} to commit ${inputs} records of ${input.name}`, async () => {
        const committed = (await admin.groupOffsets(groupId, input.name)).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
        return committed >= inputs;
      }, { timeoutMs: 900_000, intervalMs: 20 });
      return inputs / secondsSince(started);
    };
    const bareRun = (): Promise<number> =>
      bareConsumeRate(raw, {
        groupId: `${kernel.prefix}bare-${Math.random()}`,
        topic: input.name,
        partitions: input.partitions,
        records: inputs,
        maxBytesPerPartition: DEFAULT_MAX_BYTES_PER_PARTITION,
      });

    await bareRun();
    await options.stageRun(WARM_UP_RUN, untilCommitted);
    const profile = await profileWrites(kernel, input, inputs);
    const scratch = `${kernel.prefix}write-ceiling.v1`;
    await createScratchTopic(kernel, scratch, input.partitions);
    const rawWriteRun = (): Promise<number> => rawWriteRate(raw, scratch, profile, `${kernel.prefix}write-ceiling.`);
    await rawWriteRun();

    const stage: number[] = [];
    const bare: number[] = [];
    const rawWrite: number[] = [];
    const runs: Array<(round: number) => Promise<unknown>> = [
      async () => bare.push(await bareRun()),
      async (round) => stage.push(await options.stageRun(`run${round}`, untilCommitted)),
      async () => rawWrite.push(await rawWriteRun()),
    ];
    for (let round = 0; round < options.repeats; round++) {
      for (let k = 0; k < runs.length; k++) await runs[(round + k) % runs.length]!(round);
    }
    return { stage, bare, rawWrite, profile };
  } finally {
    await admin.disconnect();
  }
}

/**
 * The results line of a stage against its write ceiling: its median input records per second
 * against the median raw write rate divided by the records the stage writes per input record.
 */
export function writeCeilingResult(stage: string, figures: StageFigures): BenchResult {
  const { profile } = figures;
  const perInput = writesPerInput(profile);
  const rawWrite = median(figures.rawWrite);
  const batch = Math.round(profile.inputs / profile.transactions.length).toLocaleString('en');
  return {
    name: `${stage} against its write ceiling: ${perInput.toFixed(2)} records written per input record (outputs and changelog), ${profile.transactions.length} transactions of ${batch} input records, ${profile.producers} producers at once; raw write ${Math.round(rawWrite).toLocaleString('en')} records/s`,
    subject: median(figures.stage),
    baseline: rawWrite / perInput,
    baselineName: 'raw kafkajs transactional write of the same records, in input records/s',
    unit: 'rec/s',
  };
}
