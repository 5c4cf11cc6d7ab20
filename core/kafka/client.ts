/**
 * The one module that imports kafkajs. Everything else in meterflux talks to Kafka through the
 * small interfaces below, so the client library can be swapped (node-rdkafka, Confluent's
 * JavaScript client…) on evidence from `make bench` by rewriting this file alone.
 */
// First: replaces kafkajs's filter of aborted records before kafkajs loads (see that module).
import './aborted-records.js';
import {
  Kafka,
  logLevel as KafkaLogLevel,
  CompressionTypes,
  Partitioners,
  type Admin as KafkajsAdmin,
  type Consumer as KafkajsConsumer,
  type Producer as KafkajsProducer,
  type Transaction as KafkajsTransaction,
  type LogEntry,
  type IHeaders,
  type ICustomPartitioner,
} from 'kafkajs';
import type { Logger } from 'pino';
import { ServiceUnavailableError, TransientError, errorMessage } from '../errors.js';
import { partitionOfKey } from './murmur2.js';

/** Connection settings: the `kafka` slice of the process config. */
export interface KafkaConnection {
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: readonly string[];
  /** Client id shown in broker logs and quotas. */
  readonly clientId: string;
}

/** A message to write. Keys are plain UTF-8 strings (see schemas/avro/README.md). */
export interface OutgoingMessage {
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, string | Buffer>>;
  /** Record timestamp, epoch ms; the broker's append time when omitted. */
  readonly timestampMs?: number;
  /** Explicit partition (changelogs follow their input partition); the key's partition when omitted. */
  readonly partition?: number;
}

/** Where the broker put a written batch. */
export interface WriteResult {
  readonly topic: string;
  readonly partition: number;
  /** Offset of the first record of the batch on that partition. */
  readonly baseOffset: string;
}

/** A message as read from a partition. */
export interface IncomingMessage {
  readonly topic: string;
  readonly partition: number;
  /** Offset as a decimal string (64-bit). */
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, Buffer>>;
  /** Record timestamp, epoch ms. */
  readonly timestampMs: number;
}

/** Consumed position to commit: the offset of the NEXT message to read. */
export interface OffsetToCommit {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** One transaction of a transactional producer (consume-transform-produce). */
export interface Transaction {
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  /** Adds the consumer group's offsets to the transaction, so they commit atomically with the outputs. */
  commitOffsetsWith(groupId: string, offsets: readonly OffsetToCommit[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** Producer options. Every producer is idempotent and writes with acks=all. */
export interface ProducerOptions {
  /** Makes the producer transactional; one id per logical writer (worker + partition set). */
  readonly transactionalId?: string;
  /**
   * Compress batches with gzip (the only codec kafkajs ships).
   * @default false
   */
  readonly compress?: boolean;
}

/** Writes to Kafka. `send` resolves only once every in-sync replica has the data. */
export interface Producer {
  connect(): Promise<void>;
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<WriteResult[]>;
  /** Starts a transaction; only for producers created with `transactionalId`. */
  transaction(): Promise<Transaction>;
  disconnect(): Promise<void>;
}

/** A batch of messages from one partition, handed to {@link ConsumerRunOptions.eachBatch}. */
export interface MessageBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly IncomingMessage[];
  /** Whether the consumer is still running and owns this partition; stop early when false. */
  isActive(): boolean;
  /** Keeps the group session alive during long batches. */
  heartbeat(): Promise<void>;
}

/** How a consumer runs. Offsets are committed only through {@link Consumer.commit}. */
export interface ConsumerRunOptions {
  eachBatch(batch: MessageBatch): Promise<void>;
  /**
   * Called when partitions are assigned to this member (after a rebalance), with the member id the
   * coordinator gave it: a new id means the member was out of the group (evicted) in between.
   */
  onAssigned?(assignment: ReadonlyArray<{ topic: string; partitions: number[] }>, member: { readonly memberId: string }): void;
  /**
   * Partitions whose batches may be processed at the same time (each partition stays in order).
   * @default 1
   */
  partitionsConcurrently?: number;
  /**
   * Called after every fetched batch, including batches that held only transaction markers and were
   * never handed to `eachBatch`; `offsetLag` 0 means the partition was read to its high watermark.
   */
  onBatchEnd?(position: { topic: string; partition: number; offsetLag: bigint }): void;
}

/** Consumer options. */
export interface ConsumerOptions {
  readonly groupId: string;
  /**
   * Read only committed transactional data.
   * @default true
   */
  readonly readCommitted?: boolean;
  /** @default 30000 */
  readonly sessionTimeoutMs?: number;
  /**
   * Upper bound of bytes fetched per partition per request.
   * @default 1048576
   */
  readonly maxBytesPerPartition?: number;
  /**
   * Upper bound of bytes of one fetch request over all partitions of a broker; raise it with
   * {@link maxBytesPerPartition} when a member owns many partitions.
   * @default 10485760
   */
  readonly maxBytes?: number;
  /**
   * Longest time the broker holds a fetch that found no data. A stopping consumer waits for its
   * fetch in flight, so this bounds how long a stop takes when the input is idle; a fetch that finds
   * data returns at once whatever this is.
   * @default 1000
   */
  readonly maxWaitMs?: number;
}

/** Reads from Kafka as a member of a consumer group. Auto-commit is off: callers commit. */
export interface Consumer {
  connect(): Promise<void>;
  subscribe(topics: readonly string[], options?: { fromBeginning?: boolean }): Promise<void>;
  run(options: ConsumerRunOptions): Promise<void>;
  commit(offsets: readonly OffsetToCommit[]): Promise<void>;
  seek(topic: string, partition: number, offset: string): void;
  disconnect(): Promise<void>;
}

/** A topic to create. */
export interface TopicToCreate {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs: Readonly<Record<string, string>>;
}

/** Partition offsets of a topic: where it starts (low) and where the next write goes (high). */
export interface PartitionOffsets {
  readonly partition: number;
  readonly low: string;
  readonly high: string;
}

/** Cluster administration: what topic set-up, tests and tools need. */
export interface Admin {
  connect(): Promise<void>;
  listTopics(): Promise<string[]>;
  /** Creates the topics that do not exist yet; returns the names created. */
  createTopics(topics: readonly TopicToCreate[]): Promise<string[]>;
  describeTopics(names: readonly string[]): Promise<Array<{ name: string; partitions: number }>>;
  topicConfigs(name: string, keys: readonly string[]): Promise<Record<string, string>>;
  alterTopicConfigs(name: string, configs: Readonly<Record<string, string>>): Promise<void>;
  addPartitions(name: string, totalPartitions: number): Promise<void>;
  deleteTopics(names: readonly string[]): Promise<void>;
  topicOffsets(name: string): Promise<PartitionOffsets[]>;
  groupOffsets(groupId: string, topic: string): Promise<Array<{ partition: number; offset: string }>>;
  /**
   * Per partition, the earliest offset whose record timestamp is at or after `timestampMs`, or the
   * high watermark where no record is that late (ListOffsets by timestamp).
   */
  topicOffsetsAt(name: string, timestampMs: number): Promise<Array<{ partition: number; offset: string }>>;
  /** Sets a consumer group's committed offsets on `topic`; refused while the group has members. */
  setGroupOffsets(groupId: string, topic: string, offsets: ReadonlyArray<{ partition: number; offset: string }>): Promise<void>;
  /** Ids of the consumer groups the cluster knows. */
  listGroups(): Promise<string[]>;
  /** Deletes consumer groups and their committed offsets; refused for a group with members. */
  deleteGroups(groupIds: readonly string[]): Promise<void>;
  disconnect(): Promise<void>;
}

/** Entry point: creates producers, consumers and admins that share one connection config. */
export interface KafkaClient {
  producer(options?: ProducerOptions): Producer;
  consumer(options: ConsumerOptions): Consumer;
  admin(): Admin;
}

/**
 * Creates the client. kafkajs log lines are routed into `logger` (child `component: kafka`): its
 * errors and warnings as such, its info lines at debug, and its per-request debug lines at trace
 * (asked from kafkajs only when the logger is at trace), so broker trouble shows up in the process's
 * structured logs.
 */
export function createKafkaClient(connection: KafkaConnection, logger: Logger): KafkaClient {
  const log = logger.child({ component: 'kafka' });
  const kafka = new Kafka({
    clientId: connection.clientId,
    brokers: [...connection.brokers],
    // kafkajs's own debug lines (every request and response) only when the logger would show them.
    logLevel: log.isLevelEnabled('trace') ? KafkaLogLevel.DEBUG : KafkaLogLevel.INFO,
    logCreator: () => (entry: LogEntry) => routeLog(log, entry),
    retry: { initialRetryTime: 100, retries: 8 },
  });
  const address = connection.brokers.join(',');
  return {
    producer: (options = {}) => wrapProducer(kafka, options, address),
    consumer: (options) => wrapConsumer(kafka, options, address),
    admin: () => wrapAdmin(kafka.admin(), address),
  };
}

function routeLog(log: Logger, { level, log: entry }: LogEntry): void {
  const { message, timestamp: _timestamp, logger: _logger, ...fields } = entry;
  switch (level) {
    case KafkaLogLevel.ERROR:
      log.error(fields, message);
      break;
    case KafkaLogLevel.WARN:
      log.warn(fields, message);
      break;
    case KafkaLogLevel.INFO:
      log.debug(fields, message);
      break;
    default:
      log.trace(fields, message);
  }
}

/** kafkajs connection failures become one actionable {@link ServiceUnavailableError}. */
async function connecting(address: string, connect: () => Promise<void>): Promise<void> {
  try {
    await connect();
  } catch (cause) {
    throw new ServiceUnavailableError({ service: 'Kafka', address, cause });
  }
}

function toKafkajsMessage(message: OutgoingMessage) {
  return {
    key: message.key,
    value: message.value,
    ...(message.headers ? { headers: { ...message.headers } } : {}),
    ...(message.timestampMs === undefined ? {} : { timestamp: String(message.timestampMs) }),
    ...(message.partition === undefined ? {} : { partition: message.partition }),
  };
}

/**
 * kafkajs's `DefaultPartitioner` with the keyed case computed by {@link partitionOfKey} (the same
 * partition, without kafkajs's 64-bit `Long` emulation); explicit partitions and keyless messages
 * go to kafkajs's own rule.
 */
const keyPartitioner: ICustomPartitioner = () => {
  const fallback = Partitioners.DefaultPartitioner();
  return (args) => {
    const { key, partition } = args.message;
    if ((partition === undefined || partition === null) && key !== undefined && key !== null) return partitionOfKey(key, args.partitionMetadata.length);
    return fallback(args);
  };
};

function wrapProducer(kafka: Kafka, options: ProducerOptions, address: string): Producer {
  const create = (): KafkajsProducer =>
    kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // murmur2 on the key, as the Java client: a key lands on the same partition whoever writes it.
      createPartitioner: keyPartitioner,
      ...(options.transactionalId
        ? {
            transactionalId: options.transactionalId,
            // The next transaction of an id gets CONCURRENT_TRANSACTIONS until the broker finished
            // the last commit (a few ms); retry that quickly, as the Java client does, not after 100 ms.
            retry: { initialRetryTime: 5, maxRetryTime: 1000, retries: 15 },
          }
        : {}),
    });
  let producer = create();
  let connected = false;
  /**
   * Set after a failed write: the next write (or transaction) starts on a fresh producer, with a new
   * producer id or epoch and sequences from zero.
   *
   * Why: kafkajs numbers each partition's batches before a request and, when the request fails, takes
   * the numbers back for every partition in it, including partitions the broker did write (a request
   * can fail for one partition and succeed for another). Its next batch for such a partition then
   * carries the sequence numbers of a batch already in the log, and the broker answers a batch whose
   * sequence range it has seen with success and the old offsets, without writing it: records
   * acknowledged and lost. A failed write's producer is therefore never written with again.
   */
  let broken = false;
  /**
   * Writes one at a time: a write queued behind a failing one must see `broken` (kafkajs would let it
   * take the numbers the failed one gave back). kafkajs sends one request at a time per broker for an
   * idempotent producer anyway, so nothing runs less in parallel.
   */
  let writing: Promise<unknown> = Promise.resolve();
  const compression = options.compress ? CompressionTypes.GZIP : CompressionTypes.None;

  async function healthy(): Promise<KafkajsProducer> {
    if (broken) {
      broken = false;
      const old = producer;
      producer = create();
      await old.disconnect().catch(() => undefined);
      await connecting(address, () => producer.connect());
    }
    return producer;
  }

  return {
    async connect() {
      await connecting(address, () => producer.connect());
      connected = true;
    },
    send(topic, messages) {
      const write = writing.then(async () => {
        const current = connected ? await healthy() : producer;
        try {
          const results: WriteResult[] = [];
          for (const chunk of chunksOf(messages)) {
            const metadata = await current.send({ topic, acks: -1, compression, messages: chunk.map(toKafkajsMessage) });
            for (const m of metadata) results.push({ topic: m.topicName, partition: m.partition, baseOffset: m.baseOffset ?? '-1' });
          }
          return results;
        } catch (cause) {
          // The write may be retried later, on a fresh producer: callers must not acknowledge it now.
          broken = true;
          throw new TransientError(`writing ${messages.length} records to ${topic} failed: ${errorMessage(cause)}`, {
            cause,
            code: 'KAFKA_WRITE_FAILED',
            context: { topic },
          });
        }
      });
      writing = write.catch(() => undefined);
      return write;
    },
    async transaction() {
      if (!options.transactionalId) {
        throw new TransientError('transaction() needs a producer created with a transactionalId', {
          code: 'NOT_TRANSACTIONAL',
        });
      }
      // A fresh producer re-initialises the transactional id: a new epoch, sequences from zero.
      const current = connected ? await healthy() : producer;
      return wrapTransaction(await current.transaction(), compression, () => (broken = true));
    },
    async disconnect() {
      connected = false;
      await producer.disconnect();
    },
  };
}

/**
 * Keeps each produce request under the broker's default 1 MiB request limit: kafkajs sends one
 * request per call, and a request the broker refuses as too large is not retried.
 */
const MAX_REQUEST_BYTES = 512 * 1024;
/**
 * kafkajs groups a call's messages by partition by copying each partition's list once per message
 * (`[...current, message]`): quadratic in the messages per call. Small calls keep that linear.
 */
const MAX_REQUEST_MESSAGES = 500;

function* chunksOf(messages: readonly OutgoingMessage[]): Generator<OutgoingMessage[]> {
  let chunk: OutgoingMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = (message.value?.length ?? 0) + (message.key?.length ?? 0) + 64;
    if (chunk.length > 0 && (bytes + size > MAX_REQUEST_BYTES || chunk.length === MAX_REQUEST_MESSAGES)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(message);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * One kafkajs transaction; any failure in it calls `failed`, so its producer is not used for the
 * next transaction (see `broken` in {@link wrapProducer}: an aborted batch's sequence numbers,
 * taken back by kafkajs, would make the broker skip the next transaction's batch as a duplicate).
 */
function wrapTransaction(tx: KafkajsTransaction, compression: CompressionTypes, failed: () => void): Transaction {
  const guarded = async (work: () => Promise<unknown>): Promise<void> => {
    try {
      await work();
    } catch (err) {
      failed();
      throw err;
    }
  };
  return {
    send: (topic, messages) => guarded(async () => {
      for (const chunk of chunksOf(messages)) {
        await tx.send({ topic, acks: -1, compression, messages: chunk.map(toKafkajsMessage) });
      }
    }),
    commitOffsetsWith(groupId, offsets) {
      const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
      for (const o of offsets) {
        const list = byTopic.get(o.topic) ?? [];
        list.push({ partition: o.partition, offset: o.offset });
        byTopic.set(o.topic, list);
      }
      return guarded(() => tx.sendOffsets({
        consumerGroupId: groupId,
        topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
      }));
    },
    commit: () => guarded(() => tx.commit()),
    abort: () => guarded(() => tx.abort()),
  };
}

function toHeaders(headers: IHeaders | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = Buffer.isBuffer(first) ? first : Buffer.from(first);
  }
  return out;
}

function wrapConsumer(kafka: Kafka, options: ConsumerOptions, address: string): Consumer {
  const consumer: KafkajsConsumer = kafka.consumer({
    groupId: options.groupId,
    readUncommitted: options.readCommitted === false,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    maxBytesPerPartition: options.maxBytesPerPartition ?? 1_048_576,
    maxBytes: options.maxBytes ?? 10_485_760,
    maxWaitTimeInMs: options.maxWaitMs ?? 1_000,
    allowAutoTopicCreation: false,
  });
  return {
    connect: () => connecting(address, () => consumer.connect()),
    async subscribe(topics, subscribeOptions = {}) {
      await consumer.subscribe({ topics: [...topics], fromBeginning: subscribeOptions.fromBeginning ?? true });
    },
    async run(runOptions) {
      if (runOptions.onBatchEnd) {
        const onBatchEnd = runOptions.onBatchEnd;
        consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
          const { topic, partition, offsetLag } = event.payload;
          onBatchEnd({ topic, partition, offsetLag: BigInt(offsetLag) });
        });
      }
      if (runOptions.onAssigned) {
        const onAssigned = runOptions.onAssigned;
        consumer.on(consumer.events.GROUP_JOIN, (event) => {
          const assignment = Object.entries(event.payload.memberAssignment).map(([topic, partitions]) => ({
            topic,
            partitions,
          }));
          onAssigned(assignment, { memberId: event.payload.memberId });
        });
      }
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: runOptions.partitionsConcurrently ?? 1,
        eachBatch: async ({ batch, isRunning, isStale, heartbeat, resolveOffset }) => {
          const messages: IncomingMessage[] = batch.messages.map((m) => ({
            topic: batch.topic,
            partition: batch.partition,
            offset: m.offset,
            key: m.key,
            value: m.value,
            headers: toHeaders(m.headers),
            timestampMs: Number(m.timestamp),
          }));
          await runOptions.eachBatch({
            topic: batch.topic,
            partition: batch.partition,
            messages,
            isActive: () => isRunning() && !isStale(),
            heartbeat,
          });
          // The handler has committed what it processed; tell kafkajs where to fetch next.
          const last = messages.at(-1);
          if (last) resolveOffset(last.offset);
        },
      });
    },
    async commit(offsets) {
      await consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })));
    },
    seek: (topic, partition, offset) => consumer.seek({ topic, partition, offset }),
    disconnect: () => consumer.disconnect(),
  };
}

function wrapAdmin(admin: KafkajsAdmin, address: string): Admin {
  return {
    connect: () => connecting(address, () => admin.connect()),
    listTopics: () => admin.listTopics(),
    async createTopics(topics) {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t.name));
      if (missing.length === 0) return [];
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: t.replicationFactor,
          configEntries: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
        })),
      });
      return missing.map((t) => t.name);
    },
    async describeTopics(names) {
      const metadata = await admin.fetchTopicMetadata({ topics: [...names] });
      return metadata.topics.map((t) => ({ name: t.name, partitions: t.partitions.length }));
    },
    async topicConfigs(name, keys) {
      const result = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2 /* TOPIC */, name, configNames: [...keys] }],
      });
      const out: Record<string, string> = {};
      for (const entry of result.resources[0]?.configEntries ?? []) out[entry.configName] = entry.configValue;
      return out;
    },
    async alterTopicConfigs(name, configs) {
      // kafkajs sends the non-incremental AlterConfigs: the list replaces every dynamic config.
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: 2 /* TOPIC */,
            name,
            configEntries: Object.entries(configs).map(([configName, value]) => ({ name: configName, value })),
          },
        ],
      });
    },
    async addPartitions(name, totalPartitions) {
      await admin.createPartitions({ topicPartitions: [{ topic: name, count: totalPartitions }] });
    },
    async deleteTopics(names) {
      if (names.length > 0) await admin.deleteTopics({ topics: [...names] });
    },
    async topicOffsets(name) {
      const offsets = await admin.fetchTopicOffsets(name);
      return offsets
        .map((o) => ({ partition: o.partition, low: o.low, high: o.high }))
        .sort((a, b) => a.partition - b.partition);
    },
    async groupOffsets(groupId, topic) {
      const result = await admin.fetchOffsets({ groupId, topics: [topic] });
      return (result[0]?.partitions ?? []).map((p) => ({ partition: p.partition, offset: p.offset }));
    },
    async topicOffsetsAt(name, timestampMs) {
      const offsets = await admin.fetchTopicOffsetsByTimestamp(name, timestampMs);
      return offsets.map((o) => ({ partition: o.partition, offset: o.offset })).sort((a, b) => a.partition - b.partition);
    },
    async setGroupOffsets(groupId, topic, offsets) {
      await admin.setOffsets({ groupId, topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: o.offset })) });
    },
    async listGroups() {
      return (await admin.listGroups()).groups.map((g) => g.groupId);
    },
    async deleteGroups(groupIds) {
      if (groupIds.length > 0) await admin.deleteGroups([...groupIds]);
    },
    disconnect: () => admin.disconnect(),
  };
}
