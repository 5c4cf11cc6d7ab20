/**
 * The runner of stateful stream workers. A worker declares a handler; the runner owns consuming,
 * state, timers, transactions and commits:
 *
 * - Keyed state per input partition lives in memory and is backed by the compacted changelog topic
 *   `<worker>.changelog.v1` (same partition as the input record). When a partition is assigned —
 *   start, restart, rebalance, a second instance joining — its state is restored from the
 *   changelog before any of its records is processed.
 * - Each fetched batch is one Kafka transaction: the outputs, the changelog writes and the consumed
 *   offsets commit together or not at all (one transactional producer per input partition, whose
 *   transactional id fences a zombie owner of the same partition). Memory follows only after the
 *   commit, so an aborted batch leaves no trace and is simply processed again.
 * - Timers for wall-clock rules live in the state values (`timerOf`), so they survive restarts;
 *   due timers run in their own transaction.
 *
 * Any number of instances up to the partition count therefore gives the same outputs as one.
 */
import type { Logger } from 'pino';
import type { RecordName, RecordTypes } from '../../schemas/avro/index.js';
import { BadInputError } from '../../core/errors.js';
import type { RegistryCodec } from '../../core/avro/registry-codec.js';
import type { Consumer, IncomingMessage, KafkaClient, MessageBatch, OutgoingMessage, Producer, Transaction } from '../../core/kafka/client.js';
import { deadLetterForMessage } from '../../core/kafka/dead-letter.js';
import { changelogTopicName, type TopicCatalogue, type TopicSpec } from '../../core/topics.js';
import type { StateCodec } from './state-codec.js';
import { PartitionState } from './state-store.js';
import { restorePartitions } from './restore.js';

/** What a handler can do with the record it was given. */
export interface WorkerContext<S> {
  /** The input partition being processed; state is per partition. */
  readonly partition: number;
  get(key: string): S | undefined;
  put(key: string, value: S): void;
  delete(key: string): void;
  /** Queues an output record; it is written in this batch's transaction. */
  emit<R extends RecordName>(topic: TopicSpec<R>, value: RecordTypes[R]): void;
  /** Wall-clock time, epoch ms (event time comes from the records). */
  now(): number;
}

/** A decoded input record. */
export interface WorkerInput<R extends RecordName> {
  readonly message: IncomingMessage;
  readonly value: RecordTypes[R];
}

/** The declaration of a stateful worker. */
export interface StatefulWorkerDefinition<In extends RecordName, S> {
  /** Consumer group, changelog topic and transactional ids derive from it, e.g. `consumption`. */
  readonly name: string;
  readonly input: TopicSpec<In>;
  /** Every topic the handler may emit to (their schemas are registered at start). */
  readonly outputs: readonly TopicSpec[];
  readonly stateCodec: StateCodec<S>;
  /**
   * Processes one record. Throw a {@link BadInputError} to dead-letter it (its state changes are
   * kept); any other error aborts the batch, which is then processed again.
   */
  handle(record: WorkerInput<In>, ctx: WorkerContext<S>): void | Promise<void>;
  /**
   * Called once per fetched batch of a partition, with every record that decoded, before the
   * first `handle`: the place to look up in bulk what the handler needs (registry rows, keys).
   * A throw aborts the batch, which is processed again.
   */
  beforeBatch?(partition: number, records: readonly WorkerInput<In>[]): Promise<void>;
  /**
   * Called inside the batch's transaction just before it commits: the place for side effects that
   * must happen once per committed batch (e.g. a bulk registry write). A throw aborts the
   * transaction; memory is rolled back and the batch is processed again.
   */
  beforeCommit?(partition: number): Promise<void>;
  /** When the state value of a key wants its timer to fire, epoch ms; undefined for no timer. */
  timerOf?(value: S): number | undefined;
  /** Runs a due timer of `key`; it should put a value whose `timerOf` is later, or none. */
  onTimer?(key: string, ctx: WorkerContext<S>): void | Promise<void>;
}

/** Shared services of the runner. */
export interface StatefulWorkerDeps {
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  readonly catalogue: TopicCatalogue;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * How often due timers are looked for.
   * @default 1000
   */
  readonly timerIntervalMs?: number;
  /** Prefix of the changelog topic name (tests use the catalogue prefix). @default '' */
  readonly prefix?: string;
  /**
   * Input partitions processed at the same time; each partition's own transactions overlap the
   * others' round trips.
   * @default 4
   */
  readonly partitionsConcurrently?: number;
  /**
   * The consumer group session: a member not heard for this long is evicted and its partitions move.
   * The runner keeps heartbeating while a batch (a restore included) takes longer.
   * @default 30000
   */
  readonly sessionTimeoutMs?: number;
  /**
   * Input bytes fetched per partition and request, so at most this much input makes one batch and
   * one transaction. Large batches spread a transaction's fixed round trips, and the changelog
   * write of each key a batch touches, over many records; a fetch asks for this times
   * {@link partitionsConcurrently}.
   * @default 4194304 (4 MiB)
   */
  readonly maxBytesPerPartition?: number;
}

/** Attempts at creating the changelog topic while the broker answers with retriable errors (about 8 s in all). */
const CHANGELOG_ATTEMPTS = 6;

/** {@link StatefulWorkerDeps.partitionsConcurrently} when not given (benchmarks write with as many producers). */
export const DEFAULT_PARTITIONS_CONCURRENTLY = 4;

/** How often a long batch asks for a group heartbeat (kafkajs sends one when its own interval, 3 s, is due). */
const HEARTBEAT_INTERVAL_MS = 1000;

/** {@link StatefulWorkerDeps.maxBytesPerPartition} when not given (benchmarks read with the same fetch). */
export const DEFAULT_MAX_BYTES_PER_PARTITION = 4 * 1024 * 1024;

/** A running worker instance; `stop` is idempotent and safe before `start`. */
export interface StatefulWorker {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Keys held in memory across the partitions this instance owns (for metrics and benchmarks). */
  stateSize(): number;
}

interface OwnedPartition<S> {
  readonly state: PartitionState<S>;
  readonly producer: Producer;
  /**
   * The group's committed input offset, read after this producer fenced the previous owner: the
   * restored state includes every record before it. The consumer may have fetched its position
   * before the previous owner's last commit; records below this are skipped, not applied twice.
   */
  readonly floor: bigint;
  /** Serialises batches and timer runs of one partition. */
  lock: Promise<void>;
  /** Due time → keys, rebuilt from state at restore and kept current at every commit. */
  readonly timers: Map<string, number>;
}

export function createStatefulWorker<In extends RecordName, S>(
  definition: StatefulWorkerDefinition<In, S>,
  deps: StatefulWorkerDeps,
): StatefulWorker {
  const { kafka, codec, catalogue } = deps;
  const now = deps.now ?? Date.now;
  const logger = deps.logger.child({ component: 'worker', worker: definition.name });
  const changelog = changelogTopicName(definition.name, deps.prefix ?? '');
  const groupId = `${deps.prefix ?? ''}${definition.name}`;
  const dlq = catalogue.dlqOf(definition.input);
  const concurrency = deps.partitionsConcurrently ?? DEFAULT_PARTITIONS_CONCURRENTLY;
  const owned = new Map<number, Promise<OwnedPartition<S>>>();
  /** The partitions whose restore finished, for synchronous reads such as {@link StatefulWorker.stateSize}. */
  const ready = new Map<number, OwnedPartition<S>>();
  let consumer: Consumer | undefined;
  /** The group member id of the last assignment. */
  let member: string | undefined;
  /**
   * The input partitions of the last assignment. kafkajs may hand over a batch fetched before a
   * rebalance after it: for a partition that moved, taking it over again would fence its new owner.
   */
  let assigned = new Set<number>();
  let timerLoop: NodeJS.Timeout | undefined;

  /**
   * Creates the changelog topic if missing. Right after topics are created (a first start, a test)
   * the broker may not yet host their partitions and answers with retriable errors: those are
   * retried with backoff before the start fails.
   */
  async function ensureChangelog(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await createChangelog();
      } catch (err) {
        const retriable = typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === true;
        if (!retriable || attempt >= CHANGELOG_ATTEMPTS) throw err;
        logger.warn({ err, attempt }, 'changelog topic not ready; retrying');
        await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** (attempt - 1)));
      }
    }
  }

  async function createChangelog(): Promise<void> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [input] = await admin.describeTopics([definition.input.name]);
      await admin.createTopics([
        {
          name: changelog,
          partitions: input?.partitions ?? definition.input.partitions,
          replicationFactor: 1,
          configs: { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.1', 'segment.ms': '3600000' },
        },
      ]);
    } finally {
      await admin.disconnect();
    }
  }

  /** Takes ownership of a partition: fence any previous owner, then restore its state. */
  function own(partition: number): Promise<OwnedPartition<S>> {
    let entry = owned.get(partition);
    if (!entry) {
      entry = (async () => {
        const producer = kafka.producer({ transactionalId: `${groupId}.${definition.input.name}.${partition}` });
        // Connecting initialises the transactional id: a zombie's open transaction is aborted here,
        // so the changelog read below ends at a stable offset.
        await producer.connect();
        const floor = await committedOffset(partition);
        const restored = await restorePartitions({ kafka, changelog, partitions: [partition], codec: definition.stateCodec, logger });
        const state = restored.get(partition) ?? new PartitionState<S>();
        const timers = new Map<string, number>();
        if (definition.timerOf) {
          for (const [key, value] of state.entries()) {
            const due = definition.timerOf(value);
            if (due !== undefined) timers.set(key, due);
          }
        }
        const part: OwnedPartition<S> = { state, producer, floor, lock: Promise.resolve(), timers };
        ready.set(partition, part);
        return part;
      })();
      entry.catch(() => owned.delete(partition));
      owned.set(partition, entry);
    }
    return entry;
  }

  /** The group's committed offset of an input partition; -1 when it has none. */
  async function committedOffset(partition: number): Promise<bigint> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.groupOffsets(groupId, definition.input.name);
      return BigInt(offsets.find((o) => o.partition === partition)?.offset ?? '-1');
    } finally {
      await admin.disconnect();
    }
  }

  async function release(partition: number): Promise<void> {
    const entry = owned.get(partition);
    owned.delete(partition);
    ready.delete(partition);
    if (!entry) return;
    const part = await entry.catch(() => undefined);
    await part?.lock.catch(() => undefined);
    await part?.producer.disconnect();
  }

  function context(part: OwnedPartition<S>, partition: number, outputs: Map<TopicSpec, unknown[]>): WorkerContext<S> {
    return {
      partition,
      get: (key) => part.state.get(key),
      put: (key, value) => part.state.put(key, value),
      delete: (key) => part.state.delete(key),
      emit: (topic, value) => {
        if (topic !== dlq && !definition.outputs.includes(topic)) {
          throw new TypeError(`${definition.name} did not declare output ${topic.name}`);
        }
        const list = outputs.get(topic) ?? [];
        list.push(value);
        outputs.set(topic, list);
      },
      now,
    };
  }

  function encodeAll(outputs: Map<TopicSpec, unknown[]>): Array<[string, OutgoingMessage[]]> {
    return [...outputs].map(([topic, values]) => [
      topic.name,
      // The handler built these from typed code: checked for types, not searched for stray fields.
      values.map((value) => ({ key: topic.keyOf(value as never), value: codec.encodeOutput(topic.subject, topic.record, value as never) })),
    ]);
  }

  /** Writes outputs, changelog and (optionally) offsets in one transaction, then folds state in. */
  async function commit(part: OwnedPartition<S>, partition: number, outputs: Map<TopicSpec, unknown[]>, offset?: string): Promise<void> {
    const changes = part.state.changes();
    const encoded = encodeAll(outputs);
    if (encoded.length === 0 && changes.length === 0 && offset === undefined) return;
    let tx: Transaction | undefined;
    try {
      tx = await part.producer.transaction();
      for (const [topic, messages] of encoded) await tx.send(topic, messages);
      if (changes.length > 0) {
        await tx.send(
          changelog,
          changes.map(([key, value]) => ({ key, value: value === undefined ? null : definition.stateCodec.encode(value), partition })),
        );
      }
      if (offset !== undefined) {
        await tx.commitOffsetsWith(groupId, [{ topic: definition.input.name, partition, offset }]);
      }
      await definition.beforeCommit?.(partition);
      await tx.commit();
    } catch (err) {
      part.state.rollback();
      await tx?.abort().catch((abortErr: unknown) => logger.warn({ err: abortErr, partition }, 'abort failed'));
      throw err;
    }
    if (definition.timerOf) {
      for (const [key, value] of changes) {
        const due = value === undefined ? undefined : definition.timerOf(value);
        if (due === undefined) part.timers.delete(key);
        else part.timers.set(key, due);
      }
    }
    part.state.commit();
  }

  function locked<T>(part: OwnedPartition<S>, work: () => Promise<T>): Promise<T> {
    const run = part.lock.then(work);
    part.lock = run.then(() => undefined, () => undefined);
    return run;
  }

  /**
   * Processes a batch while keeping the group session alive: taking a partition over restores its
   * state first, and restoring a large changelog, or handling a large batch, can outlast the session
   * timeout. An evicted member's partitions move while it is still working on them, and its next
   * start would be evicted the same way.
   */
  async function processBatch(batch: MessageBatch): Promise<void> {
    const beat = setInterval(() => void batch.heartbeat().catch(() => undefined), HEARTBEAT_INTERVAL_MS);
    try {
      await processOwnedBatch(batch);
    } finally {
      clearInterval(beat);
    }
  }

  async function processOwnedBatch(batch: MessageBatch): Promise<void> {
    if (!assigned.has(batch.partition) || !batch.isActive()) return;
    const part = await own(batch.partition);
    // Never below the floor: committing a lower offset would move the group back over applied records.
    const messages = batch.messages.filter((message) => BigInt(message.offset) >= part.floor);
    if (messages.length < batch.messages.length) {
      logger.info({ partition: batch.partition, skipped: batch.messages.length - messages.length, floor: part.floor.toString() }, 'skipping records the previous owner already applied');
    }
    if (messages.length === 0) return;
    await locked(part, async () => {
      const outputs = new Map<TopicSpec, unknown[]>();
      const ctx = context(part, batch.partition, outputs);
      const deadLetter = (message: IncomingMessage, err: BadInputError) => {
        logger.warn({ partition: message.partition, offset: message.offset, reason: err.reason, err }, 'dead-lettering a record');
        ctx.emit(dlq, deadLetterForMessage(message, err, { stage: definition.name, component: definition.name }));
      };
      const records: WorkerInput<In>[] = [];
      for (const message of messages) {
        try {
          records.push({ message, value: (await codec.decode(definition.input.record, message.value)).value });
        } catch (err) {
          if (!(err instanceof BadInputError)) throw err;
          deadLetter(message, err);
        }
      }
      await definition.beforeBatch?.(batch.partition, records);
      for (const record of records) {
        // A partition revoked mid-batch belongs to another member now; its transaction would be fenced.
        if (!batch.isActive() || !assigned.has(batch.partition)) {
          part.state.rollback();
          return;
        }
        try {
          await definition.handle(record, ctx);
        } catch (err) {
          if (!(err instanceof BadInputError)) {
            part.state.rollback();
            throw err;
          }
          deadLetter(record.message, err);
        }
      }
      const last = messages.at(-1);
      if (last) await commit(part, batch.partition, outputs, (BigInt(last.offset) + 1n).toString());
    });
  }

  async function runDueTimers(): Promise<void> {
    if (!definition.onTimer) return;
    const onTimer = definition.onTimer;
    for (const [partition, entry] of owned) {
      const part = await entry.catch(() => undefined);
      if (!part) continue;
      const t = now();
      const due = [...part.timers].filter(([, at]) => at <= t).map(([key]) => key);
      if (due.length === 0) continue;
      await locked(part, async () => {
        const outputs = new Map<TopicSpec, unknown[]>();
        const ctx = context(part, partition, outputs);
        try {
          for (const key of due) await onTimer(key, ctx);
        } catch (err) {
          // The keys handled before the failure changed state whose outputs are dropped with it.
          part.state.rollback();
          throw err;
        }
        await commit(part, partition, outputs);
      }).catch((err: unknown) => logger.warn({ err, partition }, 'timers failed; they run again on the next tick'));
    }
  }

  return {
    async start() {
      if (consumer) return;
      await ensureChangelog();
      for (const topic of [...definition.outputs, dlq]) await codec.register(topic.subject, topic.record);
      const maxBytesPerPartition = deps.maxBytesPerPartition ?? DEFAULT_MAX_BYTES_PER_PARTITION;
      const created = kafka.consumer({
        groupId,
        maxBytesPerPartition,
        maxBytes: maxBytesPerPartition * Math.max(1, concurrency),
        ...(deps.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: deps.sessionTimeoutMs }),
      });
      consumer = created;
      try {
        await created.connect();
        await created.subscribe([definition.input.name], { fromBeginning: true });
      } catch (err) {
        // Forget the half-started consumer, so a later start() tries again instead of doing nothing.
        consumer = undefined;
        await created.disconnect().catch(() => undefined);
        throw err;
      }
      await created.run({
        eachBatch: processBatch,
        partitionsConcurrently: concurrency,
        onAssigned: (assignment, { memberId }) => {
          const mine = new Set(assignment.find((a) => a.topic === definition.input.name)?.partitions ?? []);
          // A new member id: this instance was out of the group, and another may have owned its
          // partitions meanwhile. State kept from before is stale then; every partition is restored.
          const rejoined = member !== undefined && member !== memberId;
          member = memberId;
          assigned = mine;
          for (const partition of [...owned.keys()]) if (rejoined || !mine.has(partition)) void release(partition);
          // Restore eagerly, so a quiet partition's timers run without waiting for its next record.
          for (const partition of mine) own(partition).catch((err: unknown) => logger.warn({ err, partition }, 'restore failed; retried on the next batch'));
        },
      });
      if (definition.onTimer) {
        timerLoop = setInterval(() => void runDueTimers(), deps.timerIntervalMs ?? 1000);
      }
      logger.info({ input: definition.input.name, changelog }, 'worker started');
    },
    async stop() {
      const current = consumer;
      consumer = undefined;
      if (timerLoop) clearInterval(timerLoop);
      timerLoop = undefined;
      await current?.disconnect();
      await Promise.all([...owned.keys()].map(release));
    },
    stateSize() {
      let size = 0;
      for (const part of ready.values()) size += part.state.size;
      return size;
    },
  };
}
