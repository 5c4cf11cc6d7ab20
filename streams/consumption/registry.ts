/**
 * Register facts from PostgreSQL (`registers`, `devices`, `sites`, `meter_replacements`), looked
 * up in bulk once per batch and kept in process memory for a short time, so a changed register, a
 * moved site or a replacement registered after the readings shows within {@link RegistryCacheOptions.ttlMs}.
 *
 * Defaults for what the registry does not know (a register or device without a row, a NULL column):
 * calendar days (start hour 0) in UTC, multiplier 1, 8 digits, the resolution estimated from the
 * register's values (range.ts), max gap 48 h, the reading's unit, organisation and site.
 */
import type { Logger } from 'pino';
import type pg from 'pg';
import { isTimeZone } from '../../core/time-zone.js';
import { parseNano } from './nano.js';
import { counterOf, wrapRange, type RegisterCounter } from './range.js';
import type { Replacement } from './series.js';

/** Max gap assumed when `registers.max_gap_s` is NULL. */
export const DEFAULT_MAX_GAP_MS = 48 * 3_600_000;

/** What the registry says about one register; null fields are unknown. */
export interface RegisterFacts {
  readonly timeZone: string;
  readonly billingDayStartHour: number;
  /** Digits, resolution and multiplier, which give the wrap range (range.ts). */
  readonly counter: RegisterCounter;
  readonly maxGapMs: number;
  readonly unit: string | null;
  /** Undefined when the device has no row (the reading's own values are used). */
  readonly organisationId: string | null | undefined;
  readonly siteId: string | null | undefined;
  readonly replacements: readonly Replacement[];
}

/**
 * The wrap range the registry's columns give, in nano-units (range.ts): `10^digits × resolution ×
 * multiplier`, an unknown resolution counting as 1 (the worker estimates it from the register's values).
 */
export function rangeOf(digits: number | null, multiplier: string | null, resolution: string | null = null): bigint {
  return wrapRange(counterOf(digits, multiplier, resolution), undefined);
}

/** Options of {@link createRegistry}. */
export interface RegistryCacheOptions {
  readonly db: Pick<pg.Pool, 'query'>;
  readonly logger: Logger;
  /**
   * How long facts are reused before PostgreSQL is asked again.
   * @default 60000
   */
  readonly ttlMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Register facts by registerId, through a memory cache. */
export interface RegisterRegistry {
  /** Makes the facts of these registers available to {@link get}; one query per table for the misses. */
  load(registers: ReadonlyArray<{ readonly registerId: string; readonly deviceId: string }>): Promise<void>;
  /** The facts loaded for a register; undefined when {@link load} was not asked for it. */
  get(registerId: string): RegisterFacts | undefined;
}

interface Row {
  register_id: string;
  register_known: boolean;
  device_known: boolean;
  unit: string | null;
  multiplier: string | null;
  digits: number | null;
  resolution: string | null;
  max_gap_s: number | null;
  billing_day_start_hour: number | null;
  time_zone: string | null;
  organisation_id: string | null;
  site_id: string | null;
}

interface ReplacementRow {
  id: string;
  register_id: string;
  replaced_at: Date;
  old_final_value: string;
  new_initial_value: string;
}

export function createRegistry(options: RegistryCacheOptions): RegisterRegistry {
  const ttlMs = options.ttlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { facts: RegisterFacts; at: number }>();
  const warnedZones = new Set<string>();

  function zone(name: string | null, registerId: string): string {
    if (name === null) return 'UTC';
    if (isTimeZone(name)) return name;
    if (!warnedZones.has(name)) {
      warnedZones.add(name);
      options.logger.warn({ timeZone: name, registerId }, 'site time zone unknown to this runtime; using UTC');
    }
    return 'UTC';
  }

  return {
    async load(registers) {
      const t = now();
      const missing = new Map<string, string>();
      for (const { registerId, deviceId } of registers) {
        const hit = cache.get(registerId);
        if (hit === undefined || t - hit.at >= ttlMs) missing.set(registerId, deviceId);
      }
      if (missing.size === 0) return;
      const ids = [...missing.keys()];
      const [facts, replacements] = await Promise.all([
        options.db.query<Row>(
          `SELECT q.register_id, r.id IS NOT NULL AS register_known, d.id IS NOT NULL AS device_known,
                  r.unit, r.multiplier::text AS multiplier, r.digits, r.resolution::text AS resolution, r.max_gap_s, r.billing_day_start_hour,
                  s.time_zone, d.organisation_id, d.site_id
             FROM unnest($1::text[], $2::text[]) AS q(register_id, device_id)
             LEFT JOIN registers r ON r.id = q.register_id
             LEFT JOIN devices d ON d.id = q.device_id
             LEFT JOIN sites s ON s.id = d.site_id`,
          [ids, [...missing.values()]],
        ),
        options.db.query<ReplacementRow>(
          `SELECT id, register_id, replaced_at, old_final_value::text AS old_final_value, new_initial_value::text AS new_initial_value
             FROM meter_replacements WHERE register_id = ANY($1::text[]) ORDER BY replaced_at, id`,
          [ids],
        ),
      ]);
      const byRegister = new Map<string, Replacement[]>();
      for (const r of replacements.rows) {
        const list = byRegister.get(r.register_id) ?? [];
        list.push({ id: r.id, at: r.replaced_at.getTime(), oldFinalValue: parseNano(r.old_final_value), newInitialValue: parseNano(r.new_initial_value) });
        byRegister.set(r.register_id, list);
      }
      for (const row of facts.rows) {
        cache.set(row.register_id, {
          at: t,
          facts: {
            timeZone: zone(row.time_zone, row.register_id),
            billingDayStartHour: row.billing_day_start_hour ?? 0,
            counter: counterOf(row.digits, row.multiplier, row.resolution),
            maxGapMs: row.max_gap_s === null ? DEFAULT_MAX_GAP_MS : row.max_gap_s * 1000,
            unit: row.unit,
            organisationId: row.device_known ? row.organisation_id : undefined,
            siteId: row.device_known ? row.site_id : undefined,
            replacements: byRegister.get(row.register_id) ?? [],
          },
        });
      }
      if (cache.size > 1_000_000) {
        for (const [key, entry] of cache) if (t - entry.at >= ttlMs) cache.delete(key);
      }
    },
    get: (registerId) => cache.get(registerId)?.facts,
  };
}
