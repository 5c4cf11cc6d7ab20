/**
 * The copy stage of a replay: copies each live source partition's range [from, to) into the run's
 * own topic (same partition, key, value, headers and timestamp), exactly once. The live topic is
 * only read. Each fetched batch is one Kafka transaction holding the copies and the stage group's
 * offsets, so a run killed at any point and started again continues after the last committed
 * batch, and the copy holds every record of the range once (read_committed).
 *
 * The run's workers then read the copy as their input; since the copy ends where the range ends,
 * they stop having work exactly at the range's end, whatever arrives on the live topic meanwhile.
 */
import type { Logger } from 'pino';
import type { Consumer, IncomingMessage, KafkaClient, OutgoingMessage, Producer } from '../../core/kafka/client.js';
import type { TopicRange } from './plan.js';

/** Options of {@link createStage}. */
export interface StageOptions {
  readonly kafka: KafkaClient;
  readonly logger: Logger;
  /** Consumer group of the stage; its committed offsets are the stage's progress. */
  readonly groupId: string;
  /** The copy of live topic `topic` is `targetOf(topic)`. */
  targetOf(topic: string): string;
  readonly ranges: readonly TopicRange[];
}

/** The running stage. `stop` is idempotent and safe before `start`. */
export interface Stage {
  /** Joins the group (starting at the ranges' beginnings on the first run) and copies. */
  start(): Promise<void>;
  /** Resolves once every partition has been copied to the end of its range. */
  finished(): Promise<void>;
  stop(): Promise<void>;
}

interface PartitionPlan {
  readonly topic: string;
  readonly partition: number;
  readonly to: bigint;
  /** Offset the next batch starts at: what is committed. */
  position: bigint;
  /** Serialises the partition's transactions (a batch, and the end commit after the last one). */
  lock: Promise<void>;
}

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export function createStage(options: StageOptions): Stage {
  const { kafka, groupId, ranges } = options;
  const logger = options.logger.child({ component: 'replay-stage' });
  const plans = new Map<string, PartitionPlan>();
  const producers = new Map<string, Promise<Producer>>();
  let consumer: Consumer | undefined;
  let resolveFinished!: () => void;
  let rejectFinished!: (err: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    resolveFinished = resolve;
    rejectFinished = reject;
  });
  finished.catch(() => undefined);
  let stopping: Promise<void> | undefined;

  const pending = (): PartitionPlan[] => [...plans.values()].filter((p) => p.position < p.to);
  const checkFinished = (): void => {
    if (pending().length === 0) resolveFinished();
  };

  function producerOf(topic: string, partition: number): Promise<Producer> {
    const id = key(topic, partition);
    let producer = producers.get(id);
    if (!producer) {
      // One transactional id per source partition: a killed run's open transaction is aborted
      // (fenced) when the next run's producer of the same partition starts.
      const created = kafka.producer({ transactionalId: `${groupId}.${topic}.${partition}` });
      producer = created.connect().then(() => created);
      producer.catch(() => producers.delete(id));
      producers.set(id, producer);
    }
    return producer;
  }

  /** Copies `messages` (already cut to the range) and commits the stage's position `next`, in one transaction. */
  function commit(plan: PartitionPlan, messages: readonly IncomingMessage[], next: bigint): Promise<void> {
    const run = plan.lock.then(() => (next > plan.position ? transact(plan, messages, next) : undefined));
    plan.lock = run.catch(() => undefined);
    return run;
  }

  async function transact(plan: PartitionPlan, messages: readonly IncomingMessage[], next: bigint): Promise<void> {
    const producer = await producerOf(plan.topic, plan.partition);
    const tx = await producer.transaction();
    try {
      if (messages.length > 0) {
        await tx.send(options.targetOf(plan.topic), messages.map((m): OutgoingMessage => ({
          key: m.key === null ? null : m.key.toString('utf8'),
          value: m.value,
          headers: m.headers,
          timestampMs: m.timestampMs,
          partition: plan.partition,
        })));
      }
      await tx.commitOffsetsWith(groupId, [{ topic: plan.topic, partition: plan.partition, offset: String(next) }]);
      await tx.commit();
    } catch (err) {
      await tx.abort().catch((abortErr: unknown) => logger.warn({ err: abortErr }, 'aborting a copy transaction failed'));
      throw err;
    }
    plan.position = next;
  }

  /** Where each partition starts: its committed offset, or on a first run the range's start (set for the group). */
  async function positionPartitions(): Promise<void> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const range of ranges) {
        const committed = new Map((await admin.groupOffsets(groupId, range.topic)).map((o) => [o.partition, BigInt(o.offset)]));
        const unset: Array<{ partition: number; offset: string }> = [];
        for (const p of range.partitions) {
          let position = committed.get(p.partition) ?? -1n;
          if (position < BigInt(p.from)) {
            position = BigInt(p.from);
            unset.push({ partition: p.partition, offset: p.from });
          }
          plans.set(key(range.topic, p.partition), { topic: range.topic, partition: p.partition, to: BigInt(p.to), position, lock: Promise.resolve() });
        }
        if (unset.length > 0) await admin.setGroupOffsets(groupId, range.topic, unset);
      }
    } finally {
      await admin.disconnect();
    }
  }

  async function stop(): Promise<void> {
    const running = consumer;
    consumer = undefined;
    await running?.disconnect();
    const all = await Promise.allSettled([...producers.values()]);
    producers.clear();
    await Promise.allSettled(all.map((p) => (p.status === 'fulfilled' ? p.value.disconnect() : undefined)));
  }

  return {
    async start() {
      await positionPartitions();
      const copying = pending();
      logger.info({ partitions: plans.size, pending: copying.length }, 'copying the replay range');
      checkFinished();
      if (copying.length === 0) return;
      const created = (consumer = kafka.consumer({ groupId }));
      await created.connect();
      await created.subscribe([...new Set(copying.map((p) => p.topic))], { fromBeginning: true });
      void created
        .run({
          partitionsConcurrently: 4,
          eachBatch: async (batch) => {
            const plan = plans.get(key(batch.topic, batch.partition));
            if (!plan || plan.position >= plan.to || batch.messages.length === 0) return;
            const inRange = batch.messages.filter((m) => BigInt(m.offset) >= plan.position && BigInt(m.offset) < plan.to);
            const last = BigInt(batch.messages.at(-1)!.offset);
            // Past the range's last offset, the range is done: commit its end, not the batch's.
            const next = last + 1n >= plan.to ? plan.to : last + 1n;
            if (next <= plan.position) return;
            await commit(plan, inRange, next);
            checkFinished();
          },
          onBatchEnd: ({ topic, partition, offsetLag }) => {
            const plan = plans.get(key(topic, partition));
            // Read to the high watermark while short of `to`: the rest of the range is transaction
            // markers or aborted records, which are never delivered. Commit the range's end.
            if (plan && offsetLag === 0n && plan.position < plan.to) {
              commit(plan, [], plan.to).then(checkFinished, (err: unknown) => logger.warn({ err, topic, partition }, 'committing the end of a range failed; retried at the next batch'));
            }
          },
        })
        .catch((err: unknown) => rejectFinished(err));
    },
    finished: () => finished,
    stop() {
      stopping ??= stop();
      return stopping;
    },
  };
}
