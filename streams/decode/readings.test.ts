import { describe, expect, it } from 'vitest';
import { decodeUplink } from './decoders/index.js';
import { contextOf } from './decoders/testing/uplinks.js';
import { mapReadings, type ReadingInputs } from './readings.js';
import type { RegisterMark } from './state.js';
import { mbusUplink, type MeterReading, type TestMeter } from './testing/uplinks.js';

const METER: TestMeter = { id: 10020387, manufacturer: 'ACW', version: 0x14, medium: 0x07 };
const RECEIVED = Date.parse('2026-03-29T07:15:03Z');
const UPLINK_ID = '0b6f0f6e-7f0e-4d3b-9a52-3f7e2f0c1a11';

async function map(reading: MeterReading, fields: Partial<ReadingInputs> = {}, timeZone = 'Europe/Minsk') {
  const uplink = { ...mbusUplink(METER, reading, { uplinkId: UPLINK_ID, receivedAt: RECEIVED }), ...fields.uplink };
  const decoded = await decodeUplink(uplink, contextOf({ timeZone }));
  return mapReadings({
    uplink,
    decoded,
    organisationId: 'org-1',
    siteId: 'site-1',
    registers: {},
    marks: {},
    deviceError: false,
    lowBattery: false,
    ...fields,
  });
}

describe('readings from a decoded M-Bus frame', () => {
  it('carries ids, units, the meter time read in the site zone, and no flags when all is well', async () => {
    // 09:15 on the meter's clock in Minsk (UTC+3) is 06:15 UTC.
    const { readings } = await map({ litres: 123_456, meterTime: new Date('2026-03-29T09:15:00Z') });
    expect(readings).toEqual([
      {
        readingId: `${UPLINK_ID}:0`,
        uplinkId: UPLINK_ID,
        deviceId: 'mbus:1002038704771407',
        registerKey: 'volume',
        organisationId: 'org-1',
        siteId: 'site-1',
        quantity: 'volume',
        value: 123.456,
        unit: 'm3',
        originalValue: 123.456,
        originalUnit: 'm3',
        function: 'INSTANTANEOUS',
        storageNumber: 0,
        tariff: 0,
        subunit: 0,
        cumulative: true,
        observedAt: Date.parse('2026-03-29T06:15:00Z'),
        receivedAt: RECEIVED,
        qualityFlags: [],
        decoderVersion: 'mbus@1.0.0',
      },
    ]);
  });

  it('takes the receipt time when the payload has no time, flagged TIME_FROM_RECEIPT', async () => {
    const [reading] = (await map({ litres: 1 })).readings;
    expect(reading).toMatchObject({ observedAt: RECEIVED, qualityFlags: ['TIME_FROM_RECEIPT'] });
  });

  it('takes the transport device time before the receipt time, without the flag', async () => {
    const deviceTimeAt = RECEIVED - 2000;
    const uplink = { ...mbusUplink(METER, { litres: 1 }, { receivedAt: RECEIVED }), deviceTimeAt };
    const [reading] = (await map({ litres: 1 }, { uplink })).readings;
    expect(reading).toMatchObject({ observedAt: deviceTimeAt, qualityFlags: [] });
  });

  it('flags a meter clock ahead of receipt, keeping its time', async () => {
    const [reading] = (await map({ litres: 1, meterTime: new Date('2026-03-29T11:15:00Z') })).readings;
    expect(reading).toMatchObject({ observedAt: Date.parse('2026-03-29T08:15:00Z'), qualityFlags: ['CLOCK_IN_FUTURE'] });
  });

  it('flags a meter clock from long ago as CLOCK_TOO_OLD', async () => {
    const [reading] = (await map({ litres: 1, meterTime: new Date('2025-01-01T00:00:00Z') })).readings;
    expect(reading?.qualityFlags).toEqual(['CLOCK_TOO_OLD']);
  });

  it('multiplies by the register multiplier, keeping the original value', async () => {
    const [reading] = (await map({ litres: 2000 }, { registers: { volume: { multiplier: '10.000000000000', digits: null, resolution: null } } })).readings;
    expect(reading).toMatchObject({ value: 20, originalValue: 2 });
  });

  it('flags a value beyond the register digits the registry gives as OUT_OF_RANGE', async () => {
    const [reading] = (await map({ litres: 123_456 }, { registers: { volume: { multiplier: '1', digits: 5, resolution: null } } })).readings;
    expect(reading?.qualityFlags).toContain('OUT_OF_RANGE');
  });

  it('flags a register that went back a little as SUSPECTED_RESET and reports the reset', async () => {
    const marks: Record<string, RegisterMark> = { volume: { value: 300, at: RECEIVED - 3_600_000, step: -3 } };
    const { readings, resets, marks: next } = await map({ litres: 2_345 }, { marks });
    expect(readings[0]?.qualityFlags).toEqual(['TIME_FROM_RECEIPT', 'SUSPECTED_RESET']);
    expect(readings[0]?.value).toBe(2.345);
    expect(resets).toEqual([{ registerKey: 'volume', unit: 'm3', from: 300, fromAt: RECEIVED - 3_600_000, to: 2.345, at: RECEIVED }]);
    expect(next['volume']).toEqual({ value: 2.345, at: RECEIVED, step: -3 });
  });

  it('flags a register that wrapped past its maximum as ROLLOVER, without a reset', async () => {
    const marks: Record<string, RegisterMark> = { volume: { value: 99_999.5, at: RECEIVED - 3_600_000, step: -3 } };
    const { readings, resets } = await map({ litres: 1_250 }, { marks });
    expect(readings[0]?.qualityFlags).toEqual(['TIME_FROM_RECEIPT', 'ROLLOVER']);
    expect(resets).toEqual([]);
  });

  it('judges the wrap with the registry resolution: an 8-digit meter at 0.001 m3 wrapping 99999.998 → 0.003 is a ROLLOVER', async () => {
    const registers = { volume: { multiplier: '1', digits: 8, resolution: '0.001000000000' } };
    // A mark from a state that saw only round values: its estimate alone (0.1 m3, range 10^7) would call this a reset.
    const marks: Record<string, RegisterMark> = { volume: { value: 99_999.998, at: RECEIVED - 3_600_000, step: -1 } };
    const { readings, resets } = await map({ litres: 3 }, { registers, marks });
    expect(readings[0]?.qualityFlags).toEqual(['TIME_FROM_RECEIPT', 'ROLLOVER']);
    expect(resets).toEqual([]);
  });

  it('flags every reading of an uplink reporting an error or a low battery', async () => {
    const [reading] = (await map({ litres: 1 }, { deviceError: true, lowBattery: true })).readings;
    expect(reading?.qualityFlags).toEqual(['TIME_FROM_RECEIPT', 'DEVICE_ERROR', 'LOW_BATTERY']);
  });
});
