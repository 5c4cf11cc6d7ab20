/**
 * Produces catalogue records: validates each value against its record schema (refusing a bad one
 * with its field paths before anything reaches Kafka), encodes it in the Confluent wire format,
 * keys it as the catalogue says, and resolves only once Kafka acknowledged the write (acks=all,
 * idempotent producer). Connectors acknowledge their devices after this resolves, never before.
 */
import type { RecordName } from '../../schemas/avro/index.js';
import type { RecordTypes } from '../../schemas/avro/index.js';
import { SchemaValidationError } from '../errors.js';
import type { RegistryCodec } from '../avro/registry-codec.js';
import type { TopicSpec } from '../topics.js';
import type { KafkaClient, OutgoingMessage, Producer, WriteResult } from './client.js';

/** Per-record extras: headers and the record timestamp (event time), epoch ms. */
export interface ProduceOptions {
  readonly headers?: Readonly<Record<string, string | Buffer>>;
  readonly timestampMs?: (value: unknown) => number | undefined;
}

/** Writes validated, registry-encoded records to catalogue topics. */
export interface RecordProducer {
  /** Connects and registers the value schema of every topic it will write. */
  start(): Promise<void>;
  /**
   * Validates and encodes every value first (a {@link SchemaValidationError} names the record index
   * and field paths, and nothing is written), then writes them in one batch.
   */
  produce<R extends RecordName>(topic: TopicSpec<R>, values: readonly RecordTypes[R][], options?: ProduceOptions): Promise<WriteResult[]>;
  /** Writes messages made by {@link encode}; resolves once Kafka acknowledged them. */
  send(topic: TopicSpec, messages: readonly OutgoingMessage[]): Promise<WriteResult[]>;
  /**
   * Validates and encodes without writing, for writers that batch or use their own transaction.
   * Throws like {@link produce}.
   */
  encode<R extends RecordName>(topic: TopicSpec<R>, values: readonly RecordTypes[R][]): OutgoingMessage[];
  /** Disconnects; idempotent and safe before start. */
  stop(): Promise<void>;
}

/** Options of {@link createRecordProducer}. */
export interface RecordProducerOptions {
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  /** Topics this producer writes; their schemas are registered at start. */
  readonly topics: readonly TopicSpec[];
}

export function createRecordProducer({ kafka, codec, topics }: RecordProducerOptions): RecordProducer {
  let producer: Producer | undefined;

  function encode<R extends RecordName>(topic: TopicSpec<R>, values: readonly RecordTypes[R][]): OutgoingMessage[] {
    return values.map((value, index) => {
      try {
        return { key: topic.keyOf(value), value: codec.encode(topic.subject, topic.record, value) };
      } catch (err) {
        if (err instanceof SchemaValidationError && values.length > 1) {
          throw new SchemaValidationError(err.issues, {
            record: `${topic.record} #${index}`,
            context: { ...err.context, topic: topic.name, index },
          });
        }
        throw err;
      }
    });
  }

  return {
    async start() {
      if (producer) return;
      for (const topic of topics) await codec.register(topic.subject, topic.record);
      const created = kafka.producer();
      await created.connect();
      producer = created;
    },
    async produce(topic, values, options = {}) {
      if (!producer) throw new Error('RecordProducer.produce() called before start()');
      const messages = encode(topic, values).map((message, i) => ({
        ...message,
        ...(options.headers ? { headers: options.headers } : {}),
        ...(options.timestampMs ? { timestampMs: options.timestampMs(values[i]) } : {}),
      }));
      return producer.send(topic.name, messages);
    },
    encode,
    async send(topic, messages) {
      if (!producer) throw new Error('RecordProducer.send() called before start()');
      return producer.send(topic.name, messages);
    },
    async stop() {
      const current = producer;
      producer = undefined;
      await current?.disconnect();
    },
  };
}
