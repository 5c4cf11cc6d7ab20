import avsc from 'avsc';
import type { Schema, Type } from 'avsc';
import { describe, expect, it } from 'vitest';
import { DecimalType } from './decimal.js';
import { AVRO_TYPE_OPTIONS } from './index.js';

function decimal(precision: number, scale: number): DecimalType {
  const type = avsc.Type.forSchema({ type: 'bytes', logicalType: 'decimal', precision, scale }, { ...AVRO_TYPE_OPTIONS });
  if (!(type instanceof DecimalType)) throw new Error('expected a DecimalType');
  return type;
}

const money = decimal(38, 9);
const rawBytes: Type = avsc.Type.forSchema('bytes');

/** The two's-complement bytes a decimal writes, without Avro's length prefix. */
function unscaledBytes(type: Type, value: string): number[] {
  return [...(rawBytes.fromBuffer(type.toBuffer(value)) as Buffer)];
}

describe('DecimalType', () => {
  it.each([
    ['0', '0.000000000'],
    ['12.5', '12.500000000'],
    ['-12.5', '-12.500000000'],
    ['0.000000001', '0.000000001'],
    ['-0.000000001', '-0.000000001'],
    ['1843250.000000000', '1843250.000000000'],
    ['99999999999999999999999999999.999999999', '99999999999999999999999999999.999999999'],
    ['-99999999999999999999999999999.999999999', '-99999999999999999999999999999.999999999'],
    ['-0', '0.000000000'],
    ['007.25', '7.250000000'],
  ])('writes %s and reads it back exactly as %s', (written, read) => {
    expect(money.isValid(written)).toBe(true);
    expect(money.fromBuffer(money.toBuffer(written))).toBe(read);
  });

  it.each([
    ['0', [0x00]],
    ['1', [0x01]],
    ['-1', [0xff]],
    ['127', [0x7f]],
    ['128', [0x00, 0x80]],
    ['-128', [0x80]],
    ['-129', [0xff, 0x7f]],
    ['256', [0x01, 0x00]],
  ])('encodes the unscaled integer %s as minimal big-endian two\'s complement %j', (value, bytes) => {
    expect(unscaledBytes(decimal(10, 0), value)).toEqual(bytes);
  });

  it('encodes 12.5 at scale 9 as the unscaled integer 12500000000', () => {
    expect(unscaledBytes(money, '12.5')).toEqual([0x02, 0xe9, 0x0e, 0xdd, 0x00]);
  });

  it.each([
    [12.5, 'not a string'],
    [12n, 'not a string'],
    [null, 'not a string'],
    ['', 'not a decimal number (expected -?digits[.digits])'],
    ['1e3', 'not a decimal number (expected -?digits[.digits])'],
    ['+1', 'not a decimal number (expected -?digits[.digits])'],
    [' 1', 'not a decimal number (expected -?digits[.digits])'],
    ['1.', 'not a decimal number (expected -?digits[.digits])'],
    ['.5', 'not a decimal number (expected -?digits[.digits])'],
    ['1,5', 'not a decimal number (expected -?digits[.digits])'],
    ['0.0000000001', '10 fraction digits, more than scale 9'],
    ['1.5000000000', '10 fraction digits, more than scale 9'],
    ['100000000000000000000000000000', '39 digits at scale 9, more than precision 38'],
    ['-100000000000000000000000000000', '39 digits at scale 9, more than precision 38'],
  ])('refuses %o: %s', (value, problem) => {
    expect(money.isValid(value)).toBe(false);
    expect(money.problemWith(value)).toBe(problem);
    expect(() => money.toBuffer(value)).toThrow(`: ${problem}`);
  });

  it('names the type and the value when refusing to write', () => {
    expect(() => money.toBuffer('0.0000000001')).toThrow(
      'invalid decimal(38,9) "0.0000000001": 10 fraction digits, more than scale 9',
    );
  });

  it('refuses to read a value with more digits than its precision', () => {
    const wide = decimal(40, 9);
    expect(() => money.fromBuffer(wide.toBuffer('100000000000000000000000000000'))).toThrow(
      'has more than 38 digits',
    );
  });

  it('reads data written with the same precision and scale through a resolver', () => {
    const writer = decimal(38, 9);
    const resolver = money.createResolver(writer);
    expect(money.fromBuffer(writer.toBuffer('-3.25'), resolver)).toBe('-3.250000000');
  });

  it.each([
    [38, 6],
    [20, 9],
  ])('refuses to resolve data written as decimal(%i,%i)', (precision, scale) => {
    expect(() => money.createResolver(decimal(precision, scale))).toThrow('cannot read');
  });

  it('orders values numerically, not by their encoded bytes', () => {
    const values = ['10.0', '-2.5', '9.999999999', '0', '-10'];
    expect([...values].sort((a, b) => money.compare(a, b))).toEqual(['-10', '-2.5', '0', '9.999999999', '10.0']);
  });

  it('keeps precision and scale when the schema is exported', () => {
    expect(money.schema({ exportAttrs: true })).toEqual({
      type: 'bytes',
      logicalType: 'decimal',
      precision: 38,
      scale: 9,
    });
  });

  it.each<[string, Schema, string]>([
    ['without a precision', { type: 'bytes', logicalType: 'decimal' }, 'expected precision to be a positive integer'],
    [
      'with a scale above the precision',
      { type: 'bytes', logicalType: 'decimal', precision: 4, scale: 5 },
      'expected scale to be an integer from 0 to precision 4',
    ],
    [
      'on fixed',
      { type: 'fixed', name: 'Money', size: 16, logicalType: 'decimal', precision: 38, scale: 9 },
      'expected underlying type bytes, got fixed',
    ],
  ])('refuses a decimal schema %s', (_case, schema, message) => {
    expect(() => avsc.Type.forSchema(schema, { ...AVRO_TYPE_OPTIONS })).toThrow(message);
  });

  it('holds null or a decimal in a nullable union', () => {
    const nullable = avsc.Type.forSchema(
      ['null', { type: 'bytes', logicalType: 'decimal', precision: 38, scale: 9 }],
      { ...AVRO_TYPE_OPTIONS },
    );
    expect(nullable.fromBuffer(nullable.toBuffer(null))).toBeNull();
    expect(nullable.fromBuffer(nullable.toBuffer('-0.5'))).toBe('-0.500000000');
    expect(nullable.isValid(0.5)).toBe(false);
  });
});
