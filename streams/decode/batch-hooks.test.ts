import { describe, expect, it } from 'vitest';
import type { Consumer, ConsumerRunOptions, KafkaClient, MessageBatch, Producer, Transaction } from '../../core/kafka/client.js';
import { chunksOf, withBatchHooks } from './batch-hooks.js';

/** A Kafka client that records what is called on it (our own interface, no broker). */
function recordingKafka(calls: string[]): KafkaClient & { runs: ConsumerRunOptions[] } {
  const runs: ConsumerRunOptions[] = [];
  const transaction: Transaction = {
    send: async (_topic, messages) => void calls.push(`send ${messages.length}`),
    commitOffsetsWith: async () => void calls.push('offsets'),
    commit: async () => void calls.push('commit'),
    abort: async () => void calls.push('abort'),
  };
  const producer: Producer = {
    connect: async () => undefined,
    send: async () => [],
    transaction: async () => transaction,
    disconnect: async () => undefined,
  };
  const consumer: Consumer = {
    connect: async () => undefined,
    subscribe: async () => undefined,
    run: async (options) => void runs.push(options),
    commit: async () => undefined,
    seek: () => undefined,
    disconnect: async () => undefined,
  };
  return { runs, producer: () => producer, consumer: () => consumer, admin: () => { throw new Error('not used'); } };
}

const batch = (partition: number): MessageBatch => ({
  topic: 'uplink.raw.v1',
  partition,
  messages: [],
  isActive: () => true,
  heartbeat: async () => undefined,
});

describe('batch hooks on the Kafka client seam', () => {
  const worker = { groupId: 'it.decode', input: 'it.uplink.raw.v1' };

  it('runs beforeBatch before the runner sees a batch of the worker group, and not for other groups', async () => {
    const calls: string[] = [];
    const kafka = recordingKafka(calls);
    const hooked = withBatchHooks(kafka, worker, {
      beforeBatch: async (partition) => void calls.push(`before ${partition}`),
      beforeCommit: async () => undefined,
    });
    await hooked.consumer({ groupId: 'it.decode' }).run({ eachBatch: async (b) => void calls.push(`runner ${b.partition}`) });
    await hooked.consumer({ groupId: 'it.decode.changelog.v1.restore.x' }).run({ eachBatch: async (b) => void calls.push(`restore ${b.partition}`) });
    await kafka.runs[0]!.eachBatch(batch(3));
    await kafka.runs[1]!.eachBatch(batch(4));
    expect(calls).toEqual(['before 3', 'runner 3', 'restore 4']);
  });

  it('runs beforeCommit with the partition of the transactional producer, before the commit', async () => {
    const calls: string[] = [];
    const hooked = withBatchHooks(recordingKafka(calls), worker, {
      beforeBatch: async () => undefined,
      beforeCommit: async (partition) => void calls.push(`flush ${partition}`),
    });
    const tx = await hooked.producer({ transactionalId: 'it.decode.it.uplink.raw.v1.7' }).transaction();
    await tx.send('t', [{ key: 'k', value: Buffer.alloc(10) }]);
    await tx.commit();
    const other = await hooked.producer({ transactionalId: 'it.other.it.uplink.raw.v1.7' }).transaction();
    await other.commit();
    expect(calls).toEqual(['send 1', 'flush 7', 'commit', 'commit']);
  });

  it('splits a large send of a transaction into requests the broker accepts, in order', async () => {
    const calls: string[] = [];
    const hooked = withBatchHooks(recordingKafka(calls), worker, { beforeBatch: async () => undefined, beforeCommit: async () => undefined });
    const tx = await hooked.producer({ transactionalId: 'it.decode.it.uplink.raw.v1.0' }).transaction();
    await tx.send('reading.v1', Array.from({ length: 5000 }, (_, i) => ({ key: `dev-${String(i).padStart(4, '0')}`, value: Buffer.alloc(250) })));
    // 322 estimated bytes a message: 1628 of them fit 512 KiB.
    expect(calls).toEqual(['send 1628', 'send 1628', 'send 1628', 'send 116']);
  });

  it('keeps order and every message when chunking, and never sends an empty chunk', () => {
    const messages = Array.from({ length: 10 }, (_, i) => ({ key: String(i), value: Buffer.alloc(i * 40) }));
    const chunks = chunksOf(messages, 300);
    expect(chunks.flat()).toEqual(messages);
    expect(chunks.every((c) => c.length > 0)).toBe(true);
    expect(chunksOf([{ key: null, value: Buffer.alloc(1000) }], 300)).toHaveLength(1);
  });

  it('does not commit when beforeCommit fails, so the runner aborts the batch', async () => {
    const calls: string[] = [];
    const hooked = withBatchHooks(recordingKafka(calls), worker, {
      beforeBatch: async () => undefined,
      beforeCommit: async () => {
        throw new Error('PostgreSQL is down');
      },
    });
    const tx = await hooked.producer({ transactionalId: 'it.decode.it.uplink.raw.v1.0' }).transaction();
    await expect(tx.commit()).rejects.toThrow('PostgreSQL is down');
    expect(calls).toEqual([]);
  });
});
