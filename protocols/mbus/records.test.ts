import { describe, expect, it } from 'vitest';

import { decodeApplicationLayer, type VariableDataResponse } from './application-layer.js';
import { MbusDecodeError } from './errors.js';
import { parseHex } from './testing/libmbus-fixtures.js';

/** Records without a header (CI 0x78); offsets count from the CI byte, so record data starts at 1. */
function records(hex: string): VariableDataResponse {
  const response = decodeApplicationLayer(0x78, parseHex(hex));
  if (response.structure !== 'variable') throw new Error('not a variable data response');
  return response;
}

function record(hex: string) {
  const { records: [first] } = records(hex);
  if (first === undefined) throw new Error('no record');
  return first;
}

function decodeError(hex: string): MbusDecodeError {
  try {
    records(hex);
  } catch (error) {
    if (error instanceof MbusDecodeError) return error;
    throw error;
  }
  throw new Error('decoded without error');
}

describe('DIF and DIFE chain', () => {
  it('reads function, storage number bit 0 and data field coding from the DIF', () => {
    expect(record('DA 02 3B 13 01')).toMatchObject({ function: 'maximum', storageNumber: 5, tariff: 0, subunit: 0 });
    expect(record('52 3B 13 01')).toMatchObject({ function: 'maximum', storageNumber: 1 });
    expect(record('22 65 5C 05')).toMatchObject({ function: 'minimum' });
    expect(record('32 6C 00 00')).toMatchObject({ function: 'error-state' });
  });

  it('gathers 4 storage bits, 2 tariff bits and 1 subunit bit from each DIFE', () => {
    expect(record('8B 60 04 37 18 02')).toMatchObject({ storageNumber: 0, tariff: 2, subunit: 1 });
    expect(record('84 80 40 AB FF 01 0E 00 00 00')).toMatchObject({ subunit: 2 });
    expect(record('8C 90 10 06 00 00 00 00')).toMatchObject({ tariff: 5 });
    expect(record('84 8F 0F 6D 00 00 E1 F1')).toMatchObject({ storageNumber: 510 });
    expect(record('C2 80 01 6C 61 1C')).toMatchObject({ storageNumber: 33 });
  });

  it('accepts ten DIFEs, with storage numbers beyond 32 bits', () => {
    const dib = `C1 ${'8F '.repeat(9)}0F`;
    expect(record(`${dib} 13 01`)).toMatchObject({ storageNumber: 2 ** 41 - 1 });
  });

  it('rejects an eleventh DIFE', () => {
    expect(decodeError(`81 ${'80 '.repeat(10)}00 13 01`)).toMatchObject({
      reason: 'TOO_MANY_DIFE',
      message: 'TOO_MANY_DIFE at offset 12: more than 10 DIFEs after DIF 0x81',
    });
  });

  it('keeps the raw DIB and VIB', () => {
    const decoded = record('8B 60 04 37 18 02');
    expect([...decoded.dib]).toEqual([0x8b, 0x60]);
    expect([...decoded.vib]).toEqual([0x04]);
    expect(decoded.offset).toBe(1);
  });
});

describe('special DIFs', () => {
  it('skips idle fillers', () => {
    expect(records('2F 2F 01 13 05 2F').records).toHaveLength(1);
  });

  it('keeps the bytes after DIF 0x0F as manufacturer data', () => {
    const response = records('01 13 05 0F 01 02 03');
    expect([...response.manufacturerData!]).toEqual([1, 2, 3]);
    expect(response.moreRecordsFollow).toBe(false);
  });

  it('marks DIF 0x1F as more records follow', () => {
    expect(records('1F')).toMatchObject({ records: [], moreRecordsFollow: true, manufacturerData: new Uint8Array() });
  });

  it.each([
    ['3F', 'DIF 0x3f is reserved'],
    ['7F', 'DIF 0x7f is a global readout request, sent only by a master'],
  ])('rejects %s', (hex, detail) => {
    expect(decodeError(hex)).toMatchObject({ reason: 'RESERVED_DIF', message: `RESERVED_DIF at offset 1: ${detail}` });
  });
});

describe('data fields', () => {
  it.each([
    ['01 13 FE', '-0.002'],
    ['02 13 FE FF', '-0.002'],
    ['03 13 FE FF FF', '-0.002'],
    ['04 13 FE FF FF FF', '-0.002'],
    ['06 13 FE FF FF FF FF FF', '-0.002'],
    ['07 13 FE FF FF FF FF FF FF FF', '-0.002'],
    ['09 13 12', '0.012'],
    ['0A 13 34 12', '1.234'],
    ['0B 13 56 34 12', '123.456'],
    ['0C 13 78 56 34 12', '12345.678'],
    ['0E 13 90 78 56 34 12 00', '1234567.89'],
    ['0B 13 56 34 F2', '-23.456'],
    ['0D 13 C2 34 12', '1.234'],
    ['0D 13 D2 34 12', '-1.234'],
  ])('decodes %s as %s m3', (hex, decimal) => {
    expect(record(hex)).toMatchObject({ quantity: 'volume', unit: 'm3', value: { kind: 'number', decimal, number: Number(decimal) } });
  });

  it('decodes a 32-bit real with no exact decimal', () => {
    expect(record('05 5B 2B 4B AC 41').value).toMatchObject({ kind: 'number', decimal: null });
  });

  it('has no value for data field coding 0', () => {
    expect(record('00 13').value).toEqual({ kind: 'none' });
  });

  it('reads variable-length text, binary numbers as raw bytes', () => {
    expect(record('0D FD 0B 06 35 33 32 44 56 52').value).toEqual({ kind: 'text', text: 'RVD235' });
    expect(record('0D 13 E2 01 02').value).toEqual({ kind: 'bytes', bytes: Uint8Array.of(1, 2) });
  });

  it('reports invalid BCD digits instead of a number', () => {
    expect(record('0B 3B BD EB DD').value).toEqual({ kind: 'invalid-bcd', digits: 'DDEBBD' });
  });

  it.each([
    ['04 13 01 02', 'PREMATURE_END_OF_DATA at offset 3: DIF 0x04 needs 4 bytes, 2 left'],
    ['0D 13', 'PREMATURE_END_OF_DATA at offset 3: DIF 0x0d needs an LVAR byte, 0 left'],
    ['0D 13 05 41 42', 'PREMATURE_END_OF_DATA at offset 4: LVAR 0x05 needs 5 bytes, 2 left'],
    ['0D 13 F7', 'RESERVED_LVAR at offset 3: LVAR 0xf7 is reserved'],
  ])('rejects %s', (hex, message) => {
    expect(decodeError(hex).message).toBe(message);
  });
});

describe('VIF', () => {
  it.each([
    ['04 06 98 14 00 00', 'energy', 'Wh', '5272000'],
    ['04 0E 01 00 00 00', 'energy', 'J', '1000000'],
    ['04 FB 00 08 00 00 00', 'energy', 'Wh', '800000'],
    ['04 FB 09 02 00 00 00', 'energy', 'J', '2000000000'],
    ['02 FB 19 03 00', 'mass', 'kg', '3000000'],
    ['02 5D 87 07', 'return-temperature', '°C', '19.27'],
    ['02 62 02 00', 'temperature-difference', 'K', '0.2'],
    ['02 69 E8 03', 'pressure', 'bar', '10'],
    ['02 22 02 00', 'on-time', 's', '7200'],
    ['01 27 02', 'operating-time', 's', '172800'],
    ['01 72 18', 'averaging-duration', 's', '86400'],
    ['02 FD 48 44 09', 'voltage', 'V', '237.2'],
    ['03 FD D9 FF 01 BE FF FF', 'current', 'A', '-0.066'],
    ['02 FD 6E 02 00', 'battery-operating-time', 'month', '2'],
    ['02 FD 3A 05 00', 'dimensionless', null, '5'],
  ])('decodes %s as %s in %s', (hex, quantity, unit, decimal) => {
    expect(record(hex)).toMatchObject({ quantity, unit, value: { kind: 'number', decimal } });
  });

  it('reads identifiers and bit fields unsigned', () => {
    expect(record('02 FD 17 FF FF').value).toMatchObject({ decimal: '65535' });
    expect(record('02 FD 3A FF FF').value).toMatchObject({ decimal: '-1' });
  });

  it('decodes date VIFs by data length, and keeps data of no date length raw', () => {
    expect(record('02 6C BF 1C').value).toMatchObject({ kind: 'date', date: { type: 'G', iso: '2013-12-31' } });
    expect(record('04 6D 0B 0B CD 13').value).toMatchObject({ kind: 'date', date: { type: 'F', iso: '2014-03-13T11:11' } });
    expect(record('06 6D 05 00 08 16 27 00').value).toMatchObject({ kind: 'date', date: { type: 'I' } });
    expect(record('01 6C 05').value).toEqual({ kind: 'bytes', bytes: Uint8Array.of(5) });
  });

  it('takes the unit of a plain-text VIF from its reversed ASCII, then applies its VIFEs', () => {
    const decoded = record('02 FC 03 48 52 25 74 22 15');
    expect(decoded).toMatchObject({ quantity: 'plain-text', unit: '%RH', value: { decimal: '54.1' } });
    expect([...decoded.vib]).toEqual([0xfc, 0x03, 0x48, 0x52, 0x25, 0x74]);
  });

  it('keeps a manufacturer-specific VIF and its VIFEs raw and the value unscaled', () => {
    expect(record('01 FF E1 FF 01 0D')).toMatchObject({
      quantity: 'manufacturer-specific',
      unit: null,
      vifes: [
        { code: 0x61, meaning: 'manufacturer-specific' },
        { code: 0x7f, meaning: 'manufacturer-specific' },
        { code: 0x01, meaning: 'manufacturer-specific' },
      ],
      value: { decimal: '13' },
    });
  });

  it('keeps reserved codes with an unknown quantity and the value unscaled', () => {
    expect(record('01 6F 07')).toMatchObject({ quantity: null, unit: null, value: { decimal: '7' } });
    expect(record('01 FD 7C 01')).toMatchObject({ quantity: null, value: { decimal: '1' } });
    expect(record('01 7B 01')).toMatchObject({ quantity: null, value: { decimal: '1' } });
  });

  it.each([
    ['01', 'PREMATURE_END_OF_VIF at offset 2: record at offset 1 needs a VIF, 0 bytes left'],
    ['01 FD', 'PREMATURE_END_OF_VIF at offset 3: 0xfd announces a VIFE, 0 bytes left'],
    ['01 93', 'PREMATURE_END_OF_VIF at offset 3: 0x93 announces a VIFE, 0 bytes left'],
    [`01 93 ${'80 '.repeat(10)}00 01`, 'TOO_MANY_VIFE at offset 13: more than 10 VIFEs'],
    ['01 7C', 'PREMATURE_END_OF_VARIABLE_VIF at offset 3: plain-text VIF needs a length byte, 0 left'],
    ['01 7C 03 41', 'PREMATURE_END_OF_VARIABLE_VIF at offset 4: plain-text VIF needs 3 bytes, 1 left'],
    ['01 7C C0 41', 'TOO_LONG_VARIABLE_VIF at offset 3: plain-text VIF length 0xc0 is beyond 0xbf'],
  ])('rejects %s', (hex, message) => {
    expect(decodeError(hex).message).toBe(message);
  });
});

describe('combinable VIFEs', () => {
  it('applies multiplicative correction factors', () => {
    expect(record('02 93 74 10 27').value).toMatchObject({ decimal: '0.1' });
    expect(record('02 93 FD 00 10 27').value).toMatchObject({ decimal: '10000' });
  });

  it('turns the value into a date for "date of" VIFEs', () => {
    expect(record('04 DA 6F 32 14 7A 18')).toMatchObject({
      quantity: 'flow-temperature',
      unit: null,
      vifes: [{ code: 0x6f, meaning: 'date-of' }],
      value: { kind: 'date', date: { iso: '2011-08-26T20:50' } },
    });
    expect(record('02 AB 39 BF 1C').value).toMatchObject({ kind: 'date', date: { iso: '2013-12-31' } });
  });

  it('turns the value into seconds for "duration of" VIFEs', () => {
    expect(record('02 AB 52 03 00')).toMatchObject({ quantity: 'power', unit: 's', value: { decimal: '10800' } });
  });

  it('counts limit exceeds without a unit', () => {
    expect(record('02 AB 49 03 00')).toMatchObject({ unit: null, value: { decimal: '3' } });
  });

  it('adds per and times units', () => {
    expect(record('02 86 22 01 00').unit).toBe('Wh/h');
    expect(record('02 A8 36 01 00').unit).toBe('W·s');
  });

  it('reports a record error from the slave, and none for code 0', () => {
    expect(record('02 93 15 00 00').recordError).toEqual({ code: 0x15, description: 'no data available (undefined value)' });
    expect(record('02 93 00 00 00').recordError).toBeNull();
  });

  it('keeps qualifiers as annotations without changing the value', () => {
    expect(record('02 EC 7E BF 1C')).toMatchObject({ vifes: [{ code: 0x7e, meaning: 'future-value' }], value: { date: { iso: '2013-12-31' } } });
    expect(record('04 86 3B 23 00 00 00')).toMatchObject({
      vifes: [{ code: 0x3b, meaning: 'accumulation-positive-only' }],
      value: { decimal: '35000' },
    });
  });

  it('does not interpret VIFEs after a manufacturer-specific or extension VIFE', () => {
    expect(record('02 AB FF 74 10 27')).toMatchObject({
      vifes: [
        { code: 0x7f, meaning: 'manufacturer-specific' },
        { code: 0x74, meaning: 'manufacturer-specific' },
      ],
      value: { decimal: '10000' },
    });
    expect(record('02 AB FC 74 10 27')).toMatchObject({
      vifes: [
        { code: 0x7c, meaning: 'extension' },
        { code: 0x74, meaning: 'unknown' },
      ],
      value: { decimal: '10000' },
    });
  });
});
