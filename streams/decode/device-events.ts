/**
 * device.v1 records and the throttling of last-seen writes. Pure.
 *
 * A device heard again is written (PostgreSQL `devices` and a device.v1 SEEN, or UPDATED when
 * decode filled in facts the registry lacked) at most once per `seenThrottleMs` of receipt time,
 * and at once when its battery changes band, so battery alarms are not delayed by the throttle,
 * when it reports its position for the first time, or a firmware version other than the last one.
 * A position that moves later is written with the next throttled record (GPS jitter would
 * otherwise write every uplink).
 */
import type { Device, DeviceChange, DeviceStatus } from '../../schemas/avro/index.js';
import type { DeviceStatusName, RegistryEntry } from './registry-entry.js';
import { transportIdsOf } from './registry-entry.js';
import type { DeviceState } from './state.js';

/** Options of the last-seen writes. */
export interface SeenOptions {
  /**
   * Receipt time between two writes of a device's last seen, battery and signal.
   * @default 300000 (5 min)
   */
  readonly seenThrottleMs?: number;
}

const DEFAULT_SEEN_THROTTLE_MS = 300_000;

/**
 * The battery band of the latest known battery facts: by percentage `critical` (< 10), `low`
 * (< 25), `half` (< 50), `good`; by voltage alone in 0.1 V steps; else `unknown`.
 */
export function batteryBand(percent: number | undefined, volts: number | undefined): string {
  if (percent !== undefined) {
    if (percent < 10) return 'critical';
    if (percent < 25) return 'low';
    if (percent < 50) return 'half';
    return 'good';
  }
  if (volts !== undefined) return `${(Math.floor(volts * 10) / 10).toFixed(1)}V`;
  return 'unknown';
}

/**
 * Whether a known device's facts are due to be written after an uplink received at `receivedAt`,
 * whose battery facts put the device in `band` ({@link batteryBand}).
 */
export function seenIsDue(previous: DeviceState | undefined, band: string, receivedAt: number, options: SeenOptions = {}): boolean {
  if (previous === undefined) return true;
  return receivedAt - previous.reportedAt >= (options.seenThrottleMs ?? DEFAULT_SEEN_THROTTLE_MS) || band !== previous.batteryBand;
}

/**
 * Whether the device's state after an uplink (`next`) reports something the last write lacked and
 * that is written at once: its first position, or another firmware version. `previous` holds what
 * was last written of these, since either makes the write due the moment it changes.
 */
export function newPositionOrFirmware(previous: DeviceState | undefined, next: DeviceState): boolean {
  if (previous === undefined) return true;
  return (previous.latitudeDeg === undefined && next.latitudeDeg !== undefined) || next.firmwareVersion !== previous.firmwareVersion;
}

const STATUS: Readonly<Record<DeviceStatusName, DeviceStatus>> = { new: 'NEW', active: 'ACTIVE', retired: 'RETIRED' };

/** The device.v1 record of a device after an uplink. */
export function deviceRecord(entry: RegistryEntry, state: DeviceState, change: DeviceChange, nowMs: number): Device {
  const ids = transportIdsOf(entry.deviceId);
  return {
    deviceId: entry.deviceId,
    organisationId: entry.organisationId,
    siteId: entry.siteId,
    mbusSecondaryAddress: ids.mbusSecondaryAddress,
    devEui: ids.devEui,
    stationId: ids.stationId,
    manufacturer: entry.manufacturer,
    model: entry.model,
    deviceVersion: entry.deviceVersion,
    medium: entry.medium,
    status: STATUS[entry.status],
    change,
    firstSeenAt: Math.min(entry.firstSeenAt ?? state.firstSeenAt, state.firstSeenAt),
    lastSeenAt: state.lastSeenAt,
    batteryPercent: state.batteryPercent ?? null,
    batteryVolts: state.batteryVolts ?? null,
    rssiDbm: state.rssiDbm ?? null,
    snrDb: state.snrDb ?? null,
    latitudeDeg: state.latitudeDeg ?? null,
    longitudeDeg: state.longitudeDeg ?? null,
    firmwareVersion: state.firmwareVersion ?? null,
    updatedAt: nowMs,
    revision: state.revision,
  };
}
