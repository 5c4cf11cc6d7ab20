/**
 * How far a consumer group has got through a topic, and whether it has consumed everything there
 * is. A group reading a transactional topic commits the offset after its last record, while the
 * high watermark also counts the commit marker behind it; so where committed and high differ, a
 * short read_committed probe from the committed offset tells markers (done) from records (not yet).
 */
import { randomBytes } from 'node:crypto';
import type { KafkaClient } from '../../core/kafka/client.js';

/** Committed offset and high watermark of one partition. */
export interface PartitionPosition {
  readonly partition: number;
  /** Next offset the group reads; the low offset when it has committed nothing. */
  readonly committed: bigint;
  readonly high: bigint;
}

/** Positions of `groupId` on each partition of `topic`. */
export async function groupPositions(kafka: KafkaClient, groupId: string, topic: string): Promise<PartitionPosition[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.topicOffsets(topic);
    const committed = new Map((await admin.groupOffsets(groupId, topic)).map((o) => [o.partition, BigInt(o.offset)]));
    return offsets.map((o) => {
      const c = committed.get(o.partition) ?? -1n;
      return { partition: o.partition, committed: c < BigInt(o.low) ? BigInt(o.low) : c, high: BigInt(o.high) };
    });
  } finally {
    await admin.disconnect();
  }
}

/** Sum over partitions of what the group has consumed, counted from offset 0. */
export function consumed(positions: readonly PartitionPosition[]): number {
  return positions.reduce((sum, p) => sum + Number(p.committed), 0);
}

/**
 * Whether nothing readable (read_committed) lies between each partition's committed offset and
 * its high watermark. Partitions where the two are equal need no read.
 *
 * @param timeoutMs gives up, answering false, after this long.
 */
export async function drained(kafka: KafkaClient, topic: string, positions: readonly PartitionPosition[], timeoutMs = 30_000): Promise<boolean> {
  const open = positions.filter((p) => p.committed < p.high);
  if (open.length === 0) return true;
  const groupId = `${topic}.replay-probe.${randomBytes(4).toString('hex')}`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.setGroupOffsets(groupId, topic, open.map((p) => ({ partition: p.partition, offset: String(p.committed) })));
    const pending = new Set(open.map((p) => p.partition));
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    try {
      await consumer.subscribe([topic], { fromBeginning: true });
      return await new Promise<boolean>((resolve, reject) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        const settle = (value: boolean): void => {
          clearTimeout(timer);
          resolve(value);
        };
        consumer
          .run({
            eachBatch: async (batch) => {
              const from = open.find((p) => p.partition === batch.partition)?.committed;
              if (from !== undefined && batch.messages.some((m) => BigInt(m.offset) >= from)) settle(false);
            },
            onBatchEnd: ({ partition, offsetLag }) => {
              if (offsetLag === 0n && pending.delete(partition) && pending.size === 0) settle(true);
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

/**
 * Whether `groupId` has consumed everything readable in `topic`, a topic written only in
 * transactions whose writers have finished: then the last offset of a partition is a transaction
 * marker, and a group whose committed offset is the one before it has read everything. A
 * partition further behind may hold only aborted records (a killed writer's); that takes a probe,
 * made only when `probe` is set (the group has stopped moving), since it joins a group of its own.
 */
export async function caughtUp(kafka: KafkaClient, groupId: string, topic: string, probe = false): Promise<boolean> {
  const positions = await groupPositions(kafka, groupId, topic);
  if (positions.every((p) => p.committed >= p.high - 1n)) return true;
  return probe ? drained(kafka, topic, positions) : false;
}
