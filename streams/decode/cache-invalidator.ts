/**
 * Keeps the registry cache honest: reads device.v1 as a consumer group of its own (one per
 * process, from the latest offset, never committing), and drops the entry of every device whose
 * registry row changed from memory and Redis. SEEN records only carry last seen, battery and
 * signal, which the cache does not hold, so they are passed over.
 */
import { randomUUID } from 'node:crypto';
import type { RegistryCodec } from '../../core/avro/registry-codec.js';
import type { Consumer, KafkaClient } from '../../core/kafka/client.js';
import type { Logger } from '../../core/log.js';
import type { TopicSpec } from '../../core/topics.js';
import type { RegistryCache } from './registry-cache.js';

/** Options of {@link createCacheInvalidator}. */
export interface CacheInvalidatorOptions {
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  readonly devices: TopicSpec<'Device'>;
  readonly cache: RegistryCache;
  readonly logger: Logger;
  /**
   * Prefix of the consumer group, whose name ends in a random id so every process reads every partition.
   * @default ''
   */
  readonly prefix?: string;
  /**
   * How long `start` waits for the group to be joined before going on regardless (invalidations
   * before the join are missed; the cache tiers' expiry covers them).
   * @default 30000
   */
  readonly joinTimeoutMs?: number;
}

/** A lifecycle component. */
export interface CacheInvalidator {
  readonly name: string;
  /** Resolves once the consumer has joined its group (or the join timeout passed). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createCacheInvalidator(options: CacheInvalidatorOptions): CacheInvalidator {
  const { kafka, codec, devices, cache } = options;
  const logger = options.logger.child({ component: 'registry-cache-invalidator' });
  let consumer: Consumer | undefined;

  return {
    name: 'registry-cache-invalidator',
    async start() {
      if (consumer) return;
      const created = kafka.consumer({ groupId: `${options.prefix ?? ''}decode.registry-cache.${randomUUID()}` });
      consumer = created;
      await created.connect();
      await created.subscribe([devices.name], { fromBeginning: false });
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => {
          logger.warn({ timeoutMs: options.joinTimeoutMs ?? 30_000 }, 'not yet assigned device.v1; starting regardless');
          resolve();
        }, options.joinTimeoutMs ?? 30_000);
        created
          .run({
            onAssigned: () => resolve(),
            eachBatch: async (batch) => {
              const changed = new Set<string>();
              for (const message of batch.messages) {
                if (message.key === null) continue;
                const deviceId = message.key.toString('utf8');
                try {
                  if ((await codec.decode('Device', message.value)).value.change === 'SEEN') continue;
                } catch (err) {
                  // An unreadable record may still be a change: dropping the entry costs one lookup.
                  logger.debug({ err, deviceId }, 'device.v1 record not readable; invalidating anyway');
                }
                changed.add(deviceId);
              }
              await cache.invalidate([...changed]);
            },
          })
          .catch(reject);
      }).finally(() => clearTimeout(timer));
    },
    async stop() {
      const current = consumer;
      consumer = undefined;
      await current?.disconnect();
    },
  };
}
