import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.js';
import { createRegistryCache } from './registry-cache.js';
import type { Queryable } from './registry-entry.js';

const KNOWN = 'mbus:1002038704771403';
const UNKNOWN = 'mbus:1002038804771403';

/** PostgreSQL with one device row, counting the queries it answers. */
function fakeDb(): Queryable & { queries: number } {
  const db = {
    queries: 0,
    async query(_sql: string, [ids]: [string[]]) {
      db.queries++;
      const rows = ids.filter((id) => id === KNOWN).map((id) => ({
        id, organisation_id: 'org-1', site_id: 'site-1', time_zone: 'Europe/Minsk', status: 'active', manufacturer: 'ACW', model: null,
        device_version: 0x14, medium: 'gas', expected_interval_s: null, codec: 'mbus', first_seen_at: null, first_uplink_id: null,
        revision: '3', registers: {},
      }));
      return { rows };
    },
  };
  return db as unknown as Queryable & { queries: number };
}

/** Redis that holds nothing and accepts writes. */
const emptyRedis = {
  mget: async (keys: string[]) => keys.map(() => null),
  pipeline: () => ({ set() {}, exec: async () => [] }),
  del: async () => 0,
} as unknown as Redis;

function cacheAt(clock: { t: number }) {
  const db = fakeDb();
  const cache = createRegistryCache({ db, redis: emptyRedis, logger: createLogger({ level: 'silent', name: 'test' }), now: () => clock.t });
  return { db, cache };
}

describe('the registry cache in process memory', () => {
  it('peeks at nothing before a device was looked up', () => {
    const { cache } = cacheAt({ t: 0 });
    expect(cache.peek(KNOWN)).toBeUndefined();
  });

  it('peeks at what getMany loaded, a row and the absence of one, without asking PostgreSQL again', async () => {
    const { db, cache } = cacheAt({ t: 0 });
    await cache.getMany([KNOWN, UNKNOWN]);
    expect(cache.peek(KNOWN)?.entry).toMatchObject({ deviceId: KNOWN, timeZone: 'Europe/Minsk', revision: 3 });
    expect(cache.peek(UNKNOWN)).toEqual(expect.objectContaining({ entry: undefined }));
    expect(db.queries).toBe(1);
  });

  it('stops peeking at an entry once it expired: 30 s for an absent row, 5 min for a row', async () => {
    const clock = { t: 0 };
    const { cache } = cacheAt(clock);
    await cache.getMany([KNOWN, UNKNOWN]);
    clock.t = 30_000;
    expect(cache.peek(UNKNOWN)).toBeUndefined();
    expect(cache.peek(KNOWN)).toBeDefined();
    clock.t = 300_000;
    expect(cache.peek(KNOWN)).toBeUndefined();
  });

  it('stops peeking at an invalidated entry', async () => {
    const { cache } = cacheAt({ t: 0 });
    await cache.getMany([KNOWN]);
    await cache.invalidate([KNOWN]);
    expect(cache.peek(KNOWN)).toBeUndefined();
  });
});
