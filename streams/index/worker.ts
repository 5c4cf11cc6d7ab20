/**
 * The indexing worker: consumers of every indexed topic, each handing whole fetched batches to one
 * shared bulk indexer, and returning what Elasticsearch could not map to the topic's dead-letter
 * topic. The RecordConsumer commits a batch's offsets only after its handler returned, which is
 * after Elasticsearch acknowledged every document of it (or it was dead-lettered).
 */
import type { Client } from '@elastic/elasticsearch';
import { Counter, Registry } from 'prom-client';
import { BadInputError, ConfigError } from '../../core/errors.js';
import type { RegistryCodec } from '../../core/avro/registry-codec.js';
import type { KafkaClient } from '../../core/kafka/client.js';
import { createRecordConsumer, type ConsumedRecord, type RecordConsumer } from '../../core/kafka/record-consumer.js';
import { createRecordProducer } from '../../core/kafka/record-producer.js';
import type { Component } from '../../core/lifecycle.js';
import type { Logger } from '../../core/log.js';
import type { HealthReport } from '../../core/metrics.js';
import type { TopicCatalogue } from '../../core/topics.js';
import { IndexCreator } from './aliases.js';
import { createBulkIndexer, type BulkIndexerOptions, type IndexOperation, type ItemOutcome } from './bulk.js';
import { DOCUMENT_SPECS, INDEX_MAPPING_FAILED, toOperation, type DocumentSpec, type RecordOfIndex } from './documents.js';
import { elasticsearchBulk } from './elasticsearch.js';
import { topicBindings, type TopicBinding } from './families.js';
import { assertIndexNaming, INDEX_TYPES, readAlias, type IndexNaming, type IndexType } from './index-names.js';
import { ensureIndexTemplates } from './templates.js';

/** Bulk limits of the worker; see {@link BulkIndexerOptions} for defaults. */
export type BulkLimits = Pick<
  BulkIndexerOptions,
  'maxBatchDocs' | 'maxBatchBytes' | 'maxInFlight' | 'maxRetries' | 'initialBackoffMs' | 'maxBackoffMs'
>;

/** Options of {@link createIndexWorker}. */
export interface IndexWorkerOptions {
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  /** Where the indexed topics are; tests pass a prefixed one. */
  readonly catalogue: TopicCatalogue;
  /** Created without retries of its own (`createElasticsearchClient`); the worker does not close it. */
  readonly elasticsearch: Client;
  readonly logger: Logger;
  /**
   * Receives `meterflux_index_*` metrics.
   * @default a registry of its own
   */
  readonly registry?: Registry;
  /**
   * Prepended to index, alias and template names.
   * @default ''
   */
  readonly prefix?: string;
  /**
   * Index generation written (`v{N}` in index names). A replay builds N+1 with its own
   * `groupIdPrefix` and `attachReadAliases: false`, then swaps the aliases.
   * @default 1
   */
  readonly generation?: number;
  /**
   * Generation per index type, overriding `generation` for the types it names: the live
   * generations recorded by `replay switch` differ by type when a replay rebuilt only some.
   * @default none
   */
  readonly generations?: Readonly<Partial<Record<IndexType, number>>>;
  /**
   * Prepended to the consumer group ids (`index-{type}`, `index-{type}.{topic}`).
   * @default ''
   */
  readonly groupIdPrefix?: string;
  /**
   * Whether indices this worker creates join their read alias. Off while building a generation
   * that is not live yet.
   * @default true
   */
  readonly attachReadAliases?: boolean;
  /**
   * The index types to consume and write.
   * @default every type in INDEX_TYPES
   */
  readonly types?: readonly IndexType[];
  /**
   * Consumers of the readings topic in this process, all in one group, so batches of different
   * partitions are fetched, decoded and indexed at the same time; the other topics carry far fewer
   * records and have one each. More than the topic's partitions would leave some idle.
   * @default 3
   */
  readonly readingConsumers?: number;
  /** @default the bulk indexer's defaults */
  readonly bulk?: BulkLimits;
}

/** What happened to the documents of one type since the worker was created. */
export interface DocumentCounts {
  /** New documents. */
  readonly created: number;
  /** Documents replaced by a newer revision. */
  readonly updated: number;
  /** Immutable documents that were already there: a replay or a retry. */
  readonly duplicate: number;
  /** Revisions not newer than the indexed one, left as they were. */
  readonly stale: number;
  /** Records that went to the dead-letter topic instead. */
  readonly deadLettered: number;
}

/** The indexing worker, a lifecycle component. `stop` is idempotent and safe before `start`. */
export interface IndexWorker extends Component {
  /** Counts per index type, for tests, benchmarks and health. */
  stats(): Readonly<Record<IndexType, DocumentCounts>>;
  /** Healthy while Elasticsearch answers bulk requests. */
  health(): HealthReport;
}

type Outcome = keyof DocumentCounts;

/**
 * Creates the worker. `start` installs the index templates of its generation, then starts the
 * dead-letter producer and the consumers (one per topic, `readingConsumers` for readings); it
 * throws, having stopped what it started, when a template cannot be installed or a consumer cannot
 * join its group.
 *
 * @throws {ConfigError} at once when the prefix, generation or `readingConsumers` is invalid.
 */
export function createIndexWorker(options: IndexWorkerOptions): IndexWorker {
  const prefix = options.prefix ?? '';
  const namings = Object.fromEntries(
    INDEX_TYPES.map((type) => [type, { prefix, generation: options.generations?.[type] ?? options.generation ?? 1 }]),
  ) as Record<IndexType, IndexNaming>;
  for (const naming of Object.values(namings)) assertIndexNaming(naming);
  const { kafka, codec, catalogue, elasticsearch } = options;
  const logger = options.logger.child({ component: 'index-worker' });
  const registry = options.registry ?? new Registry();
  const types = options.types ?? INDEX_TYPES;
  const readingConsumers = options.readingConsumers ?? 3;
  if (!Number.isSafeInteger(readingConsumers) || readingConsumers < 1) {
    throw new ConfigError([`readingConsumers must be a positive integer, got ${readingConsumers}`]);
  }
  const bindings = topicBindings(catalogue, types, options.groupIdPrefix ?? '');
  const bulk = createBulkIndexer({ ...options.bulk, transport: elasticsearchBulk(elasticsearch), logger, registry });
  const creator = new IndexCreator(elasticsearch, options.attachReadAliases ?? true);
  const producer = createRecordProducer({ kafka, codec, topics: [...new Set(bindings.map((b) => b.dlq))] });
  const documents = new Counter({
    name: 'meterflux_index_documents_total',
    help: 'Records indexed, by index type and outcome (created, updated, duplicate, stale, deadLettered).',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
  });
  const counts = Object.fromEntries(
    INDEX_TYPES.map((type) => [type, { created: 0, updated: 0, duplicate: 0, stale: 0, deadLettered: 0 }]),
  ) as Record<IndexType, Record<Outcome, number>>;
  let consumers: RecordConsumer[] = [];
  let stopping: Promise<void> | undefined;

  function count(type: IndexType, outcome: Outcome, n: number): void {
    if (n === 0) return;
    counts[type][outcome] += n;
    documents.inc({ type, outcome }, n);
  }

  function consumerFor<T extends IndexType>(binding: TopicBinding<T>): RecordConsumer {
    const spec = DOCUMENT_SPECS[binding.type] as DocumentSpec<RecordOfIndex[T]>;
    const naming = namings[binding.type];
    const alias = readAlias(prefix, binding.type);
    return createRecordConsumer({
      kafka,
      codec,
      producer,
      topic: binding.topic,
      dlq: binding.dlq,
      groupId: binding.groupId,
      origin: { stage: 'index', component: binding.groupId },
      logger,
      async handleBatch(records) {
        const refused: Array<{ record: ConsumedRecord<RecordOfIndex[T]>; error: BadInputError }> = [];
        const accepted: Array<ConsumedRecord<RecordOfIndex[T]>> = [];
        const operations: IndexOperation[] = [];
        for (const record of records) {
          try {
            operations.push(toOperation(spec, naming, record.value));
            accepted.push(record);
          } catch (err) {
            if (!(err instanceof BadInputError)) throw err;
            refused.push({ record, error: err });
          }
        }
        await creator.ensure(new Map(operations.map((operation) => [operation.index, alias])));
        const outcomes = await bulk.write(operations);
        const tally: Record<Outcome, number> = { created: 0, updated: 0, duplicate: 0, stale: 0, deadLettered: refused.length };
        outcomes.forEach((outcome, i) => {
          if (outcome.kind === 'rejected') {
            refused.push({ record: accepted[i]!, error: mappingFailure(outcome, operations[i]!, binding.type) });
            tally.deadLettered += 1;
          } else {
            tally[outcome.kind] += 1;
          }
        });
        for (const outcome of Object.keys(tally) as Outcome[]) count(binding.type, outcome, tally[outcome]);
        return refused;
      },
    });
  }

  async function stop(): Promise<void> {
    const running = consumers;
    consumers = [];
    const results = await Promise.allSettled(running.map((consumer) => consumer.stop()));
    await producer.stop();
    const failed = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed.length > 0) throw new AggregateError(failed.map((result) => result.reason as unknown), `${failed.length} consumer(s) failed to stop`);
  }

  return {
    name: 'index-worker',
    async start() {
      for (const generation of new Set(types.map((type) => namings[type].generation))) {
        await ensureIndexTemplates(elasticsearch, { prefix, generation });
      }
      await producer.start();
      consumers = bindings.flatMap((binding) =>
        Array.from({ length: binding.type === 'readings' ? readingConsumers : 1 }, () => consumerFor(binding)),
      );
      const started = await Promise.allSettled(consumers.map((consumer) => consumer.start()));
      const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) {
        await stop().catch((err: unknown) => logger.error({ err }, 'stopping after a failed start failed'));
        throw failed.reason;
      }
      const generations = Object.fromEntries(types.map((type) => [type, namings[type].generation]));
      logger.info({ prefix, generations, topics: bindings.map((b) => b.topic.name) }, 'indexing');
    },
    stop() {
      stopping ??= stop();
      return stopping;
    },
    stats: () => structuredClone(counts),
    health() {
      const elasticsearchHealth = bulk.health();
      return { healthy: elasticsearchHealth.healthy, components: { elasticsearch: elasticsearchHealth } };
    },
  };
}

function mappingFailure(outcome: Extract<ItemOutcome, { kind: 'rejected' }>, operation: IndexOperation, type: IndexType): BadInputError {
  return new BadInputError(
    `Elasticsearch could not index ${type} document ${operation.id} into ${operation.index}: ${outcome.errorType}: ${outcome.reason}`,
    {
      reason: INDEX_MAPPING_FAILED,
      context: { index: operation.index, documentId: operation.id, status: outcome.status, errorType: outcome.errorType },
    },
  );
}
