/**
 * What decode needs of a device's registry row (PostgreSQL `devices`, its site and registers), in
 * the form cached in memory and Redis, and the one query that loads it.
 */
import type pg from 'pg';

/** `devices.status`. */
export type DeviceStatusName = 'new' | 'active' | 'retired';

/** A register's settings that change how its values are read. */
export interface RegisterSettings {
  /** `registers.multiplier` as a decimal string; values are multiplied by it. */
  readonly multiplier: string;
  /** `registers.digits`; null when unknown. */
  readonly digits: number | null;
  /**
   * `registers.resolution` as a decimal string: one step of the count, before the multiplier; null
   * when unknown (also missing from entries cached before the column existed).
   */
  readonly resolution: string | null;
}

/** A device as the registry knows it. JSON-safe: it is cached in Redis as JSON. */
export interface RegistryEntry {
  readonly deviceId: string;
  readonly organisationId: string | null;
  readonly siteId: string | null;
  /** IANA zone of the device's site; null when not installed. */
  readonly timeZone: string | null;
  readonly status: DeviceStatusName;
  readonly manufacturer: string | null;
  readonly model: string | null;
  readonly deviceVersion: number | null;
  readonly medium: string | null;
  readonly expectedIntervalS: number | null;
  /** `devices.codec`: `mbus`, `chirpstack-object`, `auto`, `ts013:<name>`; null is `auto`. */
  readonly codec: string | null;
  readonly firstSeenAt: number | null;
  /** The uplink whose decode registered the device; null for devices people created. */
  readonly firstUplinkId: string | null;
  /** Highest device.v1 revision written for the device. */
  readonly revision: number;
  /** By registerKey. */
  readonly registers: Readonly<Record<string, RegisterSettings>>;
}

/** A pool or a client. */
export type Queryable = Pick<pg.Pool, 'query'>;

interface EntryRow {
  id: string;
  organisation_id: string | null;
  site_id: string | null;
  time_zone: string | null;
  status: DeviceStatusName;
  manufacturer: string | null;
  model: string | null;
  device_version: number | null;
  medium: string | null;
  expected_interval_s: number | null;
  codec: string | null;
  first_seen_at: Date | null;
  first_uplink_id: string | null;
  revision: string;
  registers: Record<string, RegisterSettings>;
}

const ENTRIES = `
  SELECT d.id, d.organisation_id, d.site_id, s.time_zone, d.status, d.manufacturer, d.model, d.device_version,
         d.medium, d.expected_interval_s, d.codec, d.first_seen_at, d.first_uplink_id, d.revision,
         COALESCE((SELECT json_object_agg(r.register_key, json_build_object('multiplier', r.multiplier::text, 'digits', r.digits, 'resolution', r.resolution::text))
                   FROM registers r WHERE r.device_id = d.id), '{}') AS registers
  FROM devices d LEFT JOIN sites s ON s.id = d.site_id
  WHERE d.id = ANY($1::text[])`;

/** Loads the entries of `deviceIds` in one query; devices without a row are missing from the map. */
export async function loadEntries(db: Queryable, deviceIds: readonly string[]): Promise<Map<string, RegistryEntry>> {
  const entries = new Map<string, RegistryEntry>();
  if (deviceIds.length === 0) return entries;
  const { rows } = await db.query<EntryRow>(ENTRIES, [deviceIds]);
  for (const row of rows) {
    entries.set(row.id, {
      deviceId: row.id,
      organisationId: row.organisation_id,
      siteId: row.site_id,
      timeZone: row.time_zone,
      status: row.status,
      manufacturer: row.manufacturer,
      model: row.model,
      deviceVersion: row.device_version,
      medium: row.medium,
      expectedIntervalS: row.expected_interval_s,
      codec: row.codec,
      firstSeenAt: row.first_seen_at?.getTime() ?? null,
      firstUplinkId: row.first_uplink_id,
      revision: Number(row.revision),
      registers: row.registers,
    });
  }
  return entries;
}

/** The transport ids a device id carries (schemas/avro/README.md, `{deviceId}`). */
export interface TransportIds {
  readonly mbusSecondaryAddress: string | null;
  readonly devEui: string | null;
  readonly stationId: string | null;
}

/** `mbus:…` → the secondary address, `lorawan:…` → the DevEUI, `station:…` → the station id. */
export function transportIdsOf(deviceId: string): TransportIds {
  const separator = deviceId.indexOf(':');
  const scheme = deviceId.slice(0, separator);
  const id = deviceId.slice(separator + 1);
  return {
    mbusSecondaryAddress: scheme === 'mbus' ? id : null,
    devEui: scheme === 'lorawan' ? id : null,
    stationId: scheme === 'station' ? id : null,
  };
}
