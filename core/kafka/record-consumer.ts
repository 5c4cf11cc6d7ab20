/**
 * Consumes a catalogue topic as a consumer group, decoding each value with the registry codec.
 * A value that cannot be decoded, or that the handler refuses with a {@link BadInputError}, goes to
 * the topic's dead-letter topic with the reason and the original bytes, and the consumer goes on.
 * Offsets are committed only after the handler finished and every dead letter was acknowledged;
 * a retriable failure commits nothing, so the batch is read again.
 */
import type { Logger } from 'pino';
import type { RecordName } from '../../schemas/avro/index.js';
import type { RecordTypes } from '../../schemas/avro/index.js';
import { BadInputError } from '../errors.js';
import type { RegistryCodec } from '../avro/registry-codec.js';
import type { TopicSpec } from '../topics.js';
import type { Consumer, IncomingMessage, KafkaClient, MessageBatch } from './client.js';
import { deadLetterForMessage, type DeadLetterOrigin } from './dead-letter.js';
import type { RecordProducer } from './record-producer.js';

/** A decoded record with the message it came in. */
export interface ConsumedRecord<R extends RecordName> {
  readonly message: IncomingMessage;
  readonly schemaId: number;
  readonly value: RecordTypes[R];
}

/** Options of {@link createRecordConsumer}. */
export interface RecordConsumerOptions<R extends RecordName> {
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  /** Writes the dead letters; must have been started with `dlq` among its topics. */
  readonly producer: RecordProducer;
  readonly topic: TopicSpec<R>;
  readonly dlq: TopicSpec<'DeadLetter'>;
  readonly groupId: string;
  readonly origin: DeadLetterOrigin;
  readonly logger: Logger;
  /**
   * Called once per decoded record, in partition order. Throw a {@link BadInputError} to
   * dead-letter this record; any other error stops the batch uncommitted so it is retried.
   * Exactly one of `handle` and `handleBatch` is given.
   */
  readonly handle?: (record: ConsumedRecord<R>) => Promise<void>;
  /**
   * Called once per fetched batch (one partition, in order) with every record that decoded, for
   * handlers that write in bulk (Elasticsearch, Kafka batches). Returns the records to dead-letter,
   * each with its {@link BadInputError}; throwing stops the batch uncommitted so it is retried.
   */
  readonly handleBatch?: (records: readonly ConsumedRecord<R>[]) => Promise<ReadonlyArray<{ record: ConsumedRecord<R>; error: BadInputError }>>;
  /**
   * Where a new group starts.
   * @default true
   */
  readonly fromBeginning?: boolean;
}

/** A running consumer; `stop` is idempotent and safe before `start`. */
export interface RecordConsumer {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createRecordConsumer<R extends RecordName>(options: RecordConsumerOptions<R>): RecordConsumer {
  const { kafka, codec, producer, topic, dlq, groupId, origin, handle, handleBatch } = options;
  if ((handle === undefined) === (handleBatch === undefined)) {
    throw new TypeError('createRecordConsumer needs exactly one of handle and handleBatch');
  }
  const logger = options.logger.child({ component: 'consumer', topic: topic.name, groupId });
  let consumer: Consumer | undefined;

  function deadLetter(message: IncomingMessage, err: BadInputError): RecordTypes['DeadLetter'] {
    logger.warn({ partition: message.partition, offset: message.offset, reason: err.reason, err }, 'dead-lettering a record');
    return deadLetterForMessage(message, err, origin);
  }

  async function processBatch(owner: Consumer, batch: MessageBatch): Promise<void> {
    const deadLetters: RecordTypes['DeadLetter'][] = [];
    const decoded: ConsumedRecord<R>[] = [];
    let lastDone: IncomingMessage | undefined;
    for (const message of batch.messages) {
      // A partition revoked mid-batch belongs to another member now: stop and commit what was done.
      if (!batch.isActive()) break;
      try {
        const { value, schemaId } = await codec.decode(topic.record, message.value);
        if (handle) await handle({ message, schemaId, value });
        else decoded.push({ message, schemaId, value });
      } catch (err) {
        if (!(err instanceof BadInputError)) throw err;
        deadLetters.push(deadLetter(message, err));
      }
      lastDone = message;
    }
    if (handleBatch && decoded.length > 0) {
      for (const { record, error } of await handleBatch(decoded)) deadLetters.push(deadLetter(record.message, error));
    }
    // Dead letters first: if they cannot be written, the offsets are not committed.
    if (deadLetters.length > 0) await producer.produce(dlq, deadLetters);
    if (lastDone) {
      const next = (BigInt(lastDone.offset) + 1n).toString();
      await owner.commit([{ topic: batch.topic, partition: batch.partition, offset: next }]);
    }
  }

  return {
    async start() {
      if (consumer) return;
      const created = kafka.consumer({ groupId });
      consumer = created;
      await created.connect();
      await created.subscribe([topic.name], { fromBeginning: options.fromBeginning ?? true });
      await created.run({ eachBatch: (batch) => processBatch(created, batch) });
      logger.info('consuming');
    },
    async stop() {
      const current = consumer;
      consumer = undefined;
      await current?.disconnect();
    },
  };
}
