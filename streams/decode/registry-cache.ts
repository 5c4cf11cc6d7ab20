/**
 * Read-through cache of registry entries: process memory, then Redis (shared by every decode
 * instance), then PostgreSQL. Lookups take many devices at once (one `MGET`, one query for the
 * rest), so a batch costs at most one round trip to each, and a batch of known devices none.
 *
 * Invalidation: every writer of a device row emits device.v1 (the API for operator changes, decode
 * itself for registrations and fill-ins); each decode process consumes device.v1 and drops the
 * entry from memory and Redis (cache-invalidator.ts). Decode also writes its own changes through
 * after they are in PostgreSQL. Both tiers expire, so a missed invalidation heals by itself.
 * A Redis failure only costs the cache: lookups fall back to PostgreSQL.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/log.js';
import { loadEntries, type Queryable, type RegistryEntry } from './registry-entry.js';

/** Options of {@link createRegistryCache}. */
export interface RegistryCacheOptions {
  readonly db: Queryable;
  readonly redis: Pick<Redis, 'mget' | 'pipeline' | 'del'>;
  readonly logger: Logger;
  /**
   * Prefix of the Redis keys; the device id follows.
   * @default 'meterflux:registry:device:'
   */
  readonly keyPrefix?: string;
  /**
   * Lifetime of an entry in Redis.
   * @default 3600000 (1 h)
   */
  readonly redisTtlMs?: number;
  /**
   * Lifetime of an entry in process memory.
   * @default 300000 (5 min)
   */
  readonly memoryTtlMs?: number;
  /**
   * How long process memory remembers that a device has no row (an undecodable foreign meter
   * heard again and again); never kept in Redis.
   * @default 30000
   */
  readonly absentTtlMs?: number;
  /**
   * Entries in process memory at most; the oldest go first.
   * @default 200000
   */
  readonly maxEntries?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The cache. Entries are `undefined` for devices without a registry row. */
export interface RegistryCache {
  /**
   * The entries of `deviceIds`. `fresh` skips both cache tiers and reads PostgreSQL (a re-driven
   * uplink, which follows an operator's fix), caching what it found.
   * @throws when PostgreSQL cannot be asked.
   */
  getMany(deviceIds: Iterable<string>, options?: { readonly fresh?: boolean }): Promise<Map<string, RegistryEntry | undefined>>;
  /**
   * What process memory holds for `deviceId` and has not expired, without asking Redis or
   * PostgreSQL: `{ entry }` (an `undefined` entry: known to have no row), or `undefined` when
   * memory has nothing current. The per-uplink lookup after a batch's {@link getMany}.
   */
  peek(deviceId: string): { readonly entry: RegistryEntry | undefined } | undefined;
  /** Caches entries decode has just written to PostgreSQL. */
  put(entries: readonly RegistryEntry[]): Promise<void>;
  /** Drops entries someone changed. */
  invalidate(deviceIds: readonly string[]): Promise<void>;
}

interface Cached {
  readonly entry: RegistryEntry | undefined;
  readonly expiresAt: number;
}

export function createRegistryCache(options: RegistryCacheOptions): RegistryCache {
  const { db, redis } = options;
  const logger = options.logger.child({ component: 'registry-cache' });
  const keyPrefix = options.keyPrefix ?? 'meterflux:registry:device:';
  const redisTtlMs = options.redisTtlMs ?? 3_600_000;
  const memoryTtlMs = options.memoryTtlMs ?? 300_000;
  const absentTtlMs = options.absentTtlMs ?? 30_000;
  const maxEntries = options.maxEntries ?? 200_000;
  const now = options.now ?? Date.now;
  const memory = new Map<string, Cached>();
  let redisWarnedAt = Number.NEGATIVE_INFINITY;

  function remember(deviceId: string, entry: RegistryEntry | undefined): void {
    memory.delete(deviceId);
    memory.set(deviceId, { entry, expiresAt: now() + (entry === undefined ? absentTtlMs : memoryTtlMs) });
    if (memory.size > maxEntries) memory.delete(memory.keys().next().value!);
  }

  /** Redis trouble is logged at most once a minute: every batch would otherwise log it. */
  function redisFailed(err: unknown, what: string): void {
    if (now() - redisWarnedAt < 60_000) return;
    redisWarnedAt = now();
    logger.warn({ err }, `Redis ${what} failed; reading the registry from PostgreSQL`);
  }

  async function store(entries: readonly RegistryEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const pipeline = redis.pipeline();
    for (const entry of entries) pipeline.set(keyPrefix + entry.deviceId, JSON.stringify(entry), 'PX', redisTtlMs);
    try {
      await pipeline.exec();
    } catch (err) {
      redisFailed(err, 'write');
    }
  }

  return {
    peek(deviceId) {
      const cached = memory.get(deviceId);
      return cached !== undefined && cached.expiresAt > now() ? cached : undefined;
    },

    async getMany(deviceIds, { fresh = false } = {}) {
      const found = new Map<string, RegistryEntry | undefined>();
      const missing: string[] = [];
      const t = now();
      for (const deviceId of new Set(deviceIds)) {
        const cached = fresh ? undefined : memory.get(deviceId);
        if (cached !== undefined && cached.expiresAt > t) found.set(deviceId, cached.entry);
        else missing.push(deviceId);
      }
      if (missing.length === 0) return found;

      let texts: Array<string | null> = [];
      if (!fresh) {
        try {
          texts = await redis.mget(missing.map((deviceId) => keyPrefix + deviceId));
        } catch (err) {
          redisFailed(err, 'read');
        }
      }
      const unknown: string[] = [];
      missing.forEach((deviceId, i) => {
        const entry = parseEntry(texts[i]);
        if (entry === undefined) {
          unknown.push(deviceId);
          return;
        }
        remember(deviceId, entry);
        found.set(deviceId, entry);
      });
      if (unknown.length === 0) return found;

      const loaded = await loadEntries(db, unknown);
      for (const deviceId of unknown) {
        const entry = loaded.get(deviceId);
        remember(deviceId, entry);
        found.set(deviceId, entry);
      }
      await store([...loaded.values()]);
      return found;
    },

    async put(entries) {
      for (const entry of entries) remember(entry.deviceId, entry);
      await store(entries);
    },

    async invalidate(deviceIds) {
      if (deviceIds.length === 0) return;
      for (const deviceId of deviceIds) memory.delete(deviceId);
      try {
        await redis.del(...deviceIds.map((deviceId) => keyPrefix + deviceId));
      } catch (err) {
        redisFailed(err, 'invalidation');
      }
    },
  };
}

/** A cached entry, or undefined for a miss or a value this version cannot read. */
function parseEntry(text: string | null | undefined): RegistryEntry | undefined {
  if (text === null || text === undefined) return undefined;
  try {
    const entry = JSON.parse(text) as RegistryEntry;
    return typeof entry.deviceId === 'string' && typeof entry.registers === 'object' ? entry : undefined;
  } catch {
    return undefined;
  }
}
