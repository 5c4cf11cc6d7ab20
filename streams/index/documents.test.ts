import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../core/errors.js';
import { createTopicCatalogue } from '../../core/topics.js';
import type { RecordTypes } from '../../schemas/avro/index.js';
import { SAMPLE_RECORDS } from '../../schemas/avro/samples.js';
import { DOCUMENT_SPECS, INDEX_MAPPING_FAILED, toOperation, type DocumentSpec } from './documents.js';
import type { IndexNaming } from './index-names.js';

const naming: IndexNaming = { prefix: 'p.', generation: 3 };
const catalogue = createTopicCatalogue();

describe('document ids, versions and indices', () => {
  it.each([
    ['readings', SAMPLE_RECORDS.Reading, 'p.readings-v3-2026.03', '0195e1a2-7c4b-7d2e-9a51-3f6c2b8d4e10:4', undefined],
    ['devices', SAMPLE_RECORDS.Device, 'p.devices-v3', 'mbus:1002038704771403', 57],
    ['consumption', SAMPLE_RECORDS.Consumption, 'p.consumption-v3', 'reg-0042|2026-03-28T23:00:00.000Z|DAILY', 3],
    ['concentrations', SAMPLE_RECORDS.Concentration, 'p.concentrations-v3', 'minsk-01|CH4|2026-03-29T09:00:00.000Z|HOURLY', 1],
    ['footprint', SAMPLE_RECORDS.Footprint, 'p.footprint-v3', 'org-7|2026-03|SCOPE_2', 2],
    ['alerts', SAMPLE_RECORDS.Alert, 'p.alerts-v3', 'CONTINUOUS_FLOW|mbus:1002038704771403|volume', 1],
    ['rejects', SAMPLE_RECORDS.DeadLetter, 'p.rejects-v3', '0195e1a3-0a1f-7b52-8c3d-6e2f9a0b1c7d', undefined],
  ] as const)('%s: index %s, id %s, version %s', (type, value, index, id, version) => {
    const operation = toOperation(DOCUMENT_SPECS[type] as DocumentSpec<never>, naming, value as never);
    expect(operation).toMatchObject({ index, id });
    expect(operation.version).toBe(version);
  });

  it.each([
    ['consumption', catalogue.consumptionDaily, SAMPLE_RECORDS.Consumption],
    ['concentrations', catalogue.concentrationHourly, SAMPLE_RECORDS.Concentration],
    ['footprint', catalogue.footprintMonthly, SAMPLE_RECORDS.Footprint],
  ] as const)('%s ids start with the Kafka key the catalogue gives the record', (type, topic, value) => {
    const id = (DOCUMENT_SPECS[type] as DocumentSpec<never>).id(value as never);
    expect(id.startsWith(topic.keyOf(value as never) ?? '')).toBe(true);
  });

  it('gives a monthly consumption and the daily one starting at the same instant different ids', () => {
    const firstDay: RecordTypes['Consumption'] = { ...SAMPLE_RECORDS.Consumption, periodStartAt: Date.parse('2026-02-28T23:00:00.000Z') };
    const month: RecordTypes['Consumption'] = { ...firstDay, granularity: 'MONTHLY', localPeriod: '2026-03' };
    const spec = DOCUMENT_SPECS.consumption;
    expect(spec.id(firstDay)).not.toBe(spec.id(month));
  });

  it('gives an hourly concentration and the daily one starting at the same instant different ids', () => {
    const hour = SAMPLE_RECORDS.Concentration;
    const day: RecordTypes['Concentration'] = { ...hour, granularity: 'DAILY' };
    expect(DOCUMENT_SPECS.concentrations.id(hour)).not.toBe(DOCUMENT_SPECS.concentrations.id(day));
  });

  it('indexes versioned records with their revision and immutable events without a version', () => {
    const versioned = Object.values(DOCUMENT_SPECS).filter((spec) => spec.version !== undefined).map((spec) => spec.record);
    expect(versioned).toEqual(['Device', 'Consumption', 'Concentration', 'Footprint', 'Alert']);
  });
});

describe('documents', () => {
  it.each(['readings', 'devices', 'consumption', 'concentrations', 'footprint', 'alerts'] as const)(
    '%s documents are the record as it is',
    (type) => {
      const value = SAMPLE_RECORDS[DOCUMENT_SPECS[type].record];
      expect(toOperation(DOCUMENT_SPECS[type] as DocumentSpec<never>, naming, value as never).document).toBe(value);
    },
  );

  it('gives a device with a reported position a geo_point location besides its coordinates', () => {
    const station: RecordTypes['Device'] = { ...SAMPLE_RECORDS.Device, deviceId: 'station:minsk-01', latitudeDeg: 53.9045, longitudeDeg: -27.5615, firmwareVersion: '2.4.1' };
    expect(toOperation(DOCUMENT_SPECS.devices, naming, station).document).toEqual({ ...station, location: { lat: 53.9045, lon: -27.5615 } });
  });

  it('leaves location out of a device whose position is unknown or half known', () => {
    const half: RecordTypes['Device'] = { ...SAMPLE_RECORDS.Device, latitudeDeg: 53.9045 };
    expect(toOperation(DOCUMENT_SPECS.devices, naming, half).document).toBe(half);
    expect(toOperation(DOCUMENT_SPECS.devices, naming, SAMPLE_RECORDS.Device).document).not.toHaveProperty('location');
  });

  it('refuses a device whose coordinate is not finite', () => {
    const bad: RecordTypes['Device'] = { ...SAMPLE_RECORDS.Device, latitudeDeg: Number.NaN, longitudeDeg: 27.5 };
    expect(() => toOperation(DOCUMENT_SPECS.devices, naming, bad)).toThrow(/latitudeDeg: expected a finite number/);
  });

  it('keeps every byte of a dead letter as base64: key, value and header values', () => {
    const letter: RecordTypes['DeadLetter'] = {
      ...SAMPLE_RECORDS.DeadLetter,
      originalKey: Buffer.from('mbus:1002038704771403'),
      originalHeaders: { traceparent: Buffer.from([0, 1, 254, 255]) },
    };
    const document = toOperation(DOCUMENT_SPECS.rejects, naming, letter).document as Record<string, unknown>;
    expect(document).toMatchObject({
      originalKey: Buffer.from('mbus:1002038704771403').toString('base64'),
      originalValue: SAMPLE_RECORDS.DeadLetter.originalValue.toString('base64'),
      originalHeaders: { traceparent: 'AAH+/w==' },
      reasonCode: 'MBUS_BAD_CHECKSUM',
    });
    expect(Buffer.from(document['originalValue'] as string, 'base64').equals(SAMPLE_RECORDS.DeadLetter.originalValue)).toBe(true);
    expect(JSON.parse(JSON.stringify(document))).toEqual(document);
  });

  it('keeps a null key of a dead letter null', () => {
    expect((toOperation(DOCUMENT_SPECS.rejects, naming, SAMPLE_RECORDS.DeadLetter).document as { originalKey: unknown }).originalKey).toBeNull();
  });
});

describe('records that cannot become documents', () => {
  it.each([
    ['a NaN reading value', 'Reading', { ...SAMPLE_RECORDS.Reading, value: Number.NaN }, /value: expected a finite number, got NaN/],
    ['an infinite concentration', 'Concentration', { ...SAMPLE_RECORDS.Concentration, meanPpm: Number.POSITIVE_INFINITY }, /meanPpm: expected a finite number, got Infinity/],
    ['a reading observed after the year 9999', 'Reading', { ...SAMPLE_RECORDS.Reading, observedAt: 4e14 }, /Reading has a time that names no index or id/],
    ['a consumption period beyond what a Date holds', 'Consumption', { ...SAMPLE_RECORDS.Consumption, periodStartAt: 9e15 }, /Consumption has a time that names no index or id/],
  ] as const)('refuses %s as bad input with reason INDEX_MAPPING_FAILED', (_name, record, value, message) => {
    const spec = Object.values(DOCUMENT_SPECS).find((s) => s.record === record) as DocumentSpec<never>;
    const error = (() => {
      try {
        toOperation(spec, naming, value as never);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(BadInputError);
    expect(error).toMatchObject({ reason: INDEX_MAPPING_FAILED, message: expect.stringMatching(message) as unknown });
  });
});
