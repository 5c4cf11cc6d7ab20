/**
 * The indexing process: `tsx streams/index/main.ts`. Reads the environment (see the README's
 * variable table), checks that Kafka, the schema registry, Elasticsearch and PostgreSQL answer,
 * then indexes every record topic and dead-letter topic into Elasticsearch until SIGTERM or SIGINT.
 *
 * Which generation each index type is written to: `INDEX_GENERATION` for all of them when set,
 * else the type's live generation in PostgreSQL `index_generations` (recorded by `replay switch`),
 * else 1. The generations are read at start: restart the worker after a switch.
 *
 * Exports {@link createIndexWorker} for tests and other processes (the replay command) that run the
 * worker in-process with their own catalogue, prefix and generation.
 */
import type { Client } from '@elastic/elasticsearch';
import pg from 'pg';
import { createRegistryCodec } from '../../core/avro/registry-codec.js';
import { loadConfig, redactConfig, type Config } from '../../core/config.js';
import { PreflightError, ServiceUnavailableError } from '../../core/errors.js';
import { createKafkaClient } from '../../core/kafka/client.js';
import { Lifecycle, runUntilSignal, type Component } from '../../core/lifecycle.js';
import { createLogger, type Logger } from '../../core/log.js';
import { createMetricsRegistry, startMetricsServer, type MetricsServer } from '../../core/metrics.js';
import { checkServices } from '../../core/preflight.js';
import { runIfEntryPoint } from '../../core/process-main.js';
import { createTopicCatalogue } from '../../core/topics.js';
import { checkElasticsearch, createElasticsearchClient } from './elasticsearch.js';
import { INDEX_TYPES, type IndexType } from './index-names.js';
import { createIndexWorker } from './worker.js';

export { createIndexWorker } from './worker.js';
export type { IndexWorker, IndexWorkerOptions, DocumentCounts } from './worker.js';

/**
 * Runs the indexing process until a signal stops it.
 *
 * @throws {ConfigError} for an invalid environment, {@link PreflightError} when a dependency does
 *   not answer, or the start or stop error of a component.
 */
export async function main(env: Readonly<Record<string, string | undefined>> = process.env): Promise<void> {
  const config = loadConfig(env);
  const logger = createLogger({ level: config.log.level, name: 'index' });
  logger.info({ config: redactConfig(config) }, 'effective configuration');

  const elasticsearch = createElasticsearchClient({ url: config.elasticsearch.url });
  try {
    await preflight(config, elasticsearch);
  } catch (err) {
    await elasticsearch.close();
    throw err;
  }

  let generations: Partial<Record<IndexType, number>> = {};
  if (config.index.generation === undefined) {
    try {
      generations = await liveGenerations(config.postgres.url, config.index.prefix, logger);
    } catch (err) {
      await elasticsearch.close();
      throw err;
    }
  }
  const registry = createMetricsRegistry();
  const worker = createIndexWorker({
    kafka: createKafkaClient(config.kafka, logger),
    codec: createRegistryCodec(config.schemaRegistry.url),
    catalogue: createTopicCatalogue({ partitions: config.kafka.partitions }),
    elasticsearch,
    logger,
    registry,
    prefix: config.index.prefix,
    generation: config.index.generation ?? 1,
    generations,
    readingConsumers: config.index.readingConsumers,
    bulk: { maxBatchDocs: config.index.bulkMaxDocs, maxBatchBytes: config.index.bulkMaxBytes, maxInFlight: config.index.bulkMaxInFlight },
  });

  let metricsServer: MetricsServer | undefined;
  const lifecycle = new Lifecycle(
    [
      {
        name: 'metrics-server',
        async start() {
          metricsServer = await startMetricsServer({
            port: config.metrics.port,
            registry,
            logger,
            health: () => {
              const report = worker.health();
              const running = lifecycle.state === 'running';
              return { ...report, healthy: running && report.healthy, components: { ...report.components, lifecycle: { healthy: running, detail: lifecycle.state } } };
            },
          });
        },
        stop: async () => metricsServer?.close(),
      },
      // Started before and stopped after the worker, so the client outlives every bulk request.
      { name: 'elasticsearch-client', start: async () => undefined, stop: () => elasticsearch.close() } satisfies Component,
      worker,
    ],
    { logger },
  );
  await runUntilSignal(lifecycle, { logger, graceMs: config.shutdown.graceMs });
}

/**
 * The live generation of each index type under `prefix`, as `replay switch` recorded it in
 * `index_generations` (migration 0009). Types never switched are absent. A database without the
 * table has recorded none.
 */
export async function liveGenerations(databaseUrl: string, prefix: string, logger: Logger): Promise<Partial<Record<IndexType, number>>> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ index_type: string; generation: number }>(
      'SELECT index_type, generation FROM index_generations WHERE index_prefix = $1',
      [prefix],
    );
    const known = rows.filter((row): row is { index_type: IndexType; generation: number } => (INDEX_TYPES as readonly string[]).includes(row.index_type));
    return Object.fromEntries(known.map((row) => [row.index_type, row.generation]));
  } catch (err) {
    if ((err as { code?: string }).code !== '42P01') throw err;
    logger.warn('index_generations does not exist (migration 0009 not applied): every type is written to generation 1');
    return {};
  } finally {
    await client.end();
  }
}

/** Every dependency checked at once, so one message lists all that are missing. */
async function preflight(config: Config, elasticsearch: Client): Promise<void> {
  const checks = await Promise.allSettled([
    checkServices(config, ['kafka', 'schemaRegistry', 'postgres']),
    checkElasticsearch(elasticsearch, config.elasticsearch.url),
  ]);
  const failures: ServiceUnavailableError[] = [];
  for (const check of checks) {
    if (check.status === 'fulfilled') continue;
    const err: unknown = check.reason;
    if (err instanceof PreflightError) failures.push(...err.failures);
    else if (err instanceof ServiceUnavailableError) failures.push(err);
    else throw err;
  }
  if (failures.length > 0) throw new PreflightError(failures);
}

runIfEntryPoint(import.meta.url, () => main());
