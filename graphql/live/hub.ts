/**
 * The Kafka tail behind every subscription of one API instance. One consumer in a group of its
 * own (unique per instance and start, so every instance sees every event and none shares work)
 * reads the live topics from the high watermarks at start; each event is decoded once and offered
 * to the listeners of its stream. A subscriber with a cursor first reads what it missed with a
 * catch-up reader of its own (another fresh group set to the cursor's offsets), while live events
 * from the moment it subscribed wait in its buffer; it then continues live from exactly where the
 * catch-up stopped, so nothing is missed or delivered twice.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { RegistryCodec } from '../../core/avro/registry-codec.js';
import { errorMessage } from '../../core/errors.js';
import type { Consumer, IncomingMessage, KafkaClient } from '../../core/kafka/client.js';
import type { Component } from '../../core/lifecycle.js';
import type { Logger } from '../../core/log.js';
import type { TopicCatalogue, TopicSpec } from '../../core/topics.js';
import type { RecordTypes } from '../../schemas/avro/index.js';
import { decodeCursor, encodeCursor, slot } from './cursor.js';
import { BoundedQueue } from './queue.js';

/** Record of each live stream. */
export interface LiveRecords {
  readonly readings: RecordTypes['Reading'];
  readonly consumption: RecordTypes['Consumption'];
  readonly concentrations: RecordTypes['Concentration'];
  readonly alerts: RecordTypes['Alert'];
  readonly devices: RecordTypes['Device'];
}
export type LiveStream = keyof LiveRecords;

/** One event of a stream, with the cursor right after it. */
export interface LiveEvent<S extends LiveStream = LiveStream> {
  readonly stream: S;
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly value: LiveRecords[S];
  /** Resubscribe with this to receive what follows this event. */
  readonly cursor: string;
}

/** What a subscriber's iterator yields: events, or once, the overflow marker before it ends. */
export type LiveItem<S extends LiveStream> = LiveEvent<S> | typeof OVERFLOW;

/** Yielded once, last, by a subscriber that fell `bufferSize` events behind. */
export const OVERFLOW: unique symbol = Symbol('live subscriber overflow');

/** Options of {@link LiveHub.events}. */
export interface EventsOptions<S extends LiveStream> {
  /** Keeps an event for this subscriber; must not throw. */
  readonly accept: (value: LiveRecords[S]) => boolean;
  /** A cursor from an earlier event of the same stream; absent for live events only. */
  readonly after?: string;
  /** Ends the iterator. */
  readonly signal: AbortSignal;
  /** Events that may wait before {@link OVERFLOW}. */
  readonly bufferSize: number;
}

/** The shared tail; a lifecycle component. */
export interface LiveHub extends Component {
  /**
   * The accepted events of `stream`, live, or from `after` when given.
   *
   * @throws GraphQLError `BAD_USER_INPUT` for a cursor that is not one of this stream.
   */
  events<S extends LiveStream>(stream: S, options: EventsOptions<S>): AsyncIterableIterator<LiveItem<S>>;
  /** Subscribers currently attached (for metrics and tests). */
  subscribers(): number;
}

/** Options of {@link createLiveHub}. */
export interface LiveHubOptions {
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  readonly catalogue: TopicCatalogue;
  readonly logger: Logger;
  /** Prefix of the hub's consumer group names, e.g. `meterflux-api`. */
  readonly groupPrefix: string;
}

interface Listener<S extends LiveStream = LiveStream> {
  readonly accept: (value: LiveRecords[S]) => boolean;
  readonly queue: BoundedQueue<LiveItem<S>>;
  /** Live events held while the catch-up runs; undefined once live. */
  pending: Array<LiveEvent<S>> | undefined;
  /** Per slot, the first offset still to deliver (a cursor ahead of this instance's tail). */
  readonly floor: Map<string, bigint>;
}

interface StreamState {
  readonly topics: readonly TopicSpec[];
  /** Next offset per slot, as far as the tail has read. */
  readonly positions: Map<string, bigint>;
  readonly listeners: Set<Listener>;
}

/** Creates the hub; nothing connects until `start`. */
export function createLiveHub(options: LiveHubOptions): LiveHub {
  const { kafka, codec, catalogue } = options;
  const logger = options.logger.child({ component: 'live-hub' });
  const c = catalogue;
  const streams: Record<LiveStream, StreamState> = {
    readings: state([c.readings]),
    consumption: state([c.consumptionDaily, c.consumptionMonthly]),
    concentrations: state([c.concentrationHourly, c.concentrationDaily]),
    alerts: state([c.alerts]),
    devices: state([c.devices]),
  };
  const byTopic = new Map<string, { stream: LiveStream; index: number }>();
  for (const [stream, s] of Object.entries(streams) as Array<[LiveStream, StreamState]>) {
    s.topics.forEach((topic, index) => byTopic.set(topic.name, { stream, index }));
  }
  const instance = `${options.groupPrefix}-${hostname()}-${randomBytes(4).toString('hex')}`;
  let consumer: Consumer | undefined;
  let catchUps = 0;
  const groups: string[] = [];

  function state(topics: readonly TopicSpec[]): StreamState {
    return { topics, positions: new Map(), listeners: new Set() };
  }

  async function setGroupTo(group: string, topics: readonly TopicSpec[], at: (index: number, partition: number, high: bigint) => bigint): Promise<Map<string, bigint>> {
    const admin = kafka.admin();
    await admin.connect();
    const chosen = new Map<string, bigint>();
    try {
      for (const [index, topic] of topics.entries()) {
        const offsets = await admin.topicOffsets(topic.name);
        const wanted = offsets.map((o) => {
          const offset = at(index, o.partition, BigInt(o.high));
          const clamped = offset < BigInt(o.low) ? BigInt(o.low) : offset > BigInt(o.high) ? BigInt(o.high) : offset;
          chosen.set(slot(index, o.partition), clamped);
          return { partition: o.partition, offset: clamped.toString() };
        });
        await admin.setGroupOffsets(group, topic.name, wanted);
      }
    } finally {
      await admin.disconnect();
    }
    return chosen;
  }

  async function decode<S extends LiveStream>(stream: S, topic: TopicSpec, message: IncomingMessage): Promise<LiveRecords[S] | undefined> {
    try {
      return (await codec.decode(topic.record, message.value)).value as LiveRecords[S];
    } catch (err) {
      // The indexing worker sends such records to the DLQ; a subscription only skips them.
      logger.warn({ err, topic: message.topic, partition: message.partition, offset: message.offset, stream }, 'skipping an undecodable record');
      return undefined;
    }
  }

  function cursorOf(stream: LiveStream, positions: ReadonlyMap<string, bigint>, floor?: ReadonlyMap<string, bigint>): string {
    if (!floor || floor.size === 0) return encodeCursor(stream, positions);
    const merged = new Map(positions);
    for (const [key, offset] of floor) if ((merged.get(key) ?? -1n) < offset) merged.set(key, offset);
    return encodeCursor(stream, merged);
  }

  function offer<S extends LiveStream>(listener: Listener<S>, event: LiveEvent<S>): void {
    if (listener.queue.ended) return;
    if (!listener.queue.push(event)) {
      listener.queue.clear();
      listener.queue.finish(OVERFLOW);
    }
  }

  async function dispatch(message: IncomingMessage): Promise<void> {
    const where = byTopic.get(message.topic);
    if (!where) return;
    const s = streams[where.stream];
    const key = slot(where.index, message.partition);
    const offset = BigInt(message.offset);
    const value = s.listeners.size > 0 ? await decode(where.stream, s.topics[where.index]!, message) : undefined;
    // Decoding awaits; positions move only after it, in message order per partition.
    s.positions.set(key, offset + 1n);
    if (value === undefined) return;
    let shared: string | undefined;
    for (const listener of s.listeners) {
      if (listener.queue.ended) continue;
      const floor = listener.floor.get(key);
      if (floor !== undefined && offset < floor) continue;
      if (!listener.accept(value)) continue;
      const cursor = listener.floor.size > 0 ? cursorOf(where.stream, s.positions, listener.floor) : (shared ??= cursorOf(where.stream, s.positions));
      const event: LiveEvent = { stream: where.stream, topic: message.topic, partition: message.partition, offset, value, cursor };
      if (listener.pending) {
        if (listener.pending.length + listener.queue.size >= capacityOf(listener)) {
          listener.pending = undefined;
          listener.queue.clear();
          listener.queue.finish(OVERFLOW);
          continue;
        }
        listener.pending.push(event);
      } else {
        offer(listener, event);
      }
    }
  }

  const capacities = new WeakMap<Listener, number>();
  const capacityOf = (listener: Listener): number => capacities.get(listener) ?? 1;

  /**
   * Reads `stream` from `from` up to `to` (exclusive, per slot) with a fresh group, offering
   * accepted events to `listener`; resolves when every slot reached `to`.
   */
  async function catchUp<S extends LiveStream>(stream: S, listener: Listener<S>, from: Map<string, bigint>, to: Map<string, bigint>, signal: AbortSignal): Promise<void> {
    const s = streams[stream];
    const remaining = new Map<string, bigint>();
    for (const [key, end] of to) if ((from.get(key) ?? end) < end) remaining.set(key, end);
    if (remaining.size === 0) return;
    const group = `${instance}-catchup-${(catchUps += 1)}`;
    const topics = s.topics.filter((_, index) => [...remaining.keys()].some((key) => key.startsWith(`${index}:`)));
    await setGroupTo(group, s.topics, (index, partition, high) => from.get(slot(index, partition)) ?? to.get(slot(index, partition)) ?? high);
    const position = new Map(to);
    for (const [key, offset] of from) if (remaining.has(key)) position.set(key, offset);
    const reader = kafka.consumer({ groupId: group, readCommitted: true });
    await reader.connect();
    try {
      await reader.subscribe(topics.map((t) => t.name), { fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const finishSlot = (key: string): void => {
          if (remaining.delete(key) && remaining.size === 0) resolve();
        };
        signal.addEventListener('abort', () => resolve(), { once: true });
        reader
          .run({
            eachBatch: async (batch) => {
              const where = byTopic.get(batch.topic);
              if (!where) return;
              const key = slot(where.index, batch.partition);
              const end = remaining.get(key);
              if (end === undefined) return;
              for (const message of batch.messages) {
                const offset = BigInt(message.offset);
                if (offset >= end) break;
                const value = await decode(stream, s.topics[where.index]!, message);
                position.set(key, offset + 1n);
                if (value !== undefined && listener.accept(value)) {
                  offer(listener, { stream, topic: message.topic, partition: message.partition, offset, value, cursor: cursorOf(stream, position) });
                }
                if (offset + 1n >= end) break;
              }
              if ((position.get(key) ?? 0n) >= end) finishSlot(key);
            },
            // Transaction markers can sit where the tail started; lag 0 means nothing more to read.
            onBatchEnd: ({ topic, partition, offsetLag }) => {
              const where = byTopic.get(topic);
              if (where && offsetLag === 0n) finishSlot(slot(where.index, partition));
            },
          })
          .catch(reject);
      });
    } finally {
      await reader.disconnect().catch((err: unknown) => logger.warn({ err, group }, 'catch-up reader did not disconnect cleanly'));
      // The group served this catch-up only; its committed offsets would otherwise linger for days.
      const admin = kafka.admin();
      await admin
        .connect()
        .then(() => admin.deleteGroups([group]))
        .catch((err: unknown) => logger.debug({ err, group }, 'could not delete a catch-up group'))
        .finally(() => admin.disconnect().catch(() => undefined));
    }
  }

  return {
    name: 'live-hub',
    async start() {
      const group = `${instance}-tail`;
      groups.push(group);
      const all = Object.values(streams).flatMap((s) => s.topics);
      for (const s of Object.values(streams)) {
        const chosen = await setGroupTo(group, s.topics, (_index, _partition, high) => high);
        for (const [key, offset] of chosen) s.positions.set(key, offset);
      }
      const tail = kafka.consumer({ groupId: group, readCommitted: true });
      await tail.connect();
      await tail.subscribe(all.map((t) => t.name), { fromBeginning: true });
      consumer = tail;
      await new Promise<void>((resolve, reject) => {
        let assigned = false;
        void tail
          .run({
            eachBatch: async (batch) => {
              for (const message of batch.messages) await dispatch(message);
            },
            onAssigned: () => {
              if (!assigned) {
                assigned = true;
                resolve();
              }
            },
          })
          .catch((err: unknown) => {
            logger.error({ err }, 'live tail stopped');
            reject(err instanceof Error ? err : new Error(errorMessage(err)));
          });
      });
      logger.info({ group, topics: all.length }, 'live tail running');
    },

    async stop() {
      for (const s of Object.values(streams)) {
        for (const listener of s.listeners) listener.queue.finish();
        s.listeners.clear();
      }
      await consumer?.disconnect();
      consumer = undefined;
      const admin = kafka.admin();
      await admin.connect();
      try {
        await admin.deleteGroups(groups.splice(0)).catch((err: unknown) => logger.debug({ err }, 'could not delete the hub groups'));
      } finally {
        await admin.disconnect();
      }
    },

    events<S extends LiveStream>(stream: S, opts: EventsOptions<S>): AsyncIterableIterator<LiveItem<S>> {
      const s = streams[stream] as unknown as StreamState;
      const from = opts.after === undefined ? undefined : decodeCursor(stream, s.topics.length, opts.after);
      const queue: BoundedQueue<LiveItem<S>> = new BoundedQueue(opts.bufferSize, () => s.listeners.delete(untyped));
      const listener: Listener<S> = {
        accept: opts.accept,
        queue,
        pending: from === undefined ? undefined : [],
        floor: new Map(),
      };
      const untyped = listener as unknown as Listener;
      capacities.set(untyped, opts.bufferSize);
      // Registered and snapshotted in one synchronous step: every event past `to` reaches `pending`.
      s.listeners.add(untyped);
      const to = new Map(s.positions);
      opts.signal.addEventListener('abort', () => void queue.return(), { once: true });
      if (from !== undefined) {
        for (const [key, offset] of from) if (offset > (to.get(key) ?? 0n)) listener.floor.set(key, offset);
        catchUp(stream, listener, from, to, opts.signal)
          .then(() => {
            const held = listener.pending ?? [];
            listener.pending = undefined;
            for (const event of held) offer(listener, event);
          })
          .catch((err: unknown) => {
            logger.error({ err, stream }, 'catch-up failed');
            s.listeners.delete(untyped);
            queue.fail(err);
          });
      }
      return queue;
    },

    subscribers: () => Object.values(streams).reduce((n, s) => n + s.listeners.size, 0),
  };
}
