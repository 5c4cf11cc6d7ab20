import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SchemaValidationError } from '../../../core/errors.js';
import { decodeUplink } from './index.js';
import { contextOf, rejection, uplinkOf } from './testing/uplinks.js';

const HTTP_FIXTURES = new URL('../../../test/fixtures/http/', import.meta.url);

function decodeValues(json: unknown) {
  return decodeUplink(uplinkOf('DECODED_VALUES_JSON', JSON.stringify(json)), contextOf());
}

describe('decoded values JSON', () => {
  it('reads the payload the HTTP ingest writes: station values in canonical units, observed at time', async () => {
    const expected = JSON.parse(readFileSync(new URL('uplink-station-values.expected.json', HTTP_FIXTURES), 'utf8')) as {
      uplinks: { payloadText: string }[];
    };
    const decoded = await decodeUplink(uplinkOf('DECODED_VALUES_JSON', expected.uplinks[0]!.payloadText), contextOf());
    const time = Date.parse('2026-03-29T09:15:00Z');
    expect(decoded.values.map((value) => [value.registerKey, value.value, value.unit, value.observedAt])).toEqual([
      ['ch4', 1.962, 'ppm', time],
      ['co2', 421.37, 'ppm', time],
      ['pressure', 101_325, 'Pa', time],
      ['temperature', -3.5, 'degC', time],
    ]);
    expect(decoded).toMatchObject({ kind: 'readings', device: { statusErrors: [] }, warnings: [], decoderVersion: 'decoded-values@1.0.0' });
  });

  it('takes tariff, storage, subunit and function from the register key, and converts a given unit', async () => {
    const decoded = await decodeValues({
      mbusAddress: '1234567815933303',
      values: { volume: { value: 1234.567, unit: 'l' }, 'energy.tariff2.storage1': { value: 12.5, unit: 'kWh' }, 'power.subunit1.max': 3200 },
    });
    expect(decoded.values[0]).toEqual({
      quantity: 'volume',
      unit: 'm3',
      value: 1.234567,
      exact: '1.234567',
      originalValue: 1234.567,
      originalUnit: 'l',
      function: 'INSTANTANEOUS',
      storageNumber: 0,
      tariff: 0,
      subunit: 0,
      cumulative: true,
      registerKey: 'volume',
      observedAt: undefined,
    });
    expect(decoded.values.slice(1)).toEqual([
      expect.objectContaining({ registerKey: 'energy.tariff2.storage1', tariff: 2, storageNumber: 1, value: 12_500, exact: '12500' }),
      expect.objectContaining({ registerKey: 'power.subunit1.max', subunit: 1, function: 'MAXIMUM', value: 3200, cumulative: false }),
    ]);
  });

  it.each([
    { case: 'no values object', json: { time: '2026-03-29T07:00:00Z' }, paths: ['values'] },
    { case: 'a register key out of order', json: { values: { 'volume.storage1.tariff1': 1 } }, paths: ['values.volume.storage1.tariff1'] },
    { case: 'a register key with tariff 0', json: { values: { 'energy.tariff0': 1 } }, paths: ['values.energy.tariff0'] },
    { case: 'a quantity without a canonical unit', json: { values: { noise: 3 } }, paths: ['values.noise'] },
    { case: 'a unit its quantity does not take', json: { values: { volume: { value: 3, unit: 'kWh' } } }, paths: ['values.volume.unit'] },
    { case: 'a number as a string', json: { values: { co2: '400' } }, paths: ['values.co2'] },
    { case: 'a value object without a unit', json: { values: { n2o: { value: 0.33 } } }, paths: ['values.n2o.unit'] },
    { case: 'a time without a UTC offset', json: { time: '2026-03-29T07:00:00', values: { co2: 400 } }, paths: ['time'] },
  ])('refuses $case, naming the paths', async ({ json, paths }) => {
    const err = await rejection(decodeValues(json));
    expect(err).toBeInstanceOf(SchemaValidationError);
    expect(err).toMatchObject({ reason: 'INVALID_DECODED_VALUES', paths });
  });

  it.each([
    { payload: 'not json', reason: 'MALFORMED_JSON' },
    { payload: '[1, 2]', reason: 'JSON_NOT_AN_OBJECT' },
    { payload: Buffer.from([0x7b, 0xff, 0x7d]), reason: 'MALFORMED_JSON' },
  ])('refuses $payload with $reason', async ({ payload, reason }) => {
    const err = await rejection(decodeUplink(uplinkOf('DECODED_VALUES_JSON', payload), contextOf()));
    expect(err).toMatchObject({ reason });
  });
});
