/**
 * The baseline of the stage benchmarks: a bare kafkajs consumer that joins a fresh group, reads
 * every record of a topic and does nothing with it, with the same fetch sizes as the stateful
 * runner, so a stage's ratio measures what the stage adds to reading its input.
 */
import type { Kafka } from 'kafkajs';

/** What {@link bareConsumeRate} reads. */
export interface BareConsumeOptions {
  /** A group id nobody else uses (a fresh one per run, so it reads from the beginning). */
  readonly groupId: string;
  readonly topic: string;
  readonly partitions: number;
  /** Records the topic holds; the run ends when this many were fetched. */
  readonly records: number;
  /** Fetch size per partition, the runner's `maxBytesPerPartition`. */
  readonly maxBytesPerPartition: number;
}

/** Records per second from the moment the consumer starts running until the last record is fetched. */
export async function bareConsumeRate(raw: Kafka, options: BareConsumeOptions): Promise<number> {
  const consumer = raw.consumer({
    groupId: options.groupId,
    maxBytesPerPartition: options.maxBytesPerPartition,
    maxBytes: options.maxBytesPerPartition * options.partitions,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: true });
  let seen = 0;
  let done!: (seconds: number) => void;
  const finished = new Promise<number>((resolve) => (done = resolve));
  let started = 0n;
  await consumer.run({
    eachBatch: async ({ batch }) => {
      seen += batch.messages.length;
      if (seen >= options.records) done(Number(process.hrtime.bigint() - started) / 1e9);
    },
  });
  started = process.hrtime.bigint();
  const rate = options.records / (await finished);
  await consumer.disconnect();
  return rate;
}
