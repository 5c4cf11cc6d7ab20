/**
 * The decode process: `tsx streams/decode/main.ts`. Reads the environment (the README's variable
 * table), checks that Kafka, the schema registry, PostgreSQL and Redis answer, then decodes
 * `uplink.raw.v1` until SIGTERM or SIGINT, serving `/metrics` and `/healthz` on `METRICS_PORT`.
 *
 * Exports {@link createDecodeProcess} for tests and tools that run decode in-process with their own
 * catalogue and prefix.
 */
import { Redis } from 'ioredis';
import { runIfEntryPoint } from '../../core/process-main.js';
import type { WorkerProcess, WorkerProcessOptions } from '../runtime/worker-process.js';
import { createWorkerConnections, registerStateSizeGauge, runWorkerProcess, workerComponent, WORKER_PROCESS_NEEDS } from '../runtime/worker-process.js';
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
export interface DecodeProcessOptions extends WorkerProcessOptions {
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

/**
 * The decode process's parts; components in start order: PostgreSQL, Redis, the TS013 sandbox, the
 * cache invalidator, the worker.
 */
export type DecodeProcess = WorkerProcess;

/** Builds the decode process's components; nothing connects until they are started. */
export function createDecodeProcess(options: DecodeProcessOptions): DecodeProcess {
  const { config, logger, catalogue } = options;
  const { pool, postgres, deps } = createWorkerConnections(options, 4);
  const { kafka, codec, prefix } = deps;
  const redis = new Redis(config.redis.url, {
    lazyConnect: true,
    // Fail fast while disconnected: the cache then falls back to PostgreSQL instead of queueing.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 2_000,
  });
  redis.on('error', (err) => logger.debug({ err }, 'Redis connection error'));

  const cache = createRegistryCache({ db: pool, redis, logger, keyPrefix: `${prefix}meterflux:registry:device:` });
  const ts013 = createTs013Runner(options.sandbox);
  const worker = createDecodeWorker({
    ...deps,
    registry: createRegistry({ db: pool, cache, logger }),
    keys: createDeviceKeyCache({ db: pool, masterKey: config.deviceKeys.encryptionKey, logger }),
    profiles: createProfileSource({ db: pool }),
    ts013,
    metrics: createDecodeMetrics(options.metrics),
    ...(options.options === undefined ? {} : { options: options.options }),
  });
  registerStateSizeGauge(options.metrics, worker, {
    name: 'meterflux_decode_state_keys',
    help: 'Keys in the decode state of the partitions this process owns (devices and their idempotency-key days).',
  });

  return {
    worker,
    components: [
      postgres,
      { name: 'redis', start: () => redis.connect(), stop: async () => void (await redis.quit()) },
      { name: 'ts013-sandbox', start: async () => undefined, stop: () => ts013.close() },
      createCacheInvalidator({ kafka, codec, devices: catalogue.devices, cache, logger, prefix }),
      workerComponent('decode-worker', worker),
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
  await runWorkerProcess({ name: 'decode', needs: [...WORKER_PROCESS_NEEDS, 'redis'], create: createDecodeProcess }, env);
}

runIfEntryPoint(import.meta.url, () => main());
