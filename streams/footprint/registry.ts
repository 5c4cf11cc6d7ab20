/**
 * Registry facts the footprint needs about a consumption record: the device's medium (which makes
 * a register gas, electricity or heat) and the factor region (the site's, else the organisation's;
 * migration 0004). Loaded per batch and kept in memory for a few minutes; a registry change
 * reaches a register's line with its next consumption record.
 */
import type pg from 'pg';

/** Synchronous lookups over what {@link RegistryDirectory.load} loaded. */
export interface FootprintDirectory {
  /** devices.medium, or undefined when the device is unknown or has none. */
  medium(deviceId: string): string | undefined;
  /** The factor region of a register at `siteId` of `organisationId`, or null when neither has one. */
  region(siteId: string | null, organisationId: string): string | null;
}

/** A directory that loads what a batch needs before the batch is handled. */
export interface RegistryDirectory extends FootprintDirectory {
  /** Loads the missing or stale entries. A throw is retriable (the batch is processed again). */
  load(wanted: { readonly deviceIds: Iterable<string>; readonly siteIds: Iterable<string>; readonly organisationIds: Iterable<string> }): Promise<void>;
}

export function createRegistryDirectory(options: { readonly db: Pick<pg.Pool, 'query'>; readonly ttlMs?: number; readonly now?: () => number }): RegistryDirectory {
  const ttlMs = options.ttlMs ?? 300_000;
  const now = options.now ?? Date.now;
  const tables = {
    medium: { sql: 'SELECT id, medium AS value FROM devices WHERE id = ANY($1)', cache: new Map<string, { value: string | null; at: number }>() },
    site: { sql: 'SELECT id, region AS value FROM sites WHERE id = ANY($1)', cache: new Map<string, { value: string | null; at: number }>() },
    organisation: { sql: 'SELECT id, region AS value FROM organisations WHERE id = ANY($1)', cache: new Map<string, { value: string | null; at: number }>() },
  };

  async function fill(table: (typeof tables)[keyof typeof tables], ids: Iterable<string>): Promise<void> {
    const t = now();
    const stale = [...new Set(ids)].filter((id) => {
      const hit = table.cache.get(id);
      return hit === undefined || t - hit.at >= ttlMs;
    });
    if (stale.length === 0) return;
    const { rows } = await options.db.query<{ id: string; value: string | null }>(table.sql, [stale]);
    const found = new Map(rows.map((r) => [r.id, r.value]));
    for (const id of stale) table.cache.set(id, { value: found.get(id) ?? null, at: t });
  }

  return {
    medium: (deviceId) => tables.medium.cache.get(deviceId)?.value ?? undefined,
    region: (siteId, organisationId) =>
      (siteId === null ? null : tables.site.cache.get(siteId)?.value ?? null) ?? tables.organisation.cache.get(organisationId)?.value ?? null,
    async load(wanted) {
      await fill(tables.medium, wanted.deviceIds);
      await fill(tables.site, wanted.siteIds);
      await fill(tables.organisation, wanted.organisationIds);
    },
  };
}
