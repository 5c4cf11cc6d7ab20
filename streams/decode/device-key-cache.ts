/**
 * OMS keys of wireless M-Bus meters for the decoder's synchronous `keyFor`: sealed keys are read
 * from PostgreSQL `device_keys` (one query for all the uncached meters of a batch) and opened with
 * core/device-keys, then kept in memory. A meter without a key is remembered for a short time
 * only, so a key an operator adds is used soon; a re-driven uplink reads afresh at once.
 */
import { openDeviceKey } from '../../core/device-keys.js';
import { DecodeError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Queryable } from './registry-entry.js';

/** Options of {@link createDeviceKeyCache}. */
export interface DeviceKeyCacheOptions {
  readonly db: Queryable;
  /** `config.deviceKeys.encryptionKey`; without it no key is read and encrypted telegrams are `KEY_MISSING`. */
  readonly masterKey: Buffer | undefined;
  readonly logger: Logger;
  /**
   * How long an opened key is used before it is read again (a replaced key takes effect then).
   * @default 600000 (10 min)
   */
  readonly keyTtlMs?: number;
  /**
   * How long a meter is remembered as having no key.
   * @default 60000
   */
  readonly absentTtlMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The keys the handler asks for. */
export interface DeviceKeySource {
  /**
   * Reads the keys of the `mbus:` devices among `deviceIds` that are not cached (all of them when
   * `fresh`), in one query.
   * @throws when PostgreSQL cannot be asked.
   */
  prefetch(deviceIds: Iterable<string>, options?: { readonly fresh?: boolean }): Promise<void>;
  /** Whether the meter (16 lowercase hex digits) has a cache entry, key or none. */
  has(meterId: string): boolean;
  /** The meter's key as last read; the same Buffer for as long as the key is unchanged. */
  keyFor(meterId: string): Buffer | undefined;
  /**
   * The reason the meter's stored key cannot be used (`DEVICE_KEY_UNREADABLE`: sealed under
   * another master key or for another device), to reject its telegrams precisely.
   */
  problemOf(meterId: string): DecodeError | undefined;
}

interface CachedKey {
  readonly key: Buffer | undefined;
  readonly problem: DecodeError | undefined;
  readonly expiresAt: number;
}

const MBUS = 'mbus:';

export function createDeviceKeyCache(options: DeviceKeyCacheOptions): DeviceKeySource {
  const { db, masterKey } = options;
  const keyTtlMs = options.keyTtlMs ?? 600_000;
  const absentTtlMs = options.absentTtlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, CachedKey>();
  if (masterKey === undefined) {
    options.logger.warn('DEVICE_KEY_ENCRYPTION_KEY is not set: encrypted wireless M-Bus telegrams will be dead-lettered as KEY_MISSING');
  }

  function fresh(meterId: string): CachedKey | undefined {
    const cached = cache.get(meterId);
    return cached !== undefined && cached.expiresAt > now() ? cached : undefined;
  }

  return {
    async prefetch(deviceIds, { fresh: reload = false } = {}) {
      if (masterKey === undefined) return;
      const wanted = [...new Set(deviceIds)].filter((id) => id.startsWith(MBUS) && (reload || fresh(id.slice(MBUS.length)) === undefined));
      if (wanted.length === 0) return;
      const { rows } = await db.query<{ device_id: string; key_ciphertext: Buffer; key_nonce: Buffer; key_tag: Buffer }>(
        'SELECT device_id, key_ciphertext, key_nonce, key_tag FROM device_keys WHERE device_id = ANY($1::text[])',
        [wanted],
      );
      const sealed = new Map(rows.map((row) => [row.device_id, row]));
      const t = now();
      for (const deviceId of wanted) {
        const meterId = deviceId.slice(MBUS.length);
        const row = sealed.get(deviceId);
        if (row === undefined) {
          cache.set(meterId, { key: undefined, problem: undefined, expiresAt: t + absentTtlMs });
          continue;
        }
        try {
          const opened = openDeviceKey(masterKey, deviceId, { ciphertext: row.key_ciphertext, nonce: row.key_nonce, tag: row.key_tag });
          // The decoder imports a key once per Buffer identity: hand out the same Buffer while it is unchanged.
          const previous = cache.get(meterId)?.key;
          const key = previous !== undefined && previous.equals(opened) ? previous : opened;
          cache.set(meterId, { key, problem: undefined, expiresAt: t + keyTtlMs });
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
          cache.set(meterId, { key: undefined, problem: err, expiresAt: t + absentTtlMs });
        }
      }
    },
    has: (meterId) => fresh(meterId) !== undefined,
    keyFor: (meterId) => fresh(meterId)?.key,
    problemOf: (meterId) => fresh(meterId)?.problem,
  };
}
