import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SchemaValidationError } from '../../../core/errors.js';
import type { PayloadFormat } from '../../../schemas/avro/index.js';
import { decodeUplink } from './index.js';
import { contextOf, rejection, uplinkOf } from './testing/uplinks.js';

const MQTT_FIXTURES = new URL('../../../test/fixtures/mqtt/', import.meta.url);
const TIME = Date.parse('2026-03-29T07:15:00Z');

function decodeStation(format: PayloadFormat, json: string | object) {
  const payload = typeof json === 'string' ? json : JSON.stringify(json);
  return decodeUplink(uplinkOf(format, payload, { deviceId: 'station:minsk-01' }), contextOf());
}

function fixture(name: string): string {
  return readFileSync(new URL(name, MQTT_FIXTURES), 'utf8');
}

describe('station telemetry', () => {
  it('gives one value per gas and quantity, observed at the message time', async () => {
    const decoded = await decodeStation('STATION_TELEMETRY', fixture('station-telemetry.json'));
    expect(decoded.values.map((value) => [value.registerKey, value.value, value.unit, value.observedAt])).toEqual([
      ['co2', 421.37, 'ppm', TIME],
      ['ch4', 1.9874, 'ppm', TIME],
      ['n2o', 0.3361, 'ppm', TIME],
      ['h2o', 9850, 'ppm', TIME],
      ['temperature', 4.2, 'degC', TIME],
      ['pressure', 99870, 'Pa', TIME],
      ['relative_humidity', 71.5, '%', TIME],
      ['wind_speed', 3.4, 'm/s', TIME],
      ['wind_direction', 245, 'deg', TIME],
    ]);
    expect(decoded.values.every((value) => !value.cumulative && value.function === 'INSTANTANEOUS')).toBe(true);
    expect(decoded.device).toEqual({
      medium: 'ghg_station',
      reportIntervalS: 60,
      location: { latitudeDeg: 53.9045, longitudeDeg: 27.5615, altitudeM: 220 },
      statusErrors: [],
    });
    expect(decoded).toMatchObject({ kind: 'readings', warnings: [], decoderVersion: 'station@1.0.0' });
  });

  it('reads a minimal message, where null means not reported and unknown fields are ignored', async () => {
    const decoded = await decodeStation('STATION_TELEMETRY', fixture('station-telemetry-minimal.json'));
    expect(decoded.values.map((value) => value.registerKey)).toEqual(['co2', 'temperature', 'pressure']);
    expect(decoded.values[0]!.observedAt).toBe(Date.parse('2026-03-29T07:15:00.250Z'));
    expect(decoded.device).toEqual({ medium: 'ghg_station', statusErrors: [] });
  });

  it('refuses every invalid field at once, naming each', async () => {
    const err = await rejection(
      decodeStation('STATION_TELEMETRY', { time: '2026-03-29 07:15', co2Ppm: -1, temperatureC: 'cold', windDirectionDeg: 360 }),
    );
    expect(err).toBeInstanceOf(SchemaValidationError);
    expect(err).toMatchObject({
      reason: 'INVALID_STATION_TELEMETRY',
      paths: ['time', 'co2Ppm', 'temperatureC', 'pressurePa', 'windDirectionDeg'],
    });
  });
});

describe('station position', () => {
  const telemetry = { time: '2026-03-29T07:15:00Z', co2Ppm: 421.37, temperatureC: 4.2, pressurePa: 99870 };

  it('carries both coordinates, the poles and the antimeridian included', async () => {
    for (const [latitudeDeg, longitudeDeg] of [[53.9045, 27.5615], [-90, -180], [90, 180], [0, 0]] as const) {
      const decoded = await decodeStation('STATION_TELEMETRY', { ...telemetry, latitudeDeg, longitudeDeg });
      expect(decoded.device.location).toEqual({ latitudeDeg, longitudeDeg });
      expect(decoded.warnings).toEqual([]);
    }
  });

  it('refuses a coordinate out of range with INVALID_STATION_TELEMETRY and its path', async () => {
    for (const [position, path] of [
      [{ latitudeDeg: 90.0001, longitudeDeg: 27.5 }, 'latitudeDeg'],
      [{ latitudeDeg: -91, longitudeDeg: 27.5 }, 'latitudeDeg'],
      [{ latitudeDeg: 53.9, longitudeDeg: 180.5 }, 'longitudeDeg'],
      [{ latitudeDeg: 53.9, longitudeDeg: -181 }, 'longitudeDeg'],
      [{ latitudeDeg: '53.9', longitudeDeg: 27.5 }, 'latitudeDeg'],
    ] as const) {
      const err = await rejection(decodeStation('STATION_TELEMETRY', { ...telemetry, ...position }));
      expect(err).toBeInstanceOf(SchemaValidationError);
      expect(err).toMatchObject({ reason: 'INVALID_STATION_TELEMETRY', paths: [path] });
      expect((err as Error).message).toContain(path);
    }
  });

  it('ignores half a position, with a warning, and keeps the values', async () => {
    const decoded = await decodeStation('STATION_TELEMETRY', { ...telemetry, latitudeDeg: 53.9 });
    expect(decoded.device.location).toBeUndefined();
    expect(decoded.values).toHaveLength(3);
    expect(decoded.warnings).toEqual(['latitudeDeg without longitudeDeg: position ignored']);
  });
});

describe('station status', () => {
  it('gives the battery, diagnostic codes and faulty sensors, and no values', async () => {
    expect(await decodeStation('STATION_STATUS', fixture('station-status.json'))).toEqual({
      values: [],
      device: {
        medium: 'ghg_station',
        batteryPercent: 86,
        batteryVolts: 12.61,
        firmwareVersion: '2.4.1',
        statusErrors: ['CH4-LASER-TEMP', 'WIND-NO-SIGNAL', 'SENSOR_DEGRADED:ch4', 'SENSOR_FAULT:wind'],
      },
      warnings: [],
      kind: 'status',
      decoderVersion: 'station@1.0.0',
    });
  });

  it('gives no firmware version when the status has none, and refuses an empty one', async () => {
    const status = { time: '2026-03-29T07:15:00Z', batteryPercent: 86 };
    expect((await decodeStation('STATION_STATUS', status)).device).not.toHaveProperty('firmwareVersion');
    const err = await rejection(decodeStation('STATION_STATUS', { ...status, firmwareVersion: '' }));
    expect(err).toMatchObject({ reason: 'INVALID_STATION_STATUS', paths: ['firmwareVersion'] });
  });
});

/**
 * The MQTT connector's station fixtures: what it accepted must decode, and what it refused must be
 * refused here too, naming the same field. Uplinks replayed from the topic meet the same rules.
 */
const CONNECTOR_CASES = readdirSync(MQTT_FIXTURES)
  .filter((name) => /^station-(telemetry|status)/.test(name) && name.endsWith('.expected.json'))
  .map((name) => name.slice(0, -'.expected.json'.length));

describe('the station connector\'s fixtures', () => {
  it('are there to check', () => {
    expect(CONNECTOR_CASES.length).toBeGreaterThanOrEqual(8);
  });

  it.each(CONNECTOR_CASES)('%s is decoded or refused as the connector did', async (name) => {
    const expected = JSON.parse(fixture(`${name}.expected.json`)) as { uplink?: unknown; rejected?: { field: string } };
    const format: PayloadFormat = name.startsWith('station-status') ? 'STATION_STATUS' : 'STATION_TELEMETRY';
    const decoding = decodeStation(format, fixture(`${name}.json`));
    if (expected.rejected === undefined) {
      await expect(decoding).resolves.toMatchObject({ device: { medium: 'ghg_station' } });
    } else {
      const err = await rejection(decoding);
      expect(err).toBeInstanceOf(SchemaValidationError);
      expect((err as SchemaValidationError).paths).toContain(expected.rejected.field);
    }
  });
});
