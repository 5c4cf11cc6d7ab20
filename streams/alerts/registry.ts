/**
 * What the alerts worker reads from the registry (PostgreSQL): each device's status, medium,
 * expected interval and last seen time, and the concentration thresholds of each organisation. Lookups are made in
 * bulk, once per fetched batch (the runner's `beforeBatch`: one query for the batch's devices not
 * cached, one for the thresholds of the organisations whose stations report gases in it), and cached in process memory for `ttlMs`, so
 * an operator's change takes effect within that time. A failed query throws: the batch is processed
 * again.
 */
import type pg from 'pg';
import type { AlertSeverity, Gas } from '../../schemas/avro/index.js';
import type { ConcentrationThreshold } from './concentration.js';

/** A device as the alert rules see it. */
export interface DeviceFacts {
  readonly deviceId: string;
  /** `devices.status`: new, active or retired. */
  readonly status: string;
  readonly medium: string | null;
  readonly expectedIntervalS: number | null;
  readonly organisationId: string | null;
  /**
   * `devices.last_seen_at`, epoch ms; null before decode took an uplink of the device. Decode
   * (streams/decode, registry-writes.ts) moves it forward only, to the `receivedAt` of an uplink
   * it decoded (readings or not; not a duplicate, not a dead-lettered one): on the device's first
   * uplink, then at most every `seenThrottleMs` (5 min) of receipt time, sooner when the battery
   * changes band, the first position or another firmware arrives, or it fills in a fact the row
   * lacked. So it lags the device's latest uplink by up to the throttle plus one interval.
   */
  readonly lastSeenAt: number | null;
}

/** A pool or a client. */
export type Queryable = Pick<pg.Pool, 'query'>;

/** Options of {@link createAlertsRegistry}. */
export interface AlertsRegistryOptions {
  readonly db: Queryable;
  /**
   * How long a device row or an organisation's thresholds are used before they are read again.
   * @default 60000
   */
  readonly ttlMs?: number;
  /**
   * Entries kept in memory at most, devices and organisations each; the oldest go first.
   * @default 200000
   */
  readonly maxEntries?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The registry port of the alerts handler. */
export interface AlertsRegistry {
  /**
   * Loads the rows of `deviceIds` that are not cached or have expired.
   * @throws when PostgreSQL cannot be asked.
   */
  prefetchDevices(deviceIds: Iterable<string>): Promise<void>;
  /**
   * Loads the thresholds of `organisationIds` that are not cached or have expired.
   * @throws when PostgreSQL cannot be asked.
   */
  prefetchThresholds(organisationIds: Iterable<string>): Promise<void>;
  /** The device's row as last loaded (after {@link prefetchDevices}); undefined when it has none. */
  device(deviceId: string): DeviceFacts | undefined;
  /**
   * The levels for one station and gas, ascending: the station's own rows, else the organisation's
   * (as last loaded by {@link prefetchThresholds}; none when not loaded).
   */
  thresholds(organisationId: string | null, deviceId: string, gas: Gas): readonly ConcentrationThreshold[];
}

interface Cached<T> {
  readonly value: T;
  readonly expiresAt: number;
}

interface ThresholdRow {
  id: string;
  organisation_id: string;
  station_device_id: string | null;
  gas: Gas;
  threshold_ppm: number;
  severity: AlertSeverity;
  hysteresis_ppm: number;
}

/** An organisation's thresholds: by station device id (`''` for organisation-wide) and gas. */
type OrganisationThresholds = ReadonlyMap<string, readonly ConcentrationThreshold[]>;

export function createAlertsRegistry(options: AlertsRegistryOptions): AlertsRegistry {
  const { db } = options;
  const ttlMs = options.ttlMs ?? 60_000;
  const maxEntries = options.maxEntries ?? 200_000;
  const now = options.now ?? Date.now;
  const devices = new Map<string, Cached<DeviceFacts | undefined>>();
  const organisations = new Map<string, Cached<OrganisationThresholds>>();

  function remember<T>(map: Map<string, Cached<T>>, key: string, value: T): void {
    map.delete(key);
    map.set(key, { value, expiresAt: now() + ttlMs });
    if (map.size > maxEntries) map.delete(map.keys().next().value!);
  }

  const stale = <T>(map: Map<string, Cached<T>>, keys: Iterable<string>): string[] => {
    const t = now();
    return [...new Set(keys)].filter((key) => (map.get(key)?.expiresAt ?? 0) <= t);
  };

  async function loadDevices(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const { rows } = await db.query<{
      id: string;
      status: string;
      medium: string | null;
      expected_interval_s: number | null;
      organisation_id: string | null;
      last_seen_ms: number | null;
    }>(
      `SELECT id, status, medium, expected_interval_s, organisation_id,
              round(extract(epoch FROM last_seen_at) * 1000)::float8 AS last_seen_ms
       FROM devices WHERE id = ANY($1::text[])`,
      [ids],
    );
    const found = new Map(rows.map((r) => [r.id, r]));
    for (const id of ids) {
      const row = found.get(id);
      remember(devices, id, row === undefined ? undefined : {
        deviceId: id,
        status: row.status,
        medium: row.medium,
        expectedIntervalS: row.expected_interval_s,
        organisationId: row.organisation_id,
        lastSeenAt: row.last_seen_ms,
      });
    }
  }

  async function loadThresholds(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const { rows } = await db.query<ThresholdRow>(
      `SELECT id, organisation_id, station_device_id, gas, threshold_ppm, severity, hysteresis_ppm
       FROM concentration_thresholds WHERE organisation_id = ANY($1::text[]) ORDER BY threshold_ppm, id`,
      [ids],
    );
    const byOrganisation = new Map<string, Map<string, ConcentrationThreshold[]>>(ids.map((id) => [id, new Map()]));
    for (const row of rows) {
      const levels = byOrganisation.get(row.organisation_id)!;
      const key = `${row.station_device_id ?? ''}|${row.gas}`;
      const list = levels.get(key) ?? [];
      list.push({ id: row.id, gas: row.gas, thresholdPpm: row.threshold_ppm, severity: row.severity, hysteresisPpm: row.hysteresis_ppm });
      levels.set(key, list);
    }
    for (const [id, levels] of byOrganisation) remember(organisations, id, levels);
  }

  return {
    prefetchDevices: (deviceIds) => loadDevices(stale(devices, deviceIds)),

    prefetchThresholds: (organisationIds) => loadThresholds(stale(organisations, organisationIds)),

    device: (deviceId) => devices.get(deviceId)?.value,

    thresholds(organisationId, deviceId, gas) {
      if (organisationId === null) return [];
      const levels = organisations.get(organisationId)?.value;
      if (levels === undefined) return [];
      return levels.get(`${deviceId}|${gas}`) ?? levels.get(`|${gas}`) ?? [];
    },
  };
}
