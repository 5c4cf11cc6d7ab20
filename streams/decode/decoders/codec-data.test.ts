import { describe, expect, it } from 'vitest';
import { mapCodecData } from './codec-data.js';
import type { JsonObject } from './json.js';

/** registerKey → [value, unit, exact] of every value mapped from `data`. */
function registers(data: JsonObject): Record<string, [number, string, string | undefined]> {
  return Object.fromEntries(mapCodecData(data, 'data').values.map((v) => [v.registerKey, [v.value, v.unit, v.exact]]));
}

describe('the codec mapping convention', () => {
  it.each([
    { case: 'a quantity name is in the canonical unit', data: { volume: 12.5 }, expected: { volume: [12.5, 'm3', '12.5'] } },
    { case: 'a unit token names the unit', data: { volume_l: 123456 }, expected: { volume: [123.456, 'm3', '123.456'] } },
    { case: 'camel case reads as snake case', data: { volumeL: 123456 }, expected: { volume: [123.456, 'm3', '123.456'] } },
    { case: 'kWh becomes Wh, exactly', data: { energyKWh: 1234.5 }, expected: { energy: [1_234_500, 'Wh', '1234500'] } },
    { case: 'an alias names a quantity', data: { temp: 21.5 }, expected: { temperature: [21.5, 'degC', undefined] } },
    { case: 'hPa becomes Pa', data: { pressure_hpa: 1013.25 }, expected: { pressure: [101_325, 'Pa', undefined] } },
    { case: 'a two-word quantity with a unit', data: { volumeFlowLH: 250 }, expected: { volume_flow: [0.25, 'm3/h', undefined] } },
    { case: 'a gas in ppb', data: { ch4_ppb: 1987 }, expected: { ch4: [1.987, 'ppm', undefined] } },
    {
      case: 'a { value, unit } object gives the unit as text',
      data: { energy: { value: 5, unit: 'MWh' } },
      expected: { energy: [5_000_000, 'Wh', '5000000'] },
    },
    { case: 'nested objects are read', data: { meter: { index: { volume_m3: 7 } } }, expected: { volume: [7, 'm3', '7'] } },
    { case: 'arrays are not read', data: { history: [{ volume: 1 }] }, expected: {} },
    { case: 'strings and false flags are ignored', data: { model: 'WM-1', leak: false }, expected: {} },
  ])('$case', ({ data, expected }) => {
    expect(registers(data as JsonObject)).toEqual(expected);
  });

  it('keeps the value as the codec sent it, beside the canonical one', () => {
    expect(mapCodecData({ volume_l: 1500 }, 'data').values[0]).toMatchObject({
      originalValue: 1500,
      originalUnit: 'l',
      function: 'INSTANTANEOUS',
      storageNumber: 0,
      tariff: 0,
      subunit: 0,
      cumulative: true,
    });
  });

  it.each([
    { data: { battery: 87 }, device: { batteryPercent: 87 } },
    { data: { batteryLevel: 55.5 }, device: { batteryPercent: 55.5 } },
    { data: { batteryVoltage: 3.6 }, device: { batteryVolts: 3.6 } },
    { data: { battery_mv: 3600 }, device: { batteryVolts: 3.6 } },
    { data: { status: { batteryPercent: 12 } }, device: { batteryPercent: 12 } },
  ])('reads battery fields $data as $device', ({ data, device }) => {
    expect(mapCodecData(data, 'data').device).toEqual({ ...device, statusErrors: [] });
  });

  it('turns true alarm flags into status errors', () => {
    const { device, values } = mapCodecData(
      { leak: true, tamper: false, valve_error: true, alarms: { backflow: true, dryRunAlarm: true, opened: true } },
      'data',
    );
    expect(device.statusErrors).toEqual(['LEAK', 'VALVE_ERROR', 'BACKFLOW', 'DRY_RUN_ALARM']);
    expect(values).toEqual([]);
  });

  it('stamps values with a top-level time that has a UTC offset', () => {
    const { values, warnings } = mapCodecData({ time: '2026-03-29T07:00:00+03:00', volume: 1 }, 'data');
    expect(values[0]!.observedAt).toBe(Date.parse('2026-03-29T04:00:00Z'));
    expect(warnings).toEqual([]);
  });

  it.each([
    { case: 'numbers that map to nothing', data: { rssi: -80, meter: { counter: 5 } }, warning: 'codec fields not mapped to registers: data.rssi, data.meter.counter' },
    { case: 'a unit its quantity does not take', data: { volume: { value: 3, unit: 'kWh' } }, warning: 'data.volume: unit "kWh" is not a unit of volume; not used' },
    { case: 'a second value of one quantity', data: { volume: 1, volume_l: 1000 }, warning: 'data.volume_l: a second volume in one uplink; not used' },
    { case: 'a battery level beyond 100 %', data: { battery: 250 }, warning: 'data.battery: battery level 250 is not a percentage; not used' },
    { case: 'a time without an offset', data: { timestamp: '2026-03-29T07:00:00' }, warning: 'data.timestamp: not an ISO-8601 date-time with a UTC offset; not used as observedAt' },
  ])('warns about $case', ({ data, warning }) => {
    expect(mapCodecData(data as JsonObject, 'data').warnings).toEqual([warning]);
  });
});
