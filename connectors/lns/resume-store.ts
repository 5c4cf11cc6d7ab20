/**
 * Where a restarted `lns` connector resumes: read back from Kafka itself. Every RawUplink the
 * connector writes carries, in `metadata.lnsWatermarkTs`, the watermark that held when it was
 * written (see watermark.ts: every uplink up to that server time was already durable). On start the
 * store reads the newest records of `uplink.raw.v1`, keeps those of this connector, and returns the
 * highest watermark plus their idempotency keys, so the overlap of the first resume query is not
 * written again.
 *
 * Why Kafka and not PostgreSQL or Redis: the checkpoint travels in the same acknowledged write as
 * the data it describes, so it can never be ahead of it, needs no second write per uplink, no
 * migration and no other service to be up. The price is a bounded scan at start-up.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { RegistryCodec } from '../../core/avro/registry-codec.js';
import type { IncomingMessage, KafkaClient } from '../../core/kafka/client.js';
import type { TopicSpec } from '../../core/topics.js';
import { BadInputError } from '../../core/errors.js';

/** The metadata key of RawUplink that carries the watermark. */
export const WATERMARK_METADATA_KEY = 'lnsWatermarkTs';

/** An uplink this connector already wrote. */
export interface WrittenUplink {
  readonly idempotencyKey: string;
  /** Server time of the uplink (RawUplink.deviceTimeAt). */
  readonly ts: number;
  /** DevEUI, lowercase. */
  readonly devEui: string;
}

/** Where to resume. */
export interface ResumePoint {
  /** The highest watermark found, or `undefined` when no record of this connector was found. */
  readonly watermarkTs: number | undefined;
  /** The records of this connector that were scanned. */
  readonly written: readonly WrittenUplink[];
}

/** Loads the resume point once, at start. A throw fails the connector's start. */
export interface LnsResumeStore {
  load(): Promise<ResumePoint>;
}

/** Options of {@link createKafkaResumeStore}. */
export interface KafkaResumeStoreOptions {
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  /** The `uplink.raw.v1` spec of the catalogue the connector writes to. */
  readonly topic: TopicSpec<'RawUplink'>;
  /** RawUplink.connector of this connector's records: the ingest's connector name. */
  readonly connector: string;
  readonly logger: Logger;
  /**
   * How many of the newest records of each partition are scanned. Records of other connectors share
   * the topic; when none of this connector's is among them, the connector falls back to its initial
   * look-back.
   * @default 5000
   */
  readonly scanRecordsPerPartition?: number;
  /**
   * Longest wait for the scan; on timeout what was read so far is used (never a later watermark
   * than the true one, only an earlier one).
   * @default 30000
   */
  readonly timeoutMs?: number;
}

/** A store that reads the resume point back from the tail of `uplink.raw.v1`. */
export function createKafkaResumeStore(options: KafkaResumeStoreOptions): LnsResumeStore {
  const { kafka, codec, topic, connector } = options;
  const logger = options.logger.child({ component: 'lns-resume-store', topic: topic.name });
  const depth = BigInt(options.scanRecordsPerPartition ?? 5000);
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function tail(): Promise<IncomingMessage[]> {
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.topicOffsets(topic.name).finally(() => admin.disconnect());
    const ranges = new Map(
      offsets
        .filter((p) => BigInt(p.high) > BigInt(p.low))
        .map((p) => {
          const high = BigInt(p.high);
          const start = high - depth > BigInt(p.low) ? high - depth : BigInt(p.low);
          return [p.partition, { start, last: high - 1n }] as const;
        }),
    );
    if (ranges.size === 0) return [];

    const messages: IncomingMessage[] = [];
    const pending = new Set(ranges.keys());
    const consumer = kafka.consumer({ groupId: `${connector}-resume-scan-${randomUUID()}` });
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    await consumer.connect();
    try {
      await consumer.subscribe([topic.name], { fromBeginning: true });
      await consumer.run({
        onAssigned: () => {
          for (const [partition, range] of ranges) consumer.seek(topic.name, partition, range.start.toString());
        },
        eachBatch: async (batch) => {
          const range = ranges.get(batch.partition);
          if (!range) return;
          for (const message of batch.messages) {
            const offset = BigInt(message.offset);
            // A fetch issued before the seek took effect may deliver older records: outside the window.
            if (offset >= range.start && offset <= range.last) messages.push(message);
            if (offset >= range.last) pending.delete(batch.partition);
          }
          if (pending.size === 0) finished();
        },
      });
      const timer = setTimeout(() => {
        logger.warn({ partitions: [...pending] }, 'resume scan timed out; resuming from what was read');
        finished();
      }, timeoutMs);
      await done;
      clearTimeout(timer);
    } finally {
      await consumer.disconnect();
    }
    return messages;
  }

  return {
    async load() {
      let watermarkTs: number | undefined;
      const written: WrittenUplink[] = [];
      for (const message of await tail()) {
        let value;
        try {
          ({ value } = await codec.decode(topic.record, message.value));
        } catch (err) {
          // Undecodable records are the decode worker's to dead-letter; they hold no watermark of ours.
          if (err instanceof BadInputError) continue;
          throw err;
        }
        if (value.connector !== connector || value.deviceTimeAt === null) continue;
        written.push({ idempotencyKey: value.idempotencyKey, ts: value.deviceTimeAt, devEui: value.deviceId.replace(/^lorawan:/, '') });
        const mark = Number(value.metadata[WATERMARK_METADATA_KEY]);
        if (Number.isSafeInteger(mark) && (watermarkTs === undefined || mark > watermarkTs)) watermarkTs = mark;
      }
      logger.info({ watermarkTs, records: written.length }, 'resume point read from Kafka');
      return { watermarkTs, written };
    },
  };
}
