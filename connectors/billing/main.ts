/**
 * The billing connector process: `tsx connectors/billing/main.ts`. Reads the environment (the
 * README's variable table, `BILLING_*` among them), checks that Kafka, the schema registry,
 * PostgreSQL and Redis answer, then consumes `consumption.monthly.v1`, exports batches to the
 * directory or bucket, and serves the pull API on `BILLING_HTTP_PORT`, until SIGTERM or SIGINT.
 *
 * Start order: PostgreSQL and Redis, the sink (producer, consumer, exporter), the pull API, the
 * metrics server; stopped in reverse.
 */
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createRegistryCodec } from '../../core/avro/registry-codec.js';
import { loadConfig, redactConfig, type Config } from '../../core/config.js';
import { ConfigError, errorMessage } from '../../core/errors.js';
import { createKafkaClient } from '../../core/kafka/client.js';
import { Lifecycle, runUntilSignal } from '../../core/lifecycle.js';
import { createLogger } from '../../core/log.js';
import { createMetricsRegistry, startMetricsServer, type MetricsServer } from '../../core/metrics.js';
import { checkServices } from '../../core/preflight.js';
import { createTopicCatalogue } from '../../core/topics.js';
import { createTokenLookup } from '../http/auth.js';
import { startPullApi, type PullApi } from './api.js';
import { createDirectoryDestination, createS3Destination, type Destination } from './destination.js';
import { createBillingSink } from './sink.js';

/**
 * The destination the configuration names: the S3 bucket when `BILLING_S3_URL` is set, else the directory.
 * @throws {ConfigError} when the bucket is set without its credentials.
 */
export function destinationOf(billing: Config['billing']): Destination {
  if (billing.s3Url === undefined) return createDirectoryDestination(billing.exportDir);
  const missing = [
    ...(billing.s3AccessKeyId === undefined ? ['BILLING_S3_URL is set, so BILLING_S3_ACCESS_KEY_ID must be set'] : []),
    ...(billing.s3SecretAccessKey === undefined ? ['BILLING_S3_URL is set, so BILLING_S3_SECRET_ACCESS_KEY must be set'] : []),
  ];
  if (missing.length > 0) throw new ConfigError(missing);
  return createS3Destination({
    url: billing.s3Url,
    credentials: { accessKeyId: billing.s3AccessKeyId!, secretAccessKey: billing.s3SecretAccessKey!, region: billing.s3Region },
  });
}

/** Runs the billing connector until a signal stops it. */
export async function main(env: Readonly<Record<string, string | undefined>> = process.env): Promise<void> {
  const config = loadConfig(env);
  const logger = createLogger({ level: config.log.level, name: 'billing' });
  logger.info({ config: redactConfig(config) }, 'effective configuration');
  const destination = destinationOf(config.billing);
  await checkServices(config, ['kafka', 'schemaRegistry', 'postgres', 'redis']);

  const metrics = createMetricsRegistry();
  const pool = new pg.Pool({ connectionString: config.postgres.url, max: 4, connectionTimeoutMillis: 5_000 });
  pool.on('error', (err) => logger.warn({ err }, 'PostgreSQL connection lost; the pool reconnects on demand'));
  const redis = new Redis(config.redis.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2_000 });
  redis.on('error', (err) => logger.debug({ err }, 'Redis connection error'));
  const sink = createBillingSink({
    kafka: createKafkaClient(config.kafka, logger),
    codec: createRegistryCodec(config.schemaRegistry.url),
    catalogue: createTopicCatalogue({ partitions: config.kafka.partitions }),
    pool,
    destination,
    encoding: config.billing.encoding,
    settleMs: config.billing.settleMs,
    rescanMs: config.billing.rescanMs,
    intervalMs: config.billing.exportIntervalMs,
    logger,
    metrics,
  });
  let api: PullApi | undefined;
  let metricsServer: MetricsServer | undefined;
  const lifecycle = new Lifecycle(
    [
      { name: 'postgres', start: async () => (await pool.connect()).release(), stop: () => pool.end() },
      { name: 'redis', start: () => redis.connect(), stop: async () => void (await redis.quit()) },
      { name: 'billing-sink', start: () => sink.start(), stop: () => sink.stop() },
      {
        name: 'pull-api',
        start: async () => {
          api = await startPullApi({
            port: config.billing.httpPort,
            pool,
            tokens: createTokenLookup({ pool, redis, keyPrefix: 'meterflux:billing:', cacheTtlMs: 30_000, logger }),
            logger,
          });
        },
        stop: async () => api?.close(),
      },
      {
        name: 'metrics',
        start: async () => {
          metricsServer = await startMetricsServer({
            port: config.metrics.port, registry: metrics, logger,
            health: () => {
              const health = sink.health();
              return { healthy: health.healthy, components: { billing: health } };
            },
          });
          logger.info({ pullApiPort: api?.port, metricsPort: metricsServer.port, destination: destination.description }, 'billing connector running');
        },
        stop: async () => metricsServer?.close(),
      },
    ],
    { logger },
  );
  await runUntilSignal(lifecycle, { logger, graceMs: config.shutdown.graceMs });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`billing connector failed to start: ${errorMessage(err)}\n`);
    process.exit(1);
  });
}
