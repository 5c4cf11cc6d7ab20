/**
 * Device profiles (how a LoRaWAN payload is decoded) from the registry: `devices.codec` names the
 * codec, and `ts013:<name>` a vendor script in `ts013_codecs` (migration 0002). Scripts are read
 * once per name and kept in memory for a minute, so a corrected codec is picked up soon; a
 * re-driven uplink reads it afresh.
 */
import type { DeviceProfile } from './decoders/index.js';
import type { Queryable, RegistryEntry } from './registry-entry.js';

/** Options of {@link createProfileSource}. */
export interface ProfileSourceOptions {
  readonly db: Queryable;
  /**
   * How long a codec script is used before it is read again.
   * @default 60000
   */
  readonly scriptTtlMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The profiles the handler asks for. */
export interface ProfileSource {
  /** Reads the uncached TS013 scripts the entries use, in one query. */
  prefetch(entries: Iterable<RegistryEntry | undefined>, options?: { readonly fresh?: boolean }): Promise<void>;
  /**
   * The device's profile; undefined lets the decoder choose (`auto`). A `ts013:` codec without a
   * script in the registry gives a profile without one, which the decoder rejects as
   * `PROFILE_INCOMPLETE`.
   */
  profileOf(entry: RegistryEntry | undefined, options?: { readonly fresh?: boolean }): Promise<DeviceProfile | undefined>;
}

interface CachedScript {
  readonly profile: DeviceProfile;
  readonly expiresAt: number;
}

const TS013 = 'ts013:';

/** The profile a `devices.codec` value names without a script: `mbus`, `chirpstack-object`; else undefined. */
function plainProfileOf(codec: string | null): DeviceProfile | undefined {
  if (codec === 'mbus' || codec === 'chirpstack-object') return { codec };
  return undefined;
}

export function createProfileSource(options: ProfileSourceOptions): ProfileSource {
  const { db } = options;
  const scriptTtlMs = options.scriptTtlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const scripts = new Map<string, CachedScript>();

  async function load(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const { rows } = await db.query<{ name: string; script: string; fport_filter: number[] | null }>(
      'SELECT name, script, fport_filter FROM ts013_codecs WHERE name = ANY($1::text[])',
      [names],
    );
    const found = new Map(rows.map((row) => [row.name, row]));
    const expiresAt = now() + scriptTtlMs;
    for (const name of names) {
      const row = found.get(name);
      const profile: DeviceProfile =
        row === undefined
          ? { codec: 'ts013' }
          : { codec: 'ts013', ts013Script: row.script, ...(row.fport_filter === null ? {} : { fPortFilter: row.fport_filter }) };
      scripts.set(name, { profile, expiresAt });
    }
  }

  function cached(name: string): DeviceProfile | undefined {
    const entry = scripts.get(name);
    return entry !== undefined && entry.expiresAt > now() ? entry.profile : undefined;
  }

  return {
    async prefetch(entries, { fresh = false } = {}) {
      const names = new Set<string>();
      for (const entry of entries) {
        const name = entry?.codec?.startsWith(TS013) ? entry.codec.slice(TS013.length) : undefined;
        if (name !== undefined && (fresh || cached(name) === undefined)) names.add(name);
      }
      await load([...names]);
    },
    async profileOf(entry, { fresh = false } = {}) {
      const codec = entry?.codec ?? null;
      if (!codec?.startsWith(TS013)) return plainProfileOf(codec);
      const name = codec.slice(TS013.length);
      if (fresh || cached(name) === undefined) await load([name]);
      return cached(name);
    },
  };
}
