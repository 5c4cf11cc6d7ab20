/**
 * Station registry facts from PostgreSQL: organisation, site, the site's IANA time zone and the
 * reporting interval, loaded for a whole batch at once and kept in memory for a few minutes (a
 * registry change reaches the worker within that time).
 */
import type pg from 'pg';
import type { Logger } from '../../core/log.js';
import type { StationDirectory, StationRegistryEntry } from './handler.js';
import { isTimeZone } from '../../core/time-zone.js';

/** Options of {@link createStationDirectory}. */
export interface StationDirectoryOptions {
  readonly db: Pick<pg.Pool, 'query'>;
  readonly logger: Logger;
  /**
   * How long an entry (or the absence of a row) is used before it is read again, ms.
   * @default 300000
   */
  readonly ttlMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** A {@link StationDirectory} that loads what a batch needs before the batch is handled. */
export interface LoadingStationDirectory extends StationDirectory {
  /** Loads the entries of `deviceIds` that are missing or stale. A throw is retriable (the batch is processed again). */
  load(deviceIds: Iterable<string>): Promise<void>;
}

interface Row {
  id: string;
  organisation_id: string | null;
  site_id: string | null;
  time_zone: string | null;
  expected_interval_s: number | null;
}

export function createStationDirectory(options: StationDirectoryOptions): LoadingStationDirectory {
  const ttlMs = options.ttlMs ?? 300_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { entry: StationRegistryEntry | undefined; loadedAt: number }>();

  return {
    get: (deviceId) => entries.get(deviceId)?.entry,
    async load(deviceIds) {
      const t = now();
      const wanted = [...new Set(deviceIds)].filter((id) => {
        const cached = entries.get(id);
        return cached === undefined || t - cached.loadedAt >= ttlMs;
      });
      if (wanted.length === 0) return;
      const { rows } = await options.db.query<Row>(
        `SELECT d.id, d.organisation_id, d.site_id, s.time_zone, d.expected_interval_s
           FROM devices d LEFT JOIN sites s ON s.id = d.site_id
          WHERE d.id = ANY($1)`,
        [wanted],
      );
      const found = new Map(rows.map((row) => [row.id, row]));
      for (const id of wanted) {
        const row = found.get(id);
        let timeZone = row?.time_zone ?? null;
        if (timeZone !== null && !isTimeZone(timeZone)) {
          options.logger.warn({ deviceId: id, timeZone }, 'the station\'s site has a time zone this runtime does not know; using UTC');
          timeZone = null;
        }
        entries.set(id, {
          loadedAt: t,
          entry: row === undefined ? undefined : {
            organisationId: row.organisation_id,
            siteId: row.site_id,
            timeZone,
            intervalS: row.expected_interval_s,
          },
        });
      }
    },
  };
}
