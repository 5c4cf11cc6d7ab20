import { describe, expect, it } from 'vitest';

import {
  decodeApplicationLayer,
  decodeFrame,
  MbusDecodeError,
  parseTelegram,
  type ApplicationLayer,
  type DataRecord,
  type DecodeErrorReason,
  type FixedDataResponse,
  type MbusDateTime,
  type Quantity,
  type RecordFunction,
  type RecordValue,
  type VariableDataResponse,
} from './index.js';
import {
  fixtureNames,
  FIXTURES_DIR,
  parseHex,
  parseNormXml,
  readFixture,
  requireFixtures,
  type NormDocument,
  type NormRecord,
} from './testing/libmbus-fixtures.js';

/**
 * Every captured frame must reproduce libmbus's normalized decode. libmbus names things its own
 * way; these tables translate its vocabulary to this decoder's. Nothing else is translated: a value
 * either matches or is listed in DIVERGENCES with what is returned instead and why. `ProductName`
 * comes from libmbus's product database, not from the telegram, and is not compared.
 */

const FUNCTIONS: Readonly<Record<string, RecordFunction>> = {
  'Instantaneous value': 'instantaneous',
  'Maximum value': 'maximum',
  'Minimum value': 'minimum',
  'Value during error state': 'error-state',
};

/** libmbus `Quantity|Unit` → quantity and unit. Anything else with unit `-` is a plain-text VIF. */
const QUANTITIES: Readonly<Record<string, readonly [Quantity | null, string | null]>> = {
  'Energy|Wh': ['energy', 'Wh'],
  'Energy|J': ['energy', 'J'],
  'Volume|m^3': ['volume', 'm3'],
  'Volume flow|m^3/h': ['volume-flow', 'm3/h'],
  'Power|W': ['power', 'W'],
  'Flow temperature|°C': ['flow-temperature', '°C'],
  'Return temperature|°C': ['return-temperature', '°C'],
  'Temperature difference|K': ['temperature-difference', 'K'],
  'External temperature|°C': ['external-temperature', '°C'],
  'On time|s': ['on-time', 's'],
  'Operating time|s': ['operating-time', 's'],
  'Averaging Duration|s': ['averaging-duration', 's'],
  'Actuality Duration|s': ['actuality-duration', 's'],
  'Time point (date)|-': ['date', null],
  'Time point (date & time)|-': ['date-time', null],
  'H.C.A.|Units for H.C.A.': ['hca', null],
  'Voltage|V': ['voltage', 'V'],
  'Current|A': ['current', 'A'],
  'Fabrication No|': ['fabrication-number', null],
  '(Enhanced) Identification|': ['enhanced-identification', null],
  'Firmware version|': ['firmware-version', null],
  'Software version|': ['software-version', null],
  'Model / Version|': ['model-version', null],
  'Parameter set identification|': ['parameter-set-identification', null],
  'Customer location|': ['customer-location', null],
  'Error flags|': ['error-flags', null],
  'Digital Input|': ['digital-input', null],
  'Digital Output|': ['digital-output', null],
  'Reset counter|': ['reset-counter', null],
  'Special supplier information|': ['special-supplier-information', null],
  'Dimensionless|': ['dimensionless', null],
  'Medium|': ['device-type', null],
  'Manufacturer specific|': ['manufacturer-specific', null],
  'Reserved|Reserved': [null, null],
};

/** libmbus medium names → device type code. */
const MEDIA: Readonly<Record<string, number>> = {
  Other: 0x00,
  Electricity: 0x02,
  Gas: 0x03,
  'Heat: Outlet': 0x04,
  'Warm water (30-90°C)': 0x06,
  Water: 0x07,
  'Heat: Inlet': 0x0c,
  'Heat / Cooling load meter': 0x0d,
  'Bus/System': 0x0e,
  'Cold water': 0x16,
  'Breaker: Electricity': 0x20,
};

/** libmbus medium names of the fixed data structure → its 4-bit medium code. */
const FIXED_MEDIA: Readonly<Record<string, number>> = { Heat: 0x04, Water: 0x07 };

/** libmbus fixed-structure units → quantity, unit and the power of ten between them. */
const FIXED_UNITS: Readonly<Record<string, readonly [Quantity, string, number]>> = {
  kWh: ['energy', 'Wh', 3],
  l: ['volume', 'm3', -3],
};

interface Divergence {
  readonly why: string;
  readonly expect: (record: DataRecord) => void;
}

const invalidBcd = (digits: string): Divergence => ({
  why: 'BCD with hex digits (error signalling in an error-state value): libmbus folds them into a number',
  expect: (record) => expect(record.value).toEqual({ kind: 'invalid-bcd', digits }),
});

const dateOfLastEnd = (iso: string | null): Divergence => ({
  why: 'VIFE 0x6f "date/time of last end": the value is a type F date, libmbus scales its bits as the VIF unit',
  expect: (record) => {
    expect(record.vifes).toEqual([{ code: 0x6f, meaning: 'date-of' }]);
    expect(record.unit).toBeNull();
    expect(record.value.kind).toBe('date');
    if (record.value.kind === 'date') expect(record.value.date.iso).toBe(iso);
  },
});

const pulseWeight = (decimal: string): Divergence => ({
  why: 'VIFE 0x28 "increment per input pulse on channel 0": the value is m3 per pulse, libmbus drops the VIFE',
  expect: (record) => {
    expect([record.quantity, record.unit]).toEqual(['volume', 'm3/input pulse']);
    expect(record.vifes).toEqual([{ code: 0x28, meaning: 'per' }]);
    expect(record.value).toMatchObject({ kind: 'number', decimal });
  },
});

/** Records where this decoder deliberately answers differently from libmbus. */
const DIVERGENCES: Readonly<Record<string, Divergence>> = {
  'EFE_Engelmann-Elster-SensoStar-2#24': pulseWeight('0.000011'),
  'engelmann_sensostar2c#13': pulseWeight('0.1'),
  'ELS_Elster-F96-Plus#4': invalidBcd('DDDDEBBD'),
  'ELS_Elster-F96-Plus#5': invalidBcd('DDEBBD'),
  'abb_f95#2': invalidBcd('DDEBB4DD'),
  'abb_f95#3': invalidBcd('EBB4DD'),
  'landis+gyr_ultraheat_t230#19': dateOfLastEnd(null),
  'landis+gyr_ultraheat_t230#20': dateOfLastEnd(null),
  'landis+gyr_ultraheat_t230#21': dateOfLastEnd('2011-08-26T20:50'),
  'landis+gyr_ultraheat_t230#22': dateOfLastEnd('2011-08-09T11:43'),
  'sen_pollutherm#2': {
    why: 'VIF 0x7b without its extension bit is reserved: libmbus emits an empty record, the value is kept unscaled here',
    expect: (record) => {
      expect(record.quantity).toBeNull();
      expect([...record.vib]).toEqual([0x7b]);
      expect(record.value).toEqual({ kind: 'number', number: 302, decimal: '302' });
    },
  },
};

function decodeFixture(name: string): { app: ApplicationLayer; expected: NormDocument } {
  const telegram = parseTelegram(parseHex(readFixture('frames', `${name}.hex`)!));
  if (telegram.kind === 'ack' || telegram.kind === 'short') throw new Error(`${name} is not a long frame`);
  return { app: decodeFrame(telegram), expected: parseNormXml(readFixture('frames', `${name}.norm.xml`)!) };
}

function hex(value: number, digits: number): string {
  return value.toString(16).toUpperCase().padStart(digits, '0');
}

function spacedHex(bytes: Uint8Array): string {
  return [...bytes].map((byte) => hex(byte, 2)).join(' ');
}

/** libmbus's rendering of a date: `%Y-%m-%d`, `%Y-%m-%dT%H:%M:%SZ`, all zero when IV is set. */
function libmbusDate(date: MbusDateTime): string {
  const pad = (value: number | null) => String(value ?? 0).padStart(2, '0');
  if (date.type === 'G') return `${date.year}-${pad(date.month)}-${pad(date.day)}`;
  if (date.invalid === true) return '1900-01-00T00:00:00Z';
  return `${date.year}-${pad(date.month)}-${pad(date.day)}T${pad(date.hour)}:${pad(date.minute)}:${pad(date.second)}Z`;
}

function expectValue(value: RecordValue, expected: string): void {
  switch (value.kind) {
    case 'number': {
      const fractionDigits = value.decimal?.split('.')[1]?.length ?? 0;
      if (value.decimal !== null && fractionDigits <= 6) {
        // libmbus prints %f: six decimals of the exact value
        expect(value.decimal).toBe(expected.includes('.') ? expected.replace(/\.?0+$/, '') || '0' : expected);
      } else {
        // a 32-bit real, or more decimals than libmbus prints: it rounded to 6 places
        expect(Math.abs(value.number - Number(expected))).toBeLessThanOrEqual(5e-7 + Math.abs(value.number) * 1e-12);
      }
      return;
    }
    case 'date':
      expect(libmbusDate(value.date)).toBe(expected);
      return;
    case 'text':
      expect(value.text).toBe(expected);
      return;
    case 'bytes':
      // libmbus prints binary LVAR numbers most significant byte first
      expect(spacedHex(value.bytes.slice().reverse())).toBe(expected);
      return;
    default:
      throw new Error(`value ${JSON.stringify(value)} has no libmbus counterpart ${JSON.stringify(expected)}`);
  }
}

function expectRecord(record: DataRecord | undefined, expected: NormRecord): void {
  expect(record, 'record missing').toBeDefined();
  const { fields } = expected;
  expect(record!.function).toBe(FUNCTIONS[fields['Function']!]);
  expect(record!.storageNumber).toBe(Number(fields['StorageNumber']));
  expect(record!.tariff).toBe(Number(fields['Tariff'] ?? 0));
  expect(record!.subunit).toBe(Number(fields['Device'] ?? 0));
  const unit = fields['Unit']!;
  const quantity = fields['Quantity']!;
  const mapped = QUANTITIES[`${quantity}|${unit}`];
  if (mapped === undefined) {
    expect(unit, `unmapped libmbus quantity ${quantity} [${unit}]`).toBe('-');
    expect([record!.quantity, record!.unit]).toEqual(['plain-text', quantity]);
  } else {
    expect(record!.quantity).toBe(mapped[0]);
    expect(record!.unit).toBe(mapped[1]);
  }
  expectValue(record!.value, fields['Value']!);
}

function expectVariable(name: string, app: VariableDataResponse, expected: NormDocument, diverged: string[]): void {
  const { slave } = expected;
  const header = app.header;
  expect(header?.kind).toBe('long');
  if (header?.kind !== 'long') return;
  expect(header.id.replace(/^0+(?=.)/, '')).toBe(slave['Id']);
  expect(header.manufacturer).toBe(slave['Manufacturer']);
  expect(header.version).toBe(Number(slave['Version']));
  expect(header.medium).toBe(MEDIA[slave['Medium']!]);
  expect(header.accessNumber).toBe(Number(slave['AccessNumber']));
  expect(hex(header.status.raw, 2)).toBe(slave['Status']);
  expect(hex(header.signature, 4)).toBe(slave['Signature']);

  const trailer = expected.records.at(-1);
  const trailerFunction = trailer?.fields['Function'];
  const hasTrailer = trailerFunction === 'Manufacturer specific' || trailerFunction === 'More records follow';
  const records = hasTrailer ? expected.records.slice(0, -1) : expected.records;
  expect(app.records).toHaveLength(records.length);
  for (const [index, expectedRecord] of records.entries()) {
    const key = `${name}#${expectedRecord.id}`;
    const divergence = DIVERGENCES[key];
    if (divergence === undefined) {
      expectRecord(app.records[index], expectedRecord);
    } else {
      divergence.expect(app.records[index]!);
      diverged.push(key);
    }
  }
  if (hasTrailer) {
    expect(app.moreRecordsFollow).toBe(trailerFunction === 'More records follow');
    expect(spacedHex(app.manufacturerData ?? new Uint8Array())).toBe(trailer!.fields['Value']);
  } else {
    expect(app.manufacturerData).toBeNull();
  }
}

function expectFixed(app: FixedDataResponse, expected: NormDocument): void {
  const { slave } = expected;
  expect(app.header.id.replace(/^0+(?=.)/, '')).toBe(slave['Id']);
  expect(app.header.medium).toBe(FIXED_MEDIA[slave['Medium']!]);
  expect(app.header.accessNumber).toBe(Number(slave['AccessNumber']));
  expect(hex(app.header.status.raw, 2)).toBe(slave['Status']);
  expect(expected.records).toHaveLength(2);
  for (const [index, { fields }] of expected.records.entries()) {
    const counter = app.counters[index]!;
    // Both fixtures carry actual values (status bit 6 clear). Unit code 0x3e means "the unit of
    // counter 1, historic value"; libmbus prints it as a unit name.
    expect(fields['Function']).toBe('Actual value');
    const sameButHistoric = fields['Unit'] === 'reserved but historic';
    expect(counter.historic).toBe(sameButHistoric);
    if (sameButHistoric) expect(counter.unitCode).toBe(0x3e);
    const [quantity, unit, exponent] = FIXED_UNITS[sameButHistoric ? expected.records[0]!.fields['Unit']! : fields['Unit']!]!;
    expect([counter.quantity, counter.unit]).toEqual([quantity, unit]);
    const raw = Number(fields['Value']);
    expect(counter.value).toMatchObject({ kind: 'number', number: exponent >= 0 ? raw * 10 ** exponent : raw / 10 ** -exponent });
  }
}

describe('libmbus fixture frames', () => {
  it('finds the fixture directory', () => {
    expect(FIXTURES_DIR).toBeTruthy();
    requireFixtures();
  });

  const diverged: string[] = [];
  for (const name of fixtureNames('frames')) {
    it(`decodes ${name} as libmbus does`, () => {
      const { app, expected } = decodeFixture(name);
      if (app.structure === 'variable') expectVariable(name, app, expected, diverged);
      else if (app.structure === 'fixed') expectFixed(app, expected);
      else throw new Error(`${name} decoded as ${app.structure}`);
    });
  }

  it('diverges from libmbus exactly where documented', () => {
    expect(diverged.sort()).toEqual(Object.keys(DIVERGENCES).sort());
  });
});

type ErrorExpectation =
  | { readonly reason: DecodeErrorReason; readonly message: string }
  | { readonly applicationError: number; readonly libmbus: string };

/** Every file in error-frames/, with the precise answer. */
const ERROR_FRAMES: Readonly<Record<string, ErrorExpectation>> = {
  application_busy: { applicationError: 8, libmbus: 'Application busy' },
  buffer_too_long: { applicationError: 2, libmbus: 'Buffer too long, truncated' },
  error: { applicationError: 0, libmbus: 'Unspecified error' },
  premature_end_of_data1: {
    reason: 'PREMATURE_END_OF_DATA',
    message: 'PREMATURE_END_OF_DATA at offset 32: DIF 0x8b needs 3 bytes, 0 left',
  },
  premature_end_of_data2: {
    reason: 'PREMATURE_END_OF_DATA',
    message: 'PREMATURE_END_OF_DATA at offset 32: DIF 0x8b needs 3 bytes, 2 left',
  },
  premature_end_of_dif1: {
    reason: 'PREMATURE_END_OF_DIF',
    message: 'PREMATURE_END_OF_DIF at offset 30: 0x8b announces a DIFE, 0 bytes left',
  },
  premature_end_of_dif2: {
    reason: 'PREMATURE_END_OF_DIF',
    message: 'PREMATURE_END_OF_DIF at offset 31: 0x8b announces a DIFE, 0 bytes left',
  },
  premature_end_of_record: { applicationError: 4, libmbus: 'Premature end of record' },
  premature_end_of_var_vif1: {
    reason: 'PREMATURE_END_OF_VARIABLE_VIF',
    message: 'PREMATURE_END_OF_VARIABLE_VIF at offset 44: plain-text VIF needs 19 bytes, 6 left',
  },
  premature_end_of_vif1: {
    reason: 'PREMATURE_END_OF_VIF',
    message: 'PREMATURE_END_OF_VIF at offset 31: record at offset 29 needs a VIF, 0 bytes left',
  },
  too_long_var_vif: {
    reason: 'TOO_LONG_VARIABLE_VIF',
    message: 'TOO_LONG_VARIABLE_VIF at offset 43: plain-text VIF length 0xf3 is beyond 0xbf',
  },
  too_many_dife: { reason: 'TOO_MANY_DIFE', message: 'TOO_MANY_DIFE at offset 40: more than 10 DIFEs after DIF 0x8b' },
  too_many_difes: { applicationError: 5, libmbus: 'More than 10 DIFE´s' },
  too_many_readouts: { applicationError: 9, libmbus: 'Too many readouts' },
  too_many_records: { applicationError: 3, libmbus: 'Too many records' },
  too_many_vife: { reason: 'TOO_MANY_VIFE', message: 'TOO_MANY_VIFE at offset 42: more than 10 VIFEs' },
  too_many_vifes: { applicationError: 6, libmbus: 'More than 10 VIFE´s' },
  too_short_header: { reason: 'TOO_SHORT_HEADER', message: 'TOO_SHORT_HEADER at offset 7: long header needs 12 bytes, 5 left' },
  unimplemented_ci: { applicationError: 1, libmbus: 'Unimplemented CI-Field' },
  unspecified_error: { applicationError: 0, libmbus: 'Unspecified error' },
};

describe('libmbus error frames', () => {
  it('has an expectation for every error frame', () => {
    requireFixtures();
    expect(fixtureNames('error-frames')).toEqual(Object.keys(ERROR_FRAMES).sort());
  });

  for (const name of fixtureNames('error-frames')) {
    const expectation = ERROR_FRAMES[name];
    it(`answers ${name} precisely`, () => {
      if (expectation === undefined) throw new Error(`no expectation for ${name}`);
      const telegram = parseTelegram(parseHex(readFixture('error-frames', `${name}.hex`)!));
      if (telegram.kind === 'ack' || telegram.kind === 'short') throw new Error(`${name} is not a long frame`);
      if ('reason' in expectation) {
        let thrown: unknown;
        try {
          decodeFrame(telegram);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(MbusDecodeError);
        expect(thrown).toMatchObject({ reason: expectation.reason, message: expectation.message, retriable: false });
      } else {
        // A slave's own error report decodes as data; libmbus says the same in its .xml.
        expect(decodeFrame(telegram)).toMatchObject({ structure: 'application-error', code: expectation.applicationError });
        const libmbus = parseNormXml(readFixture('error-frames', `${name}.xml`)!);
        expect(libmbus.slave['Error']).toBe(expectation.libmbus);
      }
    });
  }
});

describe('corrupted fixture data', () => {
  it('never fails with anything but a typed decode error', () => {
    requireFixtures();
    let state = 0x2545f491;
    const random = (limit: number) => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) % limit;
    };
    let failures = 0;
    for (const name of fixtureNames('frames')) {
      const telegram = parseTelegram(parseHex(readFixture('frames', `${name}.hex`)!));
      if (telegram.kind === 'ack' || telegram.kind === 'short') continue;
      for (let round = 0; round < 200; round++) {
        const data = telegram.data.slice(0, random(telegram.data.length + 1));
        for (let flips = random(4); flips > 0 && data.length > 0; flips--) data[random(data.length)] = random(256);
        try {
          decodeApplicationLayer(telegram.ci, data);
        } catch (error) {
          expect(error).toBeInstanceOf(MbusDecodeError);
          failures++;
        }
      }
    }
    expect(failures).toBeGreaterThan(0);
  });
});
