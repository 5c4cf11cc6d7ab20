import { readFileSync } from 'node:fs';
import avsc from 'avsc';
import { describe, expect, it } from 'vitest';
import { AVRO_TYPE_OPTIONS, RECORD_NAMES, avroType, recordSchema, validateRecord } from './index.js';
import type { RecordName, RecordTypes } from './index.js';
import { SAMPLE_RECORDS } from './samples.js';

type Sample = { [K in RecordName]: readonly [K, RecordTypes[K]] }[RecordName];

/** A copy of a sample with some fields replaced (or removed, when the replacement is `undefined`). */
function variant<K extends RecordName>(name: K, changes: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...SAMPLE_RECORDS[name] };
  for (const [field, value] of Object.entries(changes)) {
    if (value === undefined) delete copy[field];
    else copy[field] = value;
  }
  return copy;
}

const { Consumption, Footprint, RawUplink, Alert, DeadLetter } = SAMPLE_RECORDS;

const validVariants: [string, Sample][] = [
  ...RECORD_NAMES.map((name): [string, Sample] => [`the ${name} sample`, [name, SAMPLE_RECORDS[name]] as Sample]),
  [
    'a LoRaWAN uplink with radio metadata',
    [
      'RawUplink',
      {
        ...RawUplink,
        deviceId: 'lorawan:70b3d5e75e001234',
        transport: 'LNS_WEBSOCKET',
        payloadFormat: 'LORAWAN_PAYLOAD',
        payload: Buffer.from('0f1a0000', 'hex'),
        deviceTimeAt: RawUplink.receivedAt - 180,
        radio: {
          rssiDbm: -97.5,
          snrDb: 7.25,
          gatewayId: 'b827ebfffe6c1a2d',
          frequencyHz: 868_100_000,
          spreadingFactor: 9,
          fCnt: 4_294_967_295,
          fPort: 2,
        },
      },
    ],
  ],
  [
    'an open consumption period',
    ['Consumption', { ...Consumption, endValue: null, delta: null, open: true, status: 'PROVISIONAL' }],
  ],
  [
    'a restated footprint with a negative correction line',
    [
      'Footprint',
      {
        ...Footprint,
        status: 'RESTATED',
        emissionsKgCo2e: '-0.372000000',
        lines: [{ ...Footprint.lines[0]!, consumption: '-1000.000000000', emissionsKgCo2e: '-0.372000000' }],
      },
    ],
  ],
  [
    'an acknowledged alert',
    ['Alert', { ...Alert, state: 'ACKNOWLEDGED', acknowledgedAt: Alert.raisedAt + 60_000, acknowledgedBy: 'user-3' }],
  ],
  [
    'a dead letter read from Kafka',
    [
      'DeadLetter',
      {
        ...DeadLetter,
        deadLetterId: 'decode|uplink.raw.v1|7|1204',
        originalTopic: 'uplink.raw.v1',
        originalPartition: 7,
        originalOffset: 1204,
        originalKey: Buffer.from('mbus:1002038704771403'),
        originalValue: Buffer.from([0x01, 0x00, 0x00, 0x00, 0x2a]),
        originalHeaders: { traceparent: Buffer.from('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01') },
        reasonCode: 'WRONG_MAGIC_BYTE',
        reasonMessage: 'magic byte: expected 0x00, got 0x01',
        stage: 'decode',
        component: 'decode',
        deviceId: 'mbus:1002038704771403',
      },
    ],
  ],
];

describe('records', () => {
  it.each(validVariants)('%s is valid and survives a binary round trip unchanged', (_case, [name, value]) => {
    expect(validateRecord(name, value)).toEqual({ ok: true });
    const type = avroType(name);
    expect(type.fromBuffer(type.toBuffer(value))).toEqual(value);
  });

  it('reads decimals back as exact decimal strings', () => {
    const decoded = avroType('Footprint').fromBuffer(avroType('Footprint').toBuffer(Footprint));
    expect(decoded.emissionsKgCo2e).toBe('1717.269000000');
    expect(decoded.lines[0].factorKgCo2ePerUnit).toBe('0.000372000');
  });
});

describe('validateRecord', () => {
  it.each<[string, RecordName, unknown, string[]]>([
    ['a missing field', 'Reading', variant('Reading', { value: undefined }), ['reading.value: expected double, got undefined (missing)']],
    ['a number sent as a string', 'Reading', variant('Reading', { value: '12' }), ['reading.value: expected double, got "12"']],
    [
      'a wrong type inside a nullable record',
      'RawUplink',
      variant('RawUplink', {
        radio: { rssiDbm: '-97', snrDb: null, gatewayId: null, frequencyHz: null, spreadingFactor: 9.5, fCnt: null, fPort: null },
      }),
      [
        'rawUplink.radio.rssiDbm: expected null | double, got "-97"',
        'rawUplink.radio.spreadingFactor: expected int, got 9.5',
      ],
    ],
    [
      'an unknown symbol inside an array of enums',
      'Reading',
      variant('Reading', { qualityFlags: ['LOW_BATTERY', 'BATTERY_LOW'] }),
      [
        'reading.qualityFlags.1: expected enum QualityFlag (UNKNOWN, CLOCK_IN_FUTURE, CLOCK_TOO_OLD, TIME_FROM_RECEIPT, OUT_OF_RANGE, ROLLOVER, SUSPECTED_RESET, DEVICE_ERROR, LOW_BATTERY, ESTIMATED), got "BATTERY_LOW"',
      ],
    ],
    [
      'a decimal with too many fraction digits inside an array of records',
      'Footprint',
      variant('Footprint', { lines: [Footprint.lines[0], { ...Footprint.lines[1], factorKgCo2ePerUnit: '0.0001980001' }] }),
      [
        'footprint.lines.1.factorKgCo2ePerUnit: expected decimal(38,9) string, got "0.0001980001" (10 fraction digits, more than scale 9)',
      ],
    ],
    [
      'a number where a nullable decimal belongs',
      'Consumption',
      variant('Consumption', { endValue: 0.26 }),
      ['consumption.endValue: expected null | decimal(38,9) string, got 0.26 (not a string)'],
    ],
    ['a wrong type in a map', 'Alert', variant('Alert', { details: { thresholdMs: 86_400_000 } }), ['alert.details.thresholdMs: expected string, got 86400000']],
    [
      'a timestamp given as an ISO string',
      'Device',
      variant('Device', { lastSeenAt: '2026-03-29T07:15:02.318Z' }),
      ['device.lastSeenAt: expected long, got "2026-03-29T07:15:02.318Z"'],
    ],
    ['a fractional long', 'Alert', variant('Alert', { revision: 1.5 }), ['alert.revision: expected long, got 1.5']],
    ['text where bytes belong', 'RawUplink', variant('RawUplink', { payload: 'aGVsbG8=' }), ['rawUplink.payload: expected bytes, got "aGVsbG8="']],
    [
      'a field the schema does not declare',
      'Device',
      variant('Device', { rssiDBm: -97 }),
      ['device.rssiDBm: expected no field "rssiDBm" (Device does not declare it), got -97'],
    ],
    [
      'an undeclared field inside an array of records',
      'Footprint',
      variant('Footprint', { lines: [{ ...Footprint.lines[0], co2e: '1' }] }),
      ['footprint.lines.0.co2e: expected no field "co2e" (FootprintLine does not declare it), got "1"'],
    ],
    [
      'several bad fields at once, in field order',
      'DeadLetter',
      variant('DeadLetter', { originalValue: 'x', reasonCode: undefined, attempt: '1', surplus: true }),
      [
        'deadLetter.originalValue: expected bytes, got "x"',
        'deadLetter.reasonCode: expected string, got undefined (missing)',
        'deadLetter.attempt: expected int, got "1"',
        'deadLetter.surplus: expected no field "surplus" (DeadLetter does not declare it), got true',
      ],
    ],
    ['null instead of a record', 'Reading', null, ['reading: expected record Reading, got null']],
    ['text instead of a record', 'Concentration', '{"stationId":"minsk-01"}', ['concentration: expected record Concentration, got "{\\"stationId\\":\\"minsk-01\\"}"']],
  ])('reports %s with its path', (_case, name, value, problems) => {
    const result = validateRecord(name, value);
    expect(result).toEqual({
      ok: false,
      problems,
      paths: problems.map((problem) => problem.slice(0, problem.indexOf(': expected'))),
      issues: expect.any(Array),
    });
  });

  it('hands back each bad value itself next to what was expected', () => {
    const result = validateRecord('Reading', variant('Reading', { value: '12', unit: undefined }));
    expect(result.ok === false && result.issues).toEqual([
      { path: 'reading.value', expected: 'double', received: '12' },
      { path: 'reading.unit', expected: 'string', received: undefined },
    ]);
  });
});

describe('recordSchema', () => {
  it.each(RECORD_NAMES)('returns the parsed %s.avsc, read once and frozen', (name) => {
    const fromDisk: unknown = JSON.parse(readFileSync(new URL(`./${name}.avsc`, import.meta.url), 'utf8'));
    const schema = recordSchema(name);
    expect(schema).toEqual(fromDisk);
    expect(recordSchema(name)).toBe(schema);
    expect(Object.isFrozen(schema.fields[0])).toBe(true);
  });
});

describe('avroType', () => {
  it('builds each type once', () => {
    expect(avroType('Reading')).toBe(avroType('Reading'));
  });

  it('builds types that other code can rebuild identically from the schema and AVRO_TYPE_OPTIONS', () => {
    const rebuilt = avsc.Type.forSchema(JSON.parse(JSON.stringify(recordSchema('Consumption'))), { ...AVRO_TYPE_OPTIONS });
    const bytes = avroType('Consumption').toBuffer(Consumption);
    expect(rebuilt.fromBuffer(bytes)).toEqual(Consumption);
  });
});
