/**
 * Rebuilds partition state from a compacted changelog topic: reads the given partitions from their
 * start to their high watermark (read_committed, so aborted transactions never come back) before
 * the worker processes a single input record of them.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { TransientError } from '../../core/errors.js';
import type { KafkaClient } from '../../core/kafka/client.js';
import { PartitionState } from './state-store.js';
import type { StateCodec } from './state-codec.js';

/** Options of {@link restorePartitions}. */
export interface RestoreOptions<S> {
  readonly kafka: KafkaClient;
  readonly changelog: string;
  readonly partitions: readonly number[];
  readonly codec: StateCodec<S>;
  readonly logger: Logger;
  /**
   * Give up (retriably) when the changelog could not be read to its end in this time.
   * @default 300000
   */
  readonly timeoutMs?: number;
}

/** Reads each partition's changelog and returns its state; partitions with an empty changelog start empty. */
export async function restorePartitions<S>(options: RestoreOptions<S>): Promise<Map<number, PartitionState<S>>> {
  const { kafka, changelog, codec, logger } = options;
  const states = new Map(options.partitions.map((p) => [p, new PartitionState<S>()]));
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.topicOffsets(changelog).finally(() => admin.disconnect());
  const pending = new Set(
    offsets.filter((o) => states.has(o.partition) && BigInt(o.high) > BigInt(o.low)).map((o) => o.partition),
  );
  if (pending.size === 0) return states;

  const started = Date.now();
  let records = 0;
  // kafkajs cannot assign partitions by hand; a throwaway group that never commits reads them instead.
  const consumer = kafka.consumer({ groupId: `${changelog}.restore.${randomUUID()}` });
  await consumer.connect();
  try {
    await consumer.subscribe([changelog], { fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new TransientError(`restoring ${changelog} partitions ${[...pending].join(',')} took over ${options.timeoutMs ?? 300_000} ms`, { code: 'RESTORE_TIMEOUT' })),
        options.timeoutMs ?? 300_000,
      );
      void consumer
        .run({
          eachBatch: async (batch) => {
            const state = states.get(batch.partition);
            if (!state || !pending.has(batch.partition)) return;
            for (const message of batch.messages) {
              if (message.key === null) continue;
              state.restore(message.key.toString('utf8'), message.value === null ? undefined : codec.decode(message.value));
              records++;
            }
          },
          onBatchEnd: ({ partition, offsetLag }) => {
            if (offsetLag === 0n && pending.delete(partition) && pending.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  logger.info({ changelog, partitions: options.partitions, records, ms: Date.now() - started }, 'state restored');
  return states;
}
