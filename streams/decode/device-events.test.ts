import { describe, expect, it } from 'vitest';
import { batteryBand, deviceRecord, newPositionOrFirmware, seenIsDue } from './device-events.js';
import type { RegistryEntry } from './registry-entry.js';
import type { DeviceState } from './state.js';

const T0 = Date.parse('2026-03-29T07:00:00Z');
const MINUTE = 60_000;

const state = (fields: Partial<DeviceState> = {}): DeviceState => ({
  t: 'device',
  revision: 3,
  firstSeenAt: T0,
  lastSeenAt: T0,
  reportedAt: T0,
  batteryBand: 'good',
  registers: {},
  alerts: {},
  seenDays: {},
  ...fields,
});

describe('battery bands', () => {
  it.each([
    [9.9, undefined, 'critical'],
    [10, undefined, 'low'],
    [24, undefined, 'low'],
    [25, undefined, 'half'],
    [50, 3.0, 'good'],
    [undefined, 3.62, '3.6V'],
    [undefined, undefined, 'unknown'],
  ])('%s %% and %s V are %s', (percent, volts, band) => {
    expect(batteryBand(percent, volts)).toBe(band);
  });
});

describe('last-seen throttling', () => {
  it('writes on first contact, then once 5 minutes of receipt time have passed', () => {
    expect(seenIsDue(undefined, 'good', T0)).toBe(true);
    expect(seenIsDue(state(), state().batteryBand, T0 + 4 * MINUTE)).toBe(false);
    expect(seenIsDue(state(), state().batteryBand, T0 + 5 * MINUTE)).toBe(true);
  });

  it('writes at once when the battery changes band, and follows its option', () => {
    expect(seenIsDue(state(), 'low', T0 + MINUTE)).toBe(true);
    expect(seenIsDue(state(), state().batteryBand, T0 + MINUTE, { seenThrottleMs: MINUTE })).toBe(true);
  });
});

describe('position and firmware writes', () => {
  const placed = state({ latitudeDeg: 53.9, longitudeDeg: 27.5, firmwareVersion: '2.4.1' });

  it('writes at once the first position and a firmware version other than the last one', () => {
    expect(newPositionOrFirmware(state(), state({ latitudeDeg: 53.9, longitudeDeg: 27.5 }))).toBe(true);
    expect(newPositionOrFirmware(placed, { ...placed, firmwareVersion: '2.5.0' })).toBe(true);
    expect(newPositionOrFirmware(state(), state({ firmwareVersion: '2.4.1' }))).toBe(true);
  });

  it('leaves a moved position, and the same facts, to the throttle', () => {
    expect(newPositionOrFirmware(placed, { ...placed, latitudeDeg: 53.90001 })).toBe(false);
    expect(newPositionOrFirmware(placed, placed)).toBe(false);
    expect(newPositionOrFirmware(state(), state())).toBe(false);
  });
});

describe('device.v1 records', () => {
  it('carry the registry view, the transport id from the device id, and the latest known facts', () => {
    const entry: RegistryEntry = {
      deviceId: 'lorawan:70b3d5e75e001234',
      organisationId: 'org-1',
      siteId: null,
      timeZone: null,
      status: 'retired',
      manufacturer: null,
      model: 'Axioma W1',
      deviceVersion: null,
      medium: 'water',
      expectedIntervalS: 900,
      codec: 'ts013:axioma',
      firstSeenAt: T0 - 86_400_000,
      firstUplinkId: null,
      revision: 2,
      registers: {},
    };
    expect(deviceRecord(entry, state({ lastSeenAt: T0 + MINUTE, batteryPercent: 88, rssiDbm: -101 }), 'SEEN', T0 + 2 * MINUTE)).toEqual({
      deviceId: 'lorawan:70b3d5e75e001234',
      organisationId: 'org-1',
      siteId: null,
      mbusSecondaryAddress: null,
      devEui: '70b3d5e75e001234',
      stationId: null,
      manufacturer: null,
      model: 'Axioma W1',
      deviceVersion: null,
      medium: 'water',
      status: 'RETIRED',
      change: 'SEEN',
      firstSeenAt: T0 - 86_400_000,
      lastSeenAt: T0 + MINUTE,
      batteryPercent: 88,
      batteryVolts: null,
      rssiDbm: -101,
      snrDb: null,
      latitudeDeg: null,
      longitudeDeg: null,
      firmwareVersion: null,
      updatedAt: T0 + 2 * MINUTE,
      revision: 3,
    });
  });

  it('carry the last reported position and firmware of a station', () => {
    const entry: RegistryEntry = {
      deviceId: 'station:minsk-01', organisationId: null, siteId: null, timeZone: null, status: 'new', manufacturer: null, model: null,
      deviceVersion: null, medium: 'ghg_station', expectedIntervalS: 60, codec: null, firstSeenAt: T0, firstUplinkId: 'u-1', revision: 1, registers: {},
    };
    const record = deviceRecord(entry, state({ latitudeDeg: 53.9045, longitudeDeg: 27.5615, firmwareVersion: '2.4.1' }), 'SEEN', T0);
    expect(record).toMatchObject({ stationId: 'minsk-01', latitudeDeg: 53.9045, longitudeDeg: 27.5615, firmwareVersion: '2.4.1' });
  });
});
