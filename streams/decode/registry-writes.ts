/**
 * Decode's writes to the registry, as one SQL statement per batch: devices that registered
 * themselves, registers they reported, and the throttled last-seen, battery, signal, position and
 * firmware updates.
 * Every part is idempotent (inserts do nothing on conflict, updates only move last seen forward,
 * fill-ins only fill NULLs), because a batch whose Kafka transaction aborts is processed, and
 * written, again.
 */
import type { Queryable } from './registry-entry.js';

/** A device that registered itself. Times are epoch ms. */
export interface DeviceInsert {
  readonly id: string;
  readonly mbusSecondaryAddress: string | null;
  readonly devEui: string | null;
  readonly stationId: string | null;
  readonly manufacturer: string | null;
  readonly deviceVersion: number | null;
  readonly medium: string | null;
  readonly expectedIntervalS: number | null;
  readonly firstSeenAt: number;
  readonly lastSeenAt: number;
  readonly batteryPercent: number | null;
  readonly batteryVolts: number | null;
  readonly rssiDbm: number | null;
  readonly snrDb: number | null;
  /** Reported position, WGS 84 degrees; both or neither. */
  readonly latitudeDeg: number | null;
  readonly longitudeDeg: number | null;
  readonly firmwareVersion: string | null;
  readonly firstUplinkId: string;
  readonly revision: number;
}

/** A register a device reported. Its id is `{deviceId}/{registerKey}`. */
export interface RegisterInsert {
  readonly deviceId: string;
  readonly registerKey: string;
  readonly quantity: string;
  readonly unit: string;
  readonly cumulative: boolean;
  /** One step of the count in `unit`, as a decimal string, when the decoder states it; else null. */
  readonly resolution: string | null;
}

/**
 * A known device heard again: last seen moves forward, reported facts replace the stored ones,
 * facts the row lacks (NULL) are filled in, and the revision only rises. The fill-in fields
 * (manufacturer, version, medium, interval) are non-null only when they fill a gap.
 */
export interface DeviceUpdate {
  readonly id: string;
  readonly lastSeenAt: number;
  readonly batteryPercent: number | null;
  readonly batteryVolts: number | null;
  readonly rssiDbm: number | null;
  readonly snrDb: number | null;
  /** Last reported position (both or neither) and firmware; null keeps the stored value. */
  readonly latitudeDeg: number | null;
  readonly longitudeDeg: number | null;
  readonly firmwareVersion: string | null;
  readonly manufacturer: string | null;
  readonly deviceVersion: number | null;
  readonly medium: string | null;
  readonly expectedIntervalS: number | null;
  readonly revision: number;
}

/** What one batch writes. */
export interface RegistryWrites {
  readonly inserts: readonly DeviceInsert[];
  readonly registers: readonly RegisterInsert[];
  readonly updates: readonly DeviceUpdate[];
}

// Data-modifying CTEs run in one statement, one snapshot: the registers' device check therefore
// takes the inserted ids from `inserted` besides the rows that already existed. A device whose insert
// hit a unique transport id held by another row gets no registers rather than failing the batch.
const WRITE = `
  WITH inserted AS (
    INSERT INTO devices (id, mbus_secondary_address, dev_eui, station_id, manufacturer, device_version, medium, status,
                         expected_interval_s, first_seen_at, last_seen_at, battery_percent, battery_volts, rssi_dbm, snr_db,
                         latitude, longitude, firmware_version, first_uplink_id, revision)
    SELECT n.id, n.mbus_secondary_address, n.dev_eui, n.station_id, n.manufacturer, n.device_version, n.medium, 'new',
           n.expected_interval_s, to_timestamp(n.first_seen_at / 1000.0), to_timestamp(n.last_seen_at / 1000.0),
           n.battery_percent, n.battery_volts, n.rssi_dbm, n.snr_db, n.latitude, n.longitude, n.firmware_version,
           n.first_uplink_id, n.revision
    FROM jsonb_to_recordset($1::jsonb) AS n(id text, mbus_secondary_address text, dev_eui text, station_id text,
         manufacturer text, device_version integer, medium text, expected_interval_s integer, first_seen_at bigint,
         last_seen_at bigint, battery_percent real, battery_volts real, rssi_dbm real, snr_db real,
         latitude double precision, longitude double precision, firmware_version text, first_uplink_id text, revision bigint)
    ON CONFLICT DO NOTHING
    RETURNING id
  ), registered AS (
    INSERT INTO registers (id, device_id, register_key, quantity, unit, cumulative, resolution)
    SELECT r.device_id || '/' || r.register_key, r.device_id, r.register_key, r.quantity, r.unit, r.cumulative, r.resolution
    FROM jsonb_to_recordset($2::jsonb) AS r(device_id text, register_key text, quantity text, unit text, cumulative boolean,
         resolution numeric)
    WHERE r.device_id IN (SELECT id FROM inserted) OR EXISTS (SELECT 1 FROM devices d WHERE d.id = r.device_id)
    ON CONFLICT DO NOTHING
    RETURNING id
  ), updated AS (
    UPDATE devices d SET
      last_seen_at = GREATEST(d.last_seen_at, to_timestamp(u.last_seen_at / 1000.0)),
      first_seen_at = COALESCE(d.first_seen_at, to_timestamp(u.last_seen_at / 1000.0)),
      battery_percent = COALESCE(u.battery_percent, d.battery_percent),
      battery_volts = COALESCE(u.battery_volts, d.battery_volts),
      rssi_dbm = COALESCE(u.rssi_dbm, d.rssi_dbm),
      snr_db = COALESCE(u.snr_db, d.snr_db),
      latitude = CASE WHEN u.latitude IS NULL OR u.longitude IS NULL THEN d.latitude ELSE u.latitude END,
      longitude = CASE WHEN u.latitude IS NULL OR u.longitude IS NULL THEN d.longitude ELSE u.longitude END,
      firmware_version = COALESCE(u.firmware_version, d.firmware_version),
      manufacturer = COALESCE(d.manufacturer, u.manufacturer),
      device_version = COALESCE(d.device_version, u.device_version),
      medium = COALESCE(d.medium, u.medium),
      expected_interval_s = COALESCE(d.expected_interval_s, u.expected_interval_s),
      revision = GREATEST(d.revision, u.revision),
      updated_at = now()
    FROM jsonb_to_recordset($3::jsonb) AS u(id text, last_seen_at bigint, battery_percent real, battery_volts real,
         rssi_dbm real, snr_db real, latitude double precision, longitude double precision, firmware_version text, manufacturer text, device_version integer, medium text, expected_interval_s integer,
         revision bigint)
    WHERE d.id = u.id
    RETURNING d.id
  )
  SELECT (SELECT count(*) FROM inserted)::int AS inserted, (SELECT count(*) FROM registered)::int AS registered,
         (SELECT count(*) FROM updated)::int AS updated`;

/** What {@link writeRegistry} changed. */
export interface WriteCounts {
  readonly inserted: number;
  readonly registered: number;
  readonly updated: number;
}

/** Writes a batch's registry changes in one statement (one round trip, all or nothing). */
export async function writeRegistry(db: Queryable, writes: RegistryWrites): Promise<WriteCounts> {
  const { rows } = await db.query<WriteCounts>(WRITE, [
    JSON.stringify(writes.inserts.map(insertRow)),
    JSON.stringify(writes.registers.map(registerRow)),
    JSON.stringify(writes.updates.map(updateRow)),
  ]);
  return rows[0]!;
}

function insertRow(d: DeviceInsert): Record<string, unknown> {
  return {
    id: d.id,
    mbus_secondary_address: d.mbusSecondaryAddress,
    dev_eui: d.devEui,
    station_id: d.stationId,
    manufacturer: d.manufacturer,
    device_version: d.deviceVersion,
    medium: d.medium,
    expected_interval_s: d.expectedIntervalS,
    first_seen_at: d.firstSeenAt,
    last_seen_at: d.lastSeenAt,
    battery_percent: d.batteryPercent,
    battery_volts: d.batteryVolts,
    rssi_dbm: d.rssiDbm,
    snr_db: d.snrDb,
    latitude: d.latitudeDeg,
    longitude: d.longitudeDeg,
    firmware_version: d.firmwareVersion,
    first_uplink_id: d.firstUplinkId,
    revision: d.revision,
  };
}

function registerRow(r: RegisterInsert): Record<string, unknown> {
  return { device_id: r.deviceId, register_key: r.registerKey, quantity: r.quantity, unit: r.unit, cumulative: r.cumulative, resolution: r.resolution };
}

function updateRow(u: DeviceUpdate): Record<string, unknown> {
  return {
    id: u.id,
    last_seen_at: u.lastSeenAt,
    battery_percent: u.batteryPercent,
    battery_volts: u.batteryVolts,
    rssi_dbm: u.rssiDbm,
    snr_db: u.snrDb,
    latitude: u.latitudeDeg,
    longitude: u.longitudeDeg,
    firmware_version: u.firmwareVersion,
    manufacturer: u.manufacturer,
    device_version: u.deviceVersion,
    medium: u.medium,
    expected_interval_s: u.expectedIntervalS,
    revision: u.revision,
  };
}
