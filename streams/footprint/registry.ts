/**
 * Registry facts the footprint needs about a consumption record: the device's medium (which makes
 * a register gas, electricity or heat) and the factor region (the site's, else the organisation's;
 * migration 0004). Loaded per batch and kept in memory for a few minutes; a registry change
 * reaches a register's line with its next consumption record.
 *
 * Also the counted registers of an organisation (one query per organisation, cached as long), which
 * a month waits for before it is FINAL.
 */
import type pg from 'pg';
import { isTimeZone } from '../../core/time-zone.js';
import { monthOf } from '../consumption/calendar.js';
import type { ExpectedRegister } from './compute.js';
import { COUNTED_MEDIA, registerResource } from './resources.js';

/** Synchronous lookups over what {@link RegistryDirectory.load} loaded, and the organisation's registers. */
export interface FootprintDirectory {
  /** devices.medium, or undefined when the device is unknown or has none. */
  medium(deviceId: string): string | undefined;
  /** The factor region of a register at `siteId` of `organisationId`, or null when neither has one. */
  region(siteId: string | null, organisationId: string): string | null;
  /**
   * The organisation's registers that count toward its footprint and have been heard, with the
   * months they are expected in. Cached; a throw (PostgreSQL unreachable) is retried at the next check.
   */
  expectedRegisters(organisationId: string): Promise<readonly ExpectedRegister[]>;
}

/** A directory that loads what a batch needs before the batch is handled. */
export interface RegistryDirectory extends FootprintDirectory {
  /** Loads the missing or stale entries. A throw is retriable (the batch is processed again). */
  load(wanted: { readonly deviceIds: Iterable<string>; readonly siteIds: Iterable<string>; readonly organisationIds: Iterable<string> }): Promise<void>;
}

/** One row of {@link EXPECTED_SQL}. */
export interface RegisterRow {
  readonly id: string;
  readonly register_key: string;
  readonly unit: string;
  readonly medium: string;
  readonly billing_day_start_hour: number;
  readonly time_zone: string | null;
  readonly status: string;
  /** devices.first_seen_at, epoch ms. */
  readonly first_seen_ms: number;
  /** devices.last_seen_at, epoch ms. */
  readonly last_seen_ms: number | null;
}

/** The organisation's heard cumulative registers of the counted media (the rest of the rule is registerResource's). */
const EXPECTED_SQL = `
  SELECT r.id, r.register_key, r.unit, d.medium, r.billing_day_start_hour, s.time_zone, d.status::text AS status,
         round(extract(epoch FROM d.first_seen_at) * 1000)::float8 AS first_seen_ms,
         round(extract(epoch FROM d.last_seen_at) * 1000)::float8 AS last_seen_ms
    FROM devices d
    JOIN registers r ON r.device_id = d.id
    LEFT JOIN sites s ON s.id = d.site_id
   WHERE d.organisation_id = $1 AND d.medium = ANY($2) AND r.cumulative AND d.first_seen_at IS NOT NULL`;

/**
 * What a register row means for the footprint's months, or undefined when the register does not
 * count. Months are the register's own (its site's zone, UTC without one or for a zone this runtime
 * does not know, and its billing-day start hour), as consumption cuts them: a month is expected once
 * the device was first heard at or before its start, and, for a retired device, while it starts at
 * or before the device was last heard (PostgreSQL keeps no retirement time).
 */
export function expectedRegisterOf(row: RegisterRow): ExpectedRegister | undefined {
  const resource = registerResource(row.medium, row.register_key, row.unit);
  if (resource === undefined) return undefined;
  const spec = { timeZone: row.time_zone !== null && isTimeZone(row.time_zone) ? row.time_zone : 'UTC', billingDayStartHour: row.billing_day_start_hour };
  const after = monthOf(spec, row.first_seen_ms - 1).localPeriod;
  let through: string | null = null;
  if (row.status === 'retired') through = row.last_seen_ms === null ? after : monthOf(spec, row.last_seen_ms).localPeriod;
  return { registerId: row.id, scope: resource.scope, after, through };
}

export function createRegistryDirectory(options: { readonly db: Pick<pg.Pool, 'query'>; readonly ttlMs?: number; readonly now?: () => number }): RegistryDirectory {
  const ttlMs = options.ttlMs ?? 300_000;
  const now = options.now ?? Date.now;
  const tables = {
    medium: { sql: 'SELECT id, medium AS value FROM devices WHERE id = ANY($1)', cache: new Map<string, { value: string | null; at: number }>() },
    site: { sql: 'SELECT id, region AS value FROM sites WHERE id = ANY($1)', cache: new Map<string, { value: string | null; at: number }>() },
    organisation: { sql: 'SELECT id, region AS value FROM organisations WHERE id = ANY($1)', cache: new Map<string, { value: string | null; at: number }>() },
  };
  const expected = new Map<string, { value: Promise<readonly ExpectedRegister[]>; at: number }>();

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
    expectedRegisters(organisationId) {
      const t = now();
      const hit = expected.get(organisationId);
      if (hit !== undefined && t - hit.at < ttlMs) return hit.value;
      for (const [id, entry] of expected) if (t - entry.at >= ttlMs) expected.delete(id);
      const value = options.db.query<RegisterRow>(EXPECTED_SQL, [organisationId, COUNTED_MEDIA]).then(({ rows }) =>
        rows.flatMap((row) => expectedRegisterOf(row) ?? []).sort((a, b) => (a.registerId < b.registerId ? -1 : a.registerId > b.registerId ? 1 : 0)));
      expected.set(organisationId, { value, at: t });
      // A failed query is not cached: the next check asks again.
      value.catch(() => expected.get(organisationId)?.value === value && expected.delete(organisationId));
      return value;
    },
    async load(wanted) {
      await fill(tables.medium, wanted.deviceIds);
      await fill(tables.site, wanted.siteIds);
      await fill(tables.organisation, wanted.organisationIds);
    },
  };
}
