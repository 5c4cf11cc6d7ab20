/**
 * A write that fails for one partition and succeeds for another must not cost a later write its
 * records. kafkajs takes back the sequence numbers of every partition in a failed request, also
 * those the broker wrote; a later batch on the same producer then repeats a written batch's
 * sequence range and the broker acknowledges it as a duplicate without writing it. Our client
 * replaces the producer after any failed write or transaction (`broken` in client.ts), so the
 * later write lands.
 *
 * The partial failure is made on purpose: on a compacted topic, a record without a key is refused
 * (INVALID_RECORD) while a keyed record for another partition in the same request is written.
 * Without the replacement, the transaction case loses its record every time (seen with kafkajs
 * 2.2.4 on Kafka 4.3.1); the concurrent case depends on when kafkajs retries the failed request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readToEnd, testKernel, waitFor, type TestKernel } from '../../test/support/stack.js';
import type { OutgoingMessage, Producer } from './client.js';

let kernel: TestKernel;
const topics: string[] = [];

beforeAll(async () => {
  kernel = await testKernel('partial');
});

afterAll(async () => {
  const admin = kernel.kafka.admin();
  await admin.connect();
  await admin.deleteTopics(topics).catch(() => undefined);
  await admin.disconnect();
});

/** A fresh compacted topic of two partitions. */
async function compactedTopic(name: string): Promise<string> {
  const topic = `${kernel.prefix}${name}`;
  topics.push(topic);
  const admin = kernel.kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics([{ name: topic, partitions: 2, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } }]);
  } finally {
    await admin.disconnect();
  }
  return topic;
}

const keyed = (key: string, partition: number): OutgoingMessage => ({ key, value: Buffer.from(`value of ${key}`), partition });
/** Refused by a compacted topic; in the same request as a keyed record for partition 1. */
const poisoned = (key: string): OutgoingMessage[] => [{ key: null, value: Buffer.from('no key'), partition: 0 }, keyed(key, 1)];

async function keysOn(topic: string): Promise<string[]> {
  return (await readToEnd(kernel, topic)).map((m) => m.key?.toString() ?? '(none)').sort();
}

async function connected(producer: Producer): Promise<Producer> {
  await producer.connect();
  return producer;
}

describe('a write that failed for one partition', () => {
  it('does not make the next write on the same producer vanish', async () => {
    const topic = await compactedTopic('idempotent');
    const producer = await connected(kernel.kafka.producer());
    try {
      await producer.send(topic, [keyed('a', 1)]);
      // Both at once, as a connector's coalesced flushes do: the second waits behind the first.
      const failing = producer.send(topic, poisoned('b'));
      // One record for partition 1, as in the failed request: the same sequence range if reused.
      const next = producer.send(topic, [keyed('c', 1)]);
      await expect(failing).rejects.toThrow(/validation on broker/);
      await next;
    } finally {
      await producer.disconnect();
    }
    // 'b' was written by the failed request (the broker took partition 1's batch).
    expect(await keysOn(topic)).toEqual(['a', 'b', 'c']);
  }, 60_000);

  it('does not make the next transaction on the same producer commit without its records', async () => {
    const topic = await compactedTopic('transactional');
    const producer = await connected(kernel.kafka.producer({ transactionalId: `${kernel.prefix}partial-tx` }));
    try {
      const first = await producer.transaction();
      await first.send(topic, [keyed('a', 1)]);
      await first.commit();
      const failing = await producer.transaction();
      await expect(failing.send(topic, poisoned('b'))).rejects.toThrow(/validation on broker/);
      await failing.abort();
      const next = await producer.transaction();
      await next.send(topic, [keyed('c', 1)]);
      await next.commit();
    } finally {
      await producer.disconnect();
    }
    // 'b' was aborted with its transaction; 'c' committed. A commit returns before the broker has
    // written its markers, and until then 'c' lies past the last stable offset readers stop at.
    const keys = await waitFor("the last transaction's record to be visible", async () => {
      const visible = await keysOn(topic);
      return visible.length >= 2 && visible;
    });
    expect(keys).toEqual(['a', 'c']);
  }, 60_000);
});
