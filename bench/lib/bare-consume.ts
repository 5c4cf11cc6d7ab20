/**
 * The baseline of the stage benchmarks: a bare kafkajs consumer that joins a fresh group, reads
 * every record of a topic and does nothing with it, with the same fetch sizes as the stateful
 * runner (or kafkajs's own), so a stage's ratio measures what the stage adds to reading its input.
 */
import type { Kafka } from 'kafkajs';
import { secondsSince } from './measure.js';

/** What {@link bareConsumeRate} reads. */
export interface BareConsumeOptions {
  /** A group id nobody else uses (a fresh one per run, so it reads from the beginning). */
  readonly groupId: string;
  readonly topic: string;
  readonly partitions: number;
  /** Records the topic holds; the run ends when this many were fetched. */
  readonly records: number;
  /** Fetch size per partition, the runner's `maxBytesPerPartition`; kafkajs's defaults when absent. */
  readonly maxBytesPerPartition?: number;
}

/** Records per second from the moment the consumer starts running until the last record is fetched. */
export async function bareConsumeRate(raw: Kafka, options: BareConsumeOptions): Promise<number> {
  const perPartition = options.maxBytesPerPartition;
  const consumer = raw.consumer({
    groupId: options.groupId,
    ...(perPartition === undefined ? {} : { maxBytesPerPartition: perPartition, maxBytes: perPartition * options.partitions }),
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
      if (seen >= options.records) done(secondsSince(started));
    },
  });
  started = process.hrtime.bigint();
  const rate = options.records / (await finished);
  await consumer.disconnect();
  return rate;
}
