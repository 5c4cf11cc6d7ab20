import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../core/errors.js';
import { fixtureNames, parseHex, readFixture, requireFixtures } from '../../../protocols/mbus/testing/libmbus-fixtures.js';
import { decodeUplink, type DecodedUplink, type DecodedValue } from './index.js';
import { contextOf, rejection, uplinkOf } from './testing/uplinks.js';
import { quantityInfo } from './units.js';
import { registerKey } from './values.js';

const FIXTURES = new URL('../../../test/fixtures/decode/', import.meta.url);

/** A long frame from a KAM water meter 12345678 with `status`, carrying `records` (hex). */
function longFrame(records: string, status = 0x00): Buffer {
  const header = Buffer.concat([Buffer.from('08017278563412', 'hex'), Buffer.from([0x2d, 0x2c, 0x01, 0x07, 0x01, status, 0x00, 0x00])]);
  const data = Buffer.concat([header, Buffer.from(records.replace(/\s/g, ''), 'hex')]);
  let sum = 0;
  for (const byte of data) sum += byte;
  return Buffer.concat([Buffer.from([0x68, data.length, data.length, 0x68]), data, Buffer.from([sum & 0xff, 0x16])]);
}

function decodeFrame(frame: Uint8Array, timeZone?: string): Promise<DecodedUplink> {
  return decodeUplink(uplinkOf('MBUS_LONG_FRAME', frame), contextOf({ timeZone }));
}

function libmbusFrame(name: string): Buffer {
  return Buffer.from(parseHex(readFixture('frames', `${name}.hex`)!));
}

describe('every libmbus fixture frame', () => {
  it('is there to decode', () => {
    requireFixtures();
    expect(fixtureNames('frames').length).toBeGreaterThan(50);
  });

  it.each(fixtureNames('frames'))('%s decodes to values of known quantities in canonical units', async (name) => {
    const { values, kind } = await decodeFrame(libmbusFrame(name), 'Europe/Berlin');
    expect(kind).toBe(values.length === 0 ? 'status' : 'readings');
    const keys = new Set<string>();
    for (const value of values) {
      const info = quantityInfo(value.quantity);
      expect(info, value.quantity).toBeDefined();
      expect(value.unit).toBe(info!.unit);
      expect(value.cumulative).toBe(info!.cumulative);
      expect(Number.isFinite(value.value)).toBe(true);
      expect(value.registerKey).toBe(registerKey(value.quantity, value.tariff, value.storageNumber, value.subunit, value.function));
      expect(keys.has(value.registerKey), `${value.registerKey} twice`).toBe(false);
      keys.add(value.registerKey);
      if (value.exact !== undefined) expect(Number(value.exact)).toBe(value.value);
    }
  });
});

interface DecodeFixture {
  readonly frame: string;
  readonly timeZone: string;
  readonly expected: DecodedUplink;
}

const SPOT_CHECKS = readdirSync(FIXTURES)
  .filter((name) => name.startsWith('mbus-') && name.endsWith('.json'))
  .map((name) => name.slice(0, -'.json'.length));

describe('spot-checked frames', () => {
  it('has fixtures to check', () => {
    expect(SPOT_CHECKS.length).toBeGreaterThanOrEqual(4);
  });

  it.each(SPOT_CHECKS)('%s decodes to the values, device and warnings its fixture states', async (name) => {
    const fixture = JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')) as DecodeFixture;
    expect(await decodeFrame(libmbusFrame(fixture.frame), fixture.timeZone)).toEqual(fixture.expected);
  });
});

/** The value of one register in a decoded frame. */
async function registerOf(records: string, key: string): Promise<DecodedValue | undefined> {
  const { values } = await decodeFrame(longFrame(records));
  return values.find((value) => value.registerKey === key);
}

describe('records to values', () => {
  it.each([
    {
      case: 'an 8-digit BCD volume in litres becomes m3, exactly',
      records: '0C 13 78 56 34 12',
      key: 'volume',
      expected: { value: 12345.678, exact: '12345.678', resolution: '0.001', unit: 'm3', originalValue: 12345.678, originalUnit: 'm3', cumulative: true },
    },
    {
      case: 'a 32-bit energy in kWh becomes Wh, exactly, counting in steps of 1000 Wh',
      records: '04 06 E8 03 00 00',
      key: 'energy',
      expected: { value: 1_000_000, exact: '1000000', resolution: '1000', unit: 'Wh' },
    },
    {
      case: 'an energy in MJ becomes Wh, with no exact decimal (nor resolution) for the division by 3600',
      records: '04 0E 24 00 00 00',
      key: 'energy',
      expected: { value: 10_000, exact: undefined, resolution: undefined, originalValue: 36_000_000, originalUnit: 'J' },
    },
    {
      case: 'a volume as a 32-bit real has no resolution: the VIF scales it but does not bound its precision',
      records: '05 13 00 00 80 3F',
      key: 'volume',
      expected: { value: 0.001, exact: undefined, resolution: undefined },
    },
    {
      case: 'an on-time in hours counts in steps of 3600 s',
      records: '02 22 0A 00',
      key: 'on_time',
      expected: { value: 36_000, exact: '36000', resolution: '3600', unit: 's' },
    },
    {
      case: 'a multiplicative-correction VIFE scales the resolution too',
      records: '04 93 7D 0A 00 00 00',
      key: 'volume',
      expected: { value: 10, exact: '10', resolution: '1' },
    },
    {
      case: 'a stored value keeps the resolution of its VIF',
      records: '4C 13 00 10 00 00',
      key: 'volume.storage1',
      expected: { value: 1, exact: '1', resolution: '0.001' },
    },
    {
      case: 'a pressure in 0.1 bar becomes Pa',
      records: '02 6A 0A 00',
      key: 'pressure',
      expected: { value: 100_000, unit: 'Pa', cumulative: false, exact: undefined },
    },
    {
      case: 'tariff, storage number and subunit from the DIFE make the register key',
      records: 'C4 51 13 10 27 00 00',
      key: 'volume.tariff1.storage3.subunit1',
      expected: { value: 10, tariff: 1, storageNumber: 3, subunit: 1 },
    },
    {
      case: 'a minimum function adds .min',
      records: '22 5A E7 00',
      key: 'flow_temperature.min',
      expected: { value: 23.1, unit: 'degC', function: 'MINIMUM' },
    },
    {
      case: 'a value during error state adds .error',
      records: '32 2B 64 00',
      key: 'power.error',
      expected: { value: 100, unit: 'W', function: 'DURING_ERROR' },
    },
    {
      case: 'accumulation of negative contributions only is the reverse register',
      records: '04 93 3C 10 27 00 00',
      key: 'volume_reverse',
      expected: { quantity: 'volume_reverse', value: 10, cumulative: true },
    },
    {
      case: 'accumulation of positive contributions only is the register itself',
      records: '04 93 3B 10 27 00 00',
      key: 'volume',
      expected: { value: 10 },
    },
    {
      case: 'an HCA reading counts units',
      records: '02 6E 2A 00',
      key: 'hca',
      expected: { value: 42, unit: 'units', exact: '42', cumulative: true },
    },
  ])('$case', async ({ records, key, expected }) => {
    const value = await registerOf(records, key);
    expect(value).toBeDefined();
    expect(value).toMatchObject(expected);
    if ('exact' in expected && expected.exact === undefined) expect(value!.exact).toBeUndefined();
    if ('resolution' in expected && expected.resolution === undefined) expect(value!.resolution).toBeUndefined();
  });

  it.each([
    { case: 'a reserved VIF', records: '04 7B 01 00 00 00', warning: 'record at offset 19 skipped: reserved VIF, so no quantity' },
    {
      case: 'a manufacturer-specific VIFE (a phase, a channel: the meaning is the vendor\'s)',
      records: '04 A9 FF 01 10 00 00 00',
      warning: 'record at offset 19 skipped: manufacturer-specific VIFE, whose meaning for the value is not known',
    },
    {
      case: 'a per-pulse unit, which is no unit of volume',
      records: '04 93 28 10 00 00 00',
      warning: 'record at offset 19 skipped: unit "m3/input pulse" is not a unit of volume',
    },
    { case: 'BCD with error digits', records: '0A 2B BD DE', warning: 'record at offset 19 skipped: BCD with error digits (DEBD)' },
    {
      case: 'a record error VIFE',
      records: '04 93 15 00 00 00 00',
      warning: 'record at offset 19 skipped: the meter reports a record error (no data available (undefined value))',
    },
  ])('skips $case with a warning', async ({ records, warning }) => {
    const { values, warnings } = await decodeFrame(longFrame(records));
    expect(values).toEqual([]);
    expect(warnings).toEqual([warning]);
  });

  it.each([
    { case: 'identifiers', records: '0C 78 78 56 34 12' },
    { case: 'limit values', records: '04 93 40 10 27 00 00' },
    { case: 'dates of events', records: '04 93 6A 00 00 00 00' },
    { case: 'manufacturer data after DIF 0x0F', records: '0F 01 02 03' },
  ])('passes over $case in silence', async ({ records }) => {
    expect(await decodeFrame(longFrame(records))).toMatchObject({ values: [], warnings: [], kind: 'status' });
  });

  it('keeps one of two records with the same register and value, and drops both when the values differ', async () => {
    const same = await decodeFrame(longFrame('02 2B 0A 00  02 2B 0A 00'));
    expect(same.values.map((value) => value.value)).toEqual([10]);
    const different = await decodeFrame(longFrame('02 2B 0A 00  02 2B 0B 00  02 5A E7 00'));
    expect(different.values.map((value) => value.registerKey)).toEqual(['flow_temperature']);
    expect(different.warnings).toEqual(['register power skipped: the telegram has different values for it']);
  });

  it('reports nonzero error flags (VIF FD 17) as a status error', async () => {
    expect((await decodeFrame(longFrame('02 FD 17 04 01'))).device.statusErrors).toEqual(['ERROR_FLAGS:0x104']);
    expect((await decodeFrame(longFrame('02 FD 17 00 00'))).device.statusErrors).toEqual([]);
  });
});

describe('time points', () => {
  // 04 6D: type F date-time 2026-03-28 23:30, summer-time bit clear.
  const TIME = '04 6D 1E 17 5C 33';
  // 04 6D with storage 1 (DIF 0x44): 2026-02-28 23:59.
  const STORED_TIME = '44 6D 3B 17 5C 32';

  it('stamps storage-0 values with the meter time, read in the site time zone', async () => {
    const { values } = await decodeFrame(longFrame(`${TIME} 04 13 10 27 00 00`), 'Europe/Minsk');
    expect(values[0]!.observedAt).toBe(Date.parse('2026-03-28T20:30:00Z'));
  });

  it('stamps stored values with the date-time of their own storage number only', async () => {
    const { values } = await decodeFrame(longFrame(`${TIME} ${STORED_TIME} 04 13 10 27 00 00 44 13 20 27 00 00 84 01 13 30 27 00 00`), 'UTC');
    expect(values.map((value) => [value.registerKey, value.observedAt])).toEqual([
      ['volume', Date.parse('2026-03-28T23:30:00Z')],
      ['volume.storage1', Date.parse('2026-02-28T23:59:00Z')],
      ['volume.storage2', undefined],
    ]);
  });

  it('leaves meter time unused, with a warning, when the site has no time zone', async () => {
    const { values, warnings } = await decodeFrame(longFrame(`${TIME} 04 13 10 27 00 00`));
    expect(values[0]!.observedAt).toBeUndefined();
    expect(warnings).toEqual(['meter time 2026-03-28T23:30 (storage 0) not used as observedAt: the site has no time zone']);
  });

  it('does not use a date-time with the invalid bit set', async () => {
    const { values, warnings } = await decodeFrame(longFrame('04 6D 9E 17 5C 33 04 13 10 27 00 00'), 'UTC');
    expect(values[0]!.observedAt).toBeUndefined();
    expect(warnings).toEqual(['date-time at offset 19 is not a valid time (IV flag or no calendar date); not used as observedAt']);
  });

  it('refuses a time zone that is not an IANA name', async () => {
    const err = await rejection(decodeFrame(longFrame(`${TIME} 04 13 10 27 00 00`), 'Mars/Olympus'));
    expect(err).toMatchObject({ reason: 'BAD_TIME_ZONE' });
  });
});

describe('header and status', () => {
  it('gives the manufacturer, version and medium of the long header', async () => {
    const { device } = await decodeFrame(longFrame('04 13 10 27 00 00'));
    expect(device).toEqual({ manufacturer: 'KAM', version: 1, medium: 'water', statusErrors: [] });
  });

  it.each([
    { status: 0x01, errors: ['APPLICATION_BUSY'] },
    { status: 0x02, errors: ['APPLICATION_ERROR'] },
    { status: 0x03, errors: ['APPLICATION_ABNORMAL'] },
    { status: 0x04, errors: ['POWER_LOW'] },
    { status: 0x08, errors: ['PERMANENT_ERROR'] },
    { status: 0x10, errors: ['TEMPORARY_ERROR'] },
    { status: 0x1d, errors: ['APPLICATION_BUSY', 'POWER_LOW', 'PERMANENT_ERROR', 'TEMPORARY_ERROR'] },
    { status: 0xe0, errors: [] },
  ])('reads status byte $status as $errors', async ({ status, errors }) => {
    const { device } = await decodeFrame(longFrame('04 13 10 27 00 00', status));
    expect(device.statusErrors).toEqual(errors);
  });
});

describe('frames that will never decode', () => {
  it.each([
    { case: 'a truncated frame', frame: () => Buffer.from('681f1f68', 'hex'), reason: 'MBUS_TRUNCATED' },
    {
      case: 'a wrong checksum',
      frame: () => {
        const frame = longFrame('04 13 10 27 00 00');
        frame[frame.length - 2] = frame[frame.length - 2]! ^ 0xff;
        return frame;
      },
      reason: 'MBUS_BAD_CHECKSUM',
    },
    { case: 'a single character', frame: () => Buffer.from([0xe5]), reason: 'MBUS_NOT_A_LONG_FRAME' },
    { case: 'a short frame', frame: () => Buffer.from('105b015c16', 'hex'), reason: 'MBUS_NOT_A_LONG_FRAME' },
    { case: 'bytes after the frame', frame: () => Buffer.concat([longFrame(''), Buffer.from([0])]), reason: 'MBUS_TRAILING_DATA' },
    { case: 'a record cut short', frame: () => longFrame('04 13 10 27'), reason: 'MBUS_PREMATURE_END_OF_DATA' },
  ])('answers $case with $reason', async ({ frame, reason }) => {
    const err = await rejection(decodeFrame(frame()));
    expect(err).toBeInstanceOf(DecodeError);
    expect(err).toMatchObject({ reason, retriable: false });
  });

  const ERROR_FRAMES: Readonly<Record<string, string>> = {
    premature_end_of_data1: 'MBUS_PREMATURE_END_OF_DATA',
    premature_end_of_data2: 'MBUS_PREMATURE_END_OF_DATA',
    premature_end_of_dif1: 'MBUS_PREMATURE_END_OF_DIF',
    premature_end_of_dif2: 'MBUS_PREMATURE_END_OF_DIF',
    premature_end_of_var_vif1: 'MBUS_PREMATURE_END_OF_VARIABLE_VIF',
    premature_end_of_vif1: 'MBUS_PREMATURE_END_OF_VIF',
    too_long_var_vif: 'MBUS_TOO_LONG_VARIABLE_VIF',
    too_many_dife: 'MBUS_TOO_MANY_DIFE',
    too_many_vife: 'MBUS_TOO_MANY_VIFE',
    too_short_header: 'MBUS_TOO_SHORT_HEADER',
  };
  const APPLICATION_ERRORS = fixtureNames('error-frames').filter((name) => ERROR_FRAMES[name] === undefined);

  it.each(Object.entries(ERROR_FRAMES))('answers libmbus error frame %s with %s and its byte offset', async (name, reason) => {
    const err = await rejection(decodeFrame(Buffer.from(parseHex(readFixture('error-frames', `${name}.hex`)!))));
    expect(err).toMatchObject({ reason, context: { offset: expect.any(Number) } });
  });

  it.each(APPLICATION_ERRORS)('reads libmbus error frame %s as the meter\'s own error report', async (name) => {
    const decoded = await decodeFrame(Buffer.from(parseHex(readFixture('error-frames', `${name}.hex`)!)));
    expect(decoded).toMatchObject({ kind: 'status', values: [], device: { statusErrors: ['APPLICATION_ERROR'] } });
    expect(decoded.warnings).toEqual([expect.stringMatching(/^the meter reports an application error: .+ \(code \d+\)$/)]);
  });
});
