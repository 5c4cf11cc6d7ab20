/**
 * The API process: `tsx graphql/main.ts`. Reads the environment (see the README's variable table),
 * checks that PostgreSQL, Elasticsearch, Kafka and the schema registry answer, then serves GraphQL
 * over HTTP and WebSocket on `API_PORT` at `/graphql` until SIGTERM or SIGINT.
 *
 * Exports {@link createApiProcess} for tests and benchmarks that run the API in-process with their
 * own topic prefix, index prefix, database and port.
 */
import { Client as ElasticsearchClient } from '@elastic/elasticsearch';
import pg from 'pg';
import type { Registry } from 'prom-client';
import { createRegistryCodec, type RegistryCodec } from '../core/avro/registry-codec.js';
import type { Config } from '../core/config.js';
import { createKafkaClient, type KafkaClient } from '../core/kafka/client.js';
import { createRecordProducer } from '../core/kafka/record-producer.js';
import type { Component } from '../core/lifecycle.js';
import type { Logger } from '../core/log.js';
import { createMetricsRegistry } from '../core/metrics.js';
import { runIfEntryPoint, runProcess } from '../core/process-main.js';
import { createTopicCatalogue, type TopicCatalogue } from '../core/topics.js';
import { indexNames } from './elasticsearch/indices.js';
import { createLiveHub } from './live/hub.js';
import type { ApiServices } from './server/context.js';
import { createApiMetrics } from './server/metrics.js';
import type { ApiModule } from './server/module.js';
import { createApiServer, type ApiServer } from './server/server.js';

/** Options of {@link createApiProcess}. */
export interface ApiProcessOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** @default a fresh registry with the default process metrics */
  readonly metrics?: Registry;
  /** @default the catalogue of `config.kafka.partitions`, unprefixed */
  readonly catalogue?: TopicCatalogue;
  /** Prefix of the Elasticsearch aliases read. @default config.index.prefix (`INDEX_PREFIX`) */
  readonly indexPrefix?: string;
  /** @default config.api.port */
  readonly port?: number;
  /** @default the clients made from `config` */
  readonly kafka?: KafkaClient;
  readonly codec?: RegistryCodec;
  /** @default the modules of server/modules.ts */
  readonly modules?: readonly ApiModule[];
  /** @default 1000 */
  readonly subscriberBuffer?: number;
}

/** The API as components: start them in order, stop in reverse (a {@link Lifecycle} does both). */
export interface ApiProcess {
  readonly services: ApiServices;
  readonly server: ApiServer;
  /** Clients, producer, live hub, then the server. */
  readonly components: readonly Component[];
}

/** Builds the API's services and server; nothing connects until the components start. */
export function createApiProcess(options: ApiProcessOptions): ApiProcess {
  const { config, logger } = options;
  const catalogue = options.catalogue ?? createTopicCatalogue({ partitions: config.kafka.partitions });
  const kafka = options.kafka ?? createKafkaClient(config.kafka, logger);
  const codec = options.codec ?? createRegistryCodec(config.schemaRegistry.url);
  const metrics = options.metrics ?? createMetricsRegistry();
  const operationTimeoutMs = 15_000;
  const postgres = new pg.Pool({
    connectionString: config.postgres.url,
    max: 20,
    // A query can never outlive the operation that asked for it.
    statement_timeout: operationTimeoutMs,
    query_timeout: operationTimeoutMs + 1_000,
  });
  postgres.on('error', (err) => logger.warn({ err }, 'idle PostgreSQL connection failed'));
  const elasticsearch = new ElasticsearchClient({ node: config.elasticsearch.url, maxRetries: 1, requestTimeout: operationTimeoutMs });
  const producer = createRecordProducer({ kafka, codec, topics: [catalogue.alerts, catalogue.devices, catalogue.rawUplinks] });
  const live = createLiveHub({ kafka, codec, catalogue, logger, groupPrefix: `${config.kafka.clientId}-api` });
  const services: ApiServices = {
    config,
    logger,
    postgres,
    elasticsearch,
    indices: indexNames(options.indexPrefix ?? config.index.prefix),
    kafka,
    codec,
    catalogue,
    producer,
    metrics,
    live,
  };
  createApiMetrics(services);
  const server = createApiServer({
    services,
    port: options.port ?? config.api.port,
    operationTimeoutMs,
    ...(options.modules ? { modules: options.modules } : {}),
    ...(options.subscriberBuffer ? { subscriberBuffer: options.subscriberBuffer } : {}),
  });
  const clients: Component = {
    name: 'api-clients',
    start: async () => undefined,
    async stop() {
      await Promise.allSettled([postgres.end(), elasticsearch.close()]);
    },
  };
  const producerComponent: Component = { name: 'api-producer', start: () => producer.start(), stop: () => producer.stop() };
  return { services, server, components: [clients, producerComponent, live, server] };
}

/**
 * Runs the API process until a signal stops it.
 *
 * @throws {ConfigError} for an invalid environment, {@link PreflightError} when a dependency does
 *   not answer, or the start or stop error of a component.
 */
export async function main(env: Readonly<Record<string, string | undefined>> = process.env): Promise<void> {
  await runProcess(
    {
      name: 'api',
      needs: ['kafka', 'schemaRegistry', 'elasticsearch', 'postgres'],
      components: ({ config, logger, metrics }) => createApiProcess({ config, logger, metrics }).components,
    },
    env,
  );
}

runIfEntryPoint(import.meta.url, () => main());
