/**
 * The decode process: `tsx streams/decode/main.ts`. Reads the environment (the README's variable
 * table), checks that Kafka, the schema registry, PostgreSQL and Redis answer, then decodes
 * `uplink.raw.v1` until SIGTERM or SIGINT, serving `/metrics` and `/healthz` on `METRICS_PORT`.
 *
 * Exports {@link createDecodeProcess} for tests and tools that run decode in-process with their own
 * catalogue and prefix.
 */
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Gauge, type Registry } from 'prom-client';
import { createRegistryCodec } from '../../core/avro/registry-codec.js';
import { loadConfig, redactConfig, type Config } from '../../core/config.js';
import { errorMessage } from '../../core/errors.js';
import { createKafkaClient } from '../../core/kafka/client.js';
import { Lifecycle, runUntilSignal, type Component } from '../../core/lifecycle.js';
import { createLogger, type Logger } from '../../core/log.js';
import { createMetricsRegistry, startMetricsServer, type MetricsServer } from '../../core/metrics.js';
import { checkServices } from '../../core/preflight.js';
import { createTopicCatalogue, type TopicCatalogue } from '../../core/topics.js';
import type { StatefulWorker } from '../runtime/stateful-worker.js';
import { createCacheInvalidator } from './cache-invalidator.js';
import { createTs013Runner, type Ts013SandboxOptions } from './decoders/index.js';
import { createDeviceKeyCache } from './device-key-cache.js';
import type { DecodeOptions } from './handler.js';
import { createDecodeMetrics } from './metrics.js';
import { createProfileSource } from './profiles.js';
import { createRegistry } from './registry.js';
import { createRegistryCache } from './registry-cache.js';
import { createDecodeWorker } from './worker.js';

export type { DecodeOptions } from './handler.js';

/** Options of {@link createDecodeProcess}. */
export interface DecodeProcessOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly catalogue: TopicCatalogue;
  /** Where the decode metrics are registered. */
  readonly metrics: Registry;
  /**
   * Prefix of the consumer groups, the changelog and the Redis keys (tests use the catalogue prefix).
   * @default ''
   */
  readonly prefix?: string;
  /** The decode rules; every one has a default. */
  readonly options?: DecodeOptions;
  /** Limits of the TS013 codec sandbox (its defaults: 1000 ms, 64 MB, 2 workers). */
  readonly sandbox?: Ts013SandboxOptions;
}

/** The decode process's parts. */
export interface DecodeProcess {
  /** In start order: PostgreSQL, Redis, the TS013 sandbox, the cache invalidator, the worker. */
  readonly components: readonly Component[];
  readonly worker: StatefulWorker;
}

/** Builds the decode process's components; nothing connects until they are started. */
export function createDecodeProcess(options: DecodeProcessOptions): DecodeProcess {
  const { config, logger, catalogue } = options;
  const prefix = options.prefix ?? '';
  const pool = new pg.Pool({ connectionString: config.postgres.url, max: 4, connectionTimeoutMillis: 5_000 });
  pool.on('error', (err) => logger.warn({ err }, 'PostgreSQL connection lost; the pool reconnects on demand'));
  const redis = new Redis(config.redis.url, {
    lazyConnect: true,
    // Fail fast while disconnected: the cache then falls back to PostgreSQL instead of queueing.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 2_000,
  });
  redis.on('error', (err) => logger.debug({ err }, 'Redis connection error'));

  const kafka = createKafkaClient(config.kafka, logger);
  const codec = createRegistryCodec(config.schemaRegistry.url);
  const cache = createRegistryCache({ db: pool, redis, logger, keyPrefix: `${prefix}meterflux:registry:device:` });
  const ts013 = createTs013Runner(options.sandbox);
  const worker = createDecodeWorker({
    kafka,
    codec,
    catalogue,
    logger,
    prefix,
    registry: createRegistry({ db: pool, cache, logger }),
    keys: createDeviceKeyCache({ db: pool, masterKey: config.deviceKeys.encryptionKey, logger }),
    profiles: createProfileSource({ db: pool }),
    ts013,
    metrics: createDecodeMetrics(options.metrics),
    ...(options.options === undefined ? {} : { options: options.options }),
  });
  new Gauge({
    name: 'meterflux_decode_state_keys',
    help: 'Keys in the decode state of the partitions this process owns (devices and their idempotency-key days).',
    registers: [options.metrics],
    collect() {
      this.set(worker.stateSize());
    },
  });

  return {
    worker,
    components: [
      {
        name: 'postgres',
        start: async () => (await pool.connect()).release(),
        stop: () => pool.end(),
      },
      { name: 'redis', start: () => redis.connect(), stop: async () => void (await redis.quit()) },
      { name: 'ts013-sandbox', start: async () => undefined, stop: () => ts013.close() },
      createCacheInvalidator({ kafka, codec, devices: catalogue.devices, cache, logger, prefix }),
      { name: 'decode-worker', start: () => worker.start(), stop: () => worker.stop() },
    ],
  };
}

/**
 * Runs the decode process until a signal stops it.
 *
 * @throws {ConfigError} for an invalid environment, {@link PreflightError} when a dependency does
 *   not answer, or the start or stop error of a component.
 */
export async function main(env: Readonly<Record<string, string | undefined>> = process.env): Promise<void> {
  const config = loadConfig(env);
  const logger = createLogger({ level: config.log.level, name: 'decode' });
  logger.info({ config: redactConfig(config) }, 'effective configuration');
  await checkServices(config, ['kafka', 'schemaRegistry', 'postgres', 'redis']);

  const registry = createMetricsRegistry();
  const decode = createDecodeProcess({
    config,
    logger,
    catalogue: createTopicCatalogue({ partitions: config.kafka.partitions }),
    metrics: registry,
  });
  let metricsServer: MetricsServer | undefined;
  const lifecycle: Lifecycle = new Lifecycle(
    [
      {
        name: 'metrics-server',
        async start() {
          metricsServer = await startMetricsServer({
            port: config.metrics.port,
            registry,
            logger,
            health: () => {
              const running = lifecycle.state === 'running';
              return { healthy: running, components: { lifecycle: { healthy: running, detail: lifecycle.state } } };
            },
          });
        },
        stop: async () => metricsServer?.close(),
      },
      ...decode.components,
    ],
    { logger },
  );
  await runUntilSignal(lifecycle, { logger, graceMs: config.shutdown.graceMs });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${errorMessage(err)}\n`);
    process.exit(1);
  });
}
