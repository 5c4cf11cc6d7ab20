/**
 * Per-batch hooks around the stateful runner, on the KafkaClient seam. The runner hands its handler
 * one record at a time, but decode wants to look up every device of a fetched batch at once and to
 * write the batch's registry changes in one statement before the batch's transaction commits.
 * The runner reaches Kafka only through the {@link KafkaClient} it is given, so a decorated client
 * gives both moments without changing the runner:
 *
 * - the consumer of the worker's group runs `beforeBatch` before each fetched batch goes to the runner;
 * - each transactional producer of the worker (id `{groupId}.{input}.{partition}`) runs
 *   `beforeCommit` before it commits; a throw there aborts the transaction, so the runner rolls the
 *   batch back and it is processed again.
 *
 * The same producers also split what one `send` of a transaction carries into requests of at most
 * {@link MAX_REQUEST_BYTES}: kafkajs writes one record batch per partition and request, and the
 * readings of one full fetch (1 MiB of uplinks) exceed the broker's `message.max.bytes` (1 MiB), which
 * kafkajs reports as a non-retriable crash of the consumer.
 *
 * Everything else passes through untouched (the runner's changelog restore consumers included).
 */
import type { Consumer, KafkaClient, MessageBatch, OutgoingMessage, Producer } from '../../core/kafka/client.js';

/** Bytes of keys, values and headers per request of a transaction's send, well under the broker's 1 MiB. */
export const MAX_REQUEST_BYTES = 512 * 1024;

/** The hooks. */
export interface BatchHooks {
  beforeBatch(partition: number, messages: MessageBatch['messages']): Promise<void>;
  beforeCommit(partition: number): Promise<void>;
}

/** Which consumer and producers are the worker's. */
export interface HookedWorker {
  /** The runner's consumer group: `{prefix}{worker name}`. */
  readonly groupId: string;
  /** The input topic's full name. */
  readonly input: string;
}

export function withBatchHooks(kafka: KafkaClient, worker: HookedWorker, hooks: BatchHooks): KafkaClient {
  const transactionalPrefix = `${worker.groupId}.${worker.input}.`;
  return {
    admin: () => kafka.admin(),
    consumer(options) {
      const consumer = kafka.consumer(options);
      return options.groupId === worker.groupId ? hookedConsumer(consumer, hooks) : consumer;
    },
    producer(options) {
      const producer = kafka.producer(options);
      const id = options?.transactionalId;
      const partition = id?.startsWith(transactionalPrefix) ? Number(id.slice(transactionalPrefix.length)) : Number.NaN;
      return Number.isInteger(partition) ? hookedProducer(producer, partition, hooks) : producer;
    },
  };
}

function hookedConsumer(consumer: Consumer, hooks: BatchHooks): Consumer {
  return {
    ...consumer,
    run: (options) =>
      consumer.run({
        ...options,
        async eachBatch(batch) {
          await hooks.beforeBatch(batch.partition, batch.messages);
          await options.eachBatch(batch);
        },
      }),
  };
}

function hookedProducer(producer: Producer, partition: number, hooks: BatchHooks): Producer {
  return {
    ...producer,
    async transaction() {
      const tx = await producer.transaction();
      return {
        ...tx,
        async send(topic, messages) {
          for (const chunk of chunksOf(messages)) await tx.send(topic, chunk);
        },
        async commit() {
          await hooks.beforeCommit(partition);
          await tx.commit();
        },
      };
    },
  };
}

/** Consecutive runs of messages whose estimated size stays within {@link MAX_REQUEST_BYTES}; order is kept. */
export function chunksOf(messages: readonly OutgoingMessage[], maxBytes = MAX_REQUEST_BYTES): OutgoingMessage[][] {
  const chunks: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = sizeOf(message);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Key, value and headers, plus the record's framing (a generous 64 bytes). */
function sizeOf(message: OutgoingMessage): number {
  let size = 64 + (message.key === null ? 0 : Buffer.byteLength(message.key)) + (message.value?.length ?? 0);
  for (const [name, value] of Object.entries(message.headers ?? {})) size += name.length + (typeof value === 'string' ? Buffer.byteLength(value) : value.length);
  return size;
}
