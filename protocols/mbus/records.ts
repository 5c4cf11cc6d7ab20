/**
 * EN 13757-3 data records of the variable data structure:
 *
 * ```
 * DIF [DIFE…≤10]  VIF [VIFE…≤10]  data
 * ```
 * The DIF gives the function, the data field coding and storage number bit 0; each DIFE adds 4
 * storage number bits, 2 tariff bits and 1 subunit bit. Special DIFs: 0x2F is an idle filler,
 * 0x0F/0x1F end the records and start manufacturer-specific data (0x1F: more records follow in
 * the next telegram).
 */
import {
  CODING_REAL,
  dataFieldLength,
  isBcdCoding,
  isIntegerCoding,
  lvarKind,
  lvarLength,
  NO_VALUE,
  numberValue,
  readBcd,
  readInteger,
  readReal,
  readText,
  type RecordValue,
} from './data-field.js';
import { decodeDateTime } from './dates.js';
import { hexByte, MbusDecodeError, type DecodeErrorReason } from './errors.js';
import {
  EXTENSION_FB,
  EXTENSION_FD,
  MANUFACTURER_SPECIFIC,
  PLAIN_TEXT,
  PRIMARY_VIF,
  RESERVED,
  type Quantity,
  type ValueCoding,
  type ValueInformation,
} from './vif-tables.js';
import {
  COMBINABLE_VIFE,
  MANUFACTURER_VIFE,
  recordErrorOf,
  UNKNOWN_VIFE,
  unitSuffix,
  type RecordError,
  type Vife,
} from './vife-table.js';

/** A record's function field (DIF bits 4–5). */
export type RecordFunction = 'instantaneous' | 'maximum' | 'minimum' | 'error-state';

/** One decoded data record. Byte arrays are views into the decoded buffer. */
export interface DataRecord {
  /** Offset of the DIF, counted like error offsets. */
  readonly offset: number;
  /** DIF and DIFEs as sent. */
  readonly dib: Uint8Array;
  /** VIF and VIFEs as sent, including a plain-text VIF's length byte and text. */
  readonly vib: Uint8Array;
  readonly function: RecordFunction;
  readonly storageNumber: number;
  readonly tariff: number;
  readonly subunit: number;
  /** What is measured; `null` for a VIF code EN 13757-3 reserves (the value is then unscaled). */
  readonly quantity: Quantity | null;
  /**
   * Unit of `value` after scaling (see the VIF tables for the base units); the text of a plain-text
   * VIF; `null` for dimensionless values, identifiers and dates.
   */
  readonly unit: string | null;
  /** The VIFEs after the (true) VIF, decoded (see `VifeMeaning`). */
  readonly vifes: readonly Vife[];
  /** The slave's error report for this record, from a record-error VIFE. */
  readonly recordError: RecordError | null;
  readonly value: RecordValue;
}

/** The records of one telegram and what follows them. */
export interface DecodedRecords {
  readonly records: DataRecord[];
  /** Bytes after DIF 0x0F or 0x1F, kept raw (possibly empty); `null` when neither was sent. */
  readonly manufacturerData: Uint8Array | null;
  /** DIF 0x1F: the meter has more records for the next request. */
  readonly moreRecordsFollow: boolean;
}

const FUNCTIONS: readonly RecordFunction[] = ['instantaneous', 'maximum', 'minimum', 'error-state'];
const MAX_EXTENSIONS = 10;
const IDLE_FILLER = 0x2f;
const MANUFACTURER_DATA = 0x0f;
const MORE_RECORDS_FOLLOW = 0x1f;
const VIF_EXTENSION_FB = 0x7b;
const VIF_PLAIN_TEXT = 0x7c;
const VIF_EXTENSION_FD = 0x7d;
const VIF_MANUFACTURER = 0x7f;
const MAX_PLAIN_TEXT_LENGTH = 0xbf;
const SECONDS_PER = [1, 60, 3600, 86400] as const;
const NO_VIFES: readonly Vife[] = Object.freeze([]);

/**
 * Decodes the records from `start` to the end of `data`; `base` is added to every offset reported.
 * `msbFirst` for the MSB-first structure (CI 0x76). Called by the application layer, and directly
 * for records whose header a wireless carrier has already read.
 *
 * @throws {MbusDecodeError} for a record that cannot be delimited; no partial result is returned,
 *   because every record after a malformed one would be misread.
 */
export function decodeRecords(data: Uint8Array, start: number, msbFirst: boolean, base: number): DecodedRecords {
  const records: DataRecord[] = [];
  const reader = new RecordReader(data, start, msbFirst, base);
  while (reader.p < data.length) {
    const recordStart = reader.p;
    const dif = data[reader.p++]!;
    if ((dif & 0x0f) === 0x0f) {
      if (dif === IDLE_FILLER) continue;
      if (dif === MANUFACTURER_DATA || dif === MORE_RECORDS_FOLLOW) {
        return { records, manufacturerData: data.subarray(reader.p), moreRecordsFollow: dif === MORE_RECORDS_FOLLOW };
      }
      const why = dif === 0x7f ? 'is a global readout request, sent only by a master' : 'is reserved';
      throw new MbusDecodeError('RESERVED_DIF', base + recordStart, `DIF ${hexByte(dif)} ${why}`);
    }
    reader.readDifes(dif);
    const dibEnd = reader.p;
    reader.readVib(recordStart);
    const vibEnd = reader.p;
    const value = reader.readValue(dif);
    records.push({
      offset: base + recordStart,
      dib: data.subarray(recordStart, dibEnd),
      vib: data.subarray(dibEnd, vibEnd),
      function: FUNCTIONS[(dif >> 4) & 0x03]!,
      storageNumber: reader.storageNumber,
      tariff: reader.tariff,
      subunit: reader.subunit,
      quantity: reader.information.quantity,
      unit: reader.unit,
      vifes: reader.vifes ?? NO_VIFES,
      recordError: reader.recordError,
      value,
    });
  }
  return { records, manufacturerData: null, moreRecordsFollow: false };
}

/** A cursor over the records, holding what the parts of the current record have said so far. */
class RecordReader {
  /** Offset of the next byte to read. */
  p: number;
  storageNumber = 0;
  tariff = 0;
  subunit = 0;
  information: ValueInformation = RESERVED;
  unit: string | null = null;
  coding: ValueCoding = 'number';
  exponent = 0;
  factor = 1;
  recordError: RecordError | null = null;
  vifes: Vife[] | null = null;

  constructor(
    private readonly data: Uint8Array,
    start: number,
    private readonly msbFirst: boolean,
    private readonly base: number,
  ) {
    this.p = start;
  }

  /** The DIFE chain after `dif`: storage number, tariff and subunit. */
  readDifes(dif: number): void {
    const { data } = this;
    this.storageNumber = (dif >> 6) & 0x01;
    this.tariff = 0;
    this.subunit = 0;
    let extended = dif >= 0x80;
    for (let n = 0; extended; n++) {
      if (n === MAX_EXTENSIONS) {
        throw this.error('TOO_MANY_DIFE', this.p, `more than ${MAX_EXTENSIONS} DIFEs after DIF ${hexByte(dif)}`);
      }
      if (this.p === data.length) {
        const detail = `${hexByte(data[this.p - 1]!)} announces a DIFE, 0 bytes left`;
        throw this.error('PREMATURE_END_OF_DIF', this.p, detail);
      }
      const dife = data[this.p++]!;
      this.storageNumber += (dife & 0x0f) * 2 ** (1 + 4 * n);
      this.tariff += ((dife >> 4) & 0x03) * 4 ** n;
      this.subunit += ((dife >> 6) & 0x01) * 2 ** n;
      extended = dife >= 0x80;
    }
  }

  /** The VIF, its plain text or extension table entry, and the VIFE chain. */
  readVib(recordStart: number): void {
    const { data } = this;
    if (this.p === data.length) {
      const detail = `record at offset ${this.base + recordStart} needs a VIF, 0 bytes left`;
      throw this.error('PREMATURE_END_OF_VIF', this.p, detail);
    }
    const vif = data[this.p++]!;
    let extended = vif >= 0x80;
    let vifeCount = 0;
    let vifeTable = COMBINABLE_VIFE;
    switch (vif & 0x7f) {
      case VIF_EXTENSION_FB:
      case VIF_EXTENSION_FD: {
        if (!extended) {
          this.information = RESERVED;
          break;
        }
        this.checkVife(vifeCount++);
        const trueVif = data[this.p++]!;
        this.information = ((vif & 0x7f) === VIF_EXTENSION_FB ? EXTENSION_FB : EXTENSION_FD)[trueVif & 0x7f]!;
        extended = trueVif >= 0x80;
        break;
      }
      case VIF_PLAIN_TEXT:
        this.information = PLAIN_TEXT;
        break;
      case VIF_MANUFACTURER:
        this.information = MANUFACTURER_SPECIFIC;
        vifeTable = MANUFACTURER_VIFE;
        break;
      default:
        this.information = PRIMARY_VIF[vif & 0x7f]!;
    }
    this.unit = this.information.unit;
    this.coding = this.information.coding;
    this.exponent = this.information.exponent;
    this.factor = this.information.factor;
    this.recordError = null;
    this.vifes = null;
    if (this.information === PLAIN_TEXT) {
      const length = this.readPlainTextLength();
      this.unit = readText(data, this.p + 1, length, this.msbFirst);
      this.p += 1 + length;
    }

    let afterExtension = false;
    while (extended) {
      this.checkVife(vifeCount++);
      const byte = data[this.p++]!;
      extended = byte >= 0x80;
      const vife = (afterExtension ? UNKNOWN_VIFE : vifeTable)[byte & 0x7f]!;
      afterExtension = false;
      (this.vifes ??= []).push(vife);
      if (vifeTable !== COMBINABLE_VIFE) continue;
      if (vife.meaning === 'extension') afterExtension = true;
      else if (vife.meaning === 'manufacturer-specific') vifeTable = MANUFACTURER_VIFE;
      else this.apply(vife);
    }
  }

  /** What a combinable VIFE does to the value. */
  private apply(vife: Vife): void {
    switch (vife.meaning) {
      case 'record-error':
        this.recordError = recordErrorOf(vife.code);
        break;
      case 'per':
      case 'times':
        this.unit = (this.unit ?? '') + unitSuffix(vife);
        break;
      case 'start-date-of':
      case 'limit-exceed-date':
      case 'date-of':
        this.coding = 'date';
        this.unit = null;
        break;
      case 'limit-exceed-duration':
      case 'duration-of':
        this.coding = 'number';
        this.unit = 's';
        this.exponent = 0;
        this.factor = SECONDS_PER[vife.code & 0x03]!;
        break;
      case 'limit-exceed-count':
        this.coding = 'unsigned';
        this.unit = null;
        this.exponent = 0;
        this.factor = 1;
        break;
      case 'multiplicative-correction':
        this.exponent += vife.code === 0x7d ? 3 : (vife.code & 0x07) - 6;
        break;
      default:
    }
  }

  /** The data field the DIF (or its LVAR) announces, decoded as the VIB says. */
  readValue(dif: number): RecordValue {
    const { data } = this;
    const dataCoding = dif & 0x0f;
    let length = dataFieldLength(dataCoding);
    let lvar = -1;
    if (length < 0) {
      if (this.p === data.length) {
        throw this.error('PREMATURE_END_OF_DATA', this.p, `DIF ${hexByte(dif)} needs an LVAR byte, 0 left`);
      }
      lvar = data[this.p++]!;
      if (lvarKind(lvar) === null) {
        throw this.error('RESERVED_LVAR', this.p - 1, `LVAR ${hexByte(lvar)} is reserved`);
      }
      length = lvarLength(lvar);
    }
    const left = data.length - this.p;
    if (left < length) {
      const field = lvar < 0 ? `DIF ${hexByte(dif)}` : `LVAR ${hexByte(lvar)}`;
      throw this.error('PREMATURE_END_OF_DATA', this.p, `${field} needs ${length} bytes, ${left} left`);
    }
    const value = this.decodeValue(this.p, length, dataCoding, lvar);
    this.p += length;
    return value;
  }

  private decodeValue(p: number, length: number, dataCoding: number, lvar: number): RecordValue {
    const { data, msbFirst, coding, exponent, factor } = this;
    if (lvar < 0 && length === 0) return NO_VALUE;
    if (coding === 'date') {
      const date = isIntegerCoding(dataCoding) ? decodeDateTime(data, p, length, msbFirst) : null;
      return date === null ? { kind: 'bytes', bytes: data.subarray(p, p + length) } : { kind: 'date', date };
    }
    if (isIntegerCoding(dataCoding)) {
      return numberValue(readInteger(data, p, length, msbFirst, coding === 'number'), factor, exponent, true);
    }
    if (dataCoding === CODING_REAL) return numberValue(readReal(data, p, msbFirst), factor, exponent, false);
    if (isBcdCoding(dataCoding)) return bcdValue(readBcd(data, p, length, msbFirst), false, factor, exponent);
    switch (lvarKind(lvar)) {
      case 'text':
        return { kind: 'text', text: readText(data, p, length, msbFirst) };
      case 'positive-bcd':
      case 'negative-bcd':
        return bcdValue(readBcd(data, p, length, msbFirst), lvar >= 0xd0, factor, exponent);
      default:
        return { kind: 'bytes', bytes: data.subarray(p, p + length) };
    }
  }

  private error(reason: DecodeErrorReason, at: number, detail: string): MbusDecodeError {
    return new MbusDecodeError(reason, this.base + at, detail);
  }

  private checkVife(count: number): void {
    const { data, p } = this;
    if (count === MAX_EXTENSIONS) throw this.error('TOO_MANY_VIFE', p, `more than ${MAX_EXTENSIONS} VIFEs`);
    if (p === data.length) {
      throw this.error('PREMATURE_END_OF_VIF', p, `${hexByte(data[p - 1]!)} announces a VIFE, 0 bytes left`);
    }
  }

  private readPlainTextLength(): number {
    const { data, p } = this;
    if (p === data.length) {
      throw this.error('PREMATURE_END_OF_VARIABLE_VIF', p, 'plain-text VIF needs a length byte, 0 left');
    }
    const length = data[p]!;
    if (length > MAX_PLAIN_TEXT_LENGTH) {
      const detail = `plain-text VIF length ${hexByte(length)} is beyond ${hexByte(MAX_PLAIN_TEXT_LENGTH)}`;
      throw this.error('TOO_LONG_VARIABLE_VIF', p, detail);
    }
    const left = data.length - p - 1;
    if (left < length) {
      throw this.error('PREMATURE_END_OF_VARIABLE_VIF', p + 1, `plain-text VIF needs ${length} bytes, ${left} left`);
    }
    return length;
  }
}

function bcdValue(bcd: number | string, negate: boolean, factor: number, exponent: number): RecordValue {
  if (typeof bcd === 'string') return { kind: 'invalid-bcd', digits: bcd };
  return numberValue(negate ? -bcd : bcd, factor, exponent, true);
}
