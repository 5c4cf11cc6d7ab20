/**
 * The combinable (orthogonal) VIFE table of EN 13757-3 (Table 15) and the record error codes a
 * slave sends in its E000 xxxx / E001 xxxx range (Table 16).
 */

/**
 * What one VIFE says about its record. The 7-bit `code` beside it carries the details (channel,
 * first/last, begin/end, lower/upper, duration unit, exponent):
 *
 * - `record-error`: E00x xxxx, the slave's error for this record (`DataRecord.recordError`)
 * - `per`, `times`: the unit is per/times something (`/h`, `/kWh`, `·s`…), added to `unit`
 * - `start-date-of`, `limit-exceed-date`, `date-of`: the value is a date/time, not the VIF's unit
 * - `limit-exceed-duration`, `duration-of`: the value is a duration, in seconds
 * - `limit-exceed-count`: the value is a count
 * - `limit-value`: the value is a lower or upper limit in the VIF's unit
 * - `multiplicative-correction`: already applied to the value
 * - `additive-correction`: the value carries an offset of 10^(nn−3) VIF units; not applied
 * - `uncorrected`, `accumulation-positive-only`, `accumulation-negative-only`, `base-conditions`,
 *   `obis-declaration`, `future-value`: qualifiers only
 * - `extension`: the next VIFE is from a further table this decoder does not know
 * - `manufacturer-specific`: this and every later VIFE of the record are the manufacturer's
 * - `unknown`: reserved here, or following an `extension`; kept raw
 */
export type VifeMeaning =
  | 'record-error'
  | 'per'
  | 'times'
  | 'start-date-of'
  | 'uncorrected'
  | 'accumulation-positive-only'
  | 'accumulation-negative-only'
  | 'base-conditions'
  | 'obis-declaration'
  | 'limit-value'
  | 'limit-exceed-count'
  | 'limit-exceed-date'
  | 'limit-exceed-duration'
  | 'duration-of'
  | 'date-of'
  | 'multiplicative-correction'
  | 'additive-correction'
  | 'extension'
  | 'future-value'
  | 'manufacturer-specific'
  | 'unknown';

/** One VIFE of a record: its code without the extension bit, and what it means. */
export interface Vife {
  readonly code: number;
  readonly meaning: VifeMeaning;
}

/** A slave's error report for one record. */
export interface RecordError {
  readonly code: number;
  readonly description: string;
}

const PER_SUFFIXES: readonly string[] = [
  '/s', '/min', '/h', '/d', '/week', '/month', '/year', '/revolution',
  '/input pulse', '/input pulse', '/output pulse', '/output pulse',
  '/l', '/m3', '/kg', '/K', '/kWh', '/GJ', '/kW', '/(K·l)', '/V', '/A',
];
const TIMES_SUFFIXES: readonly string[] = ['·s', '·s/V', '·s/A'];

/** The unit suffix a `per` or `times` VIFE adds. */
export function unitSuffix(vife: Vife): string {
  return vife.meaning === 'per' ? PER_SUFFIXES[vife.code - 0x20]! : TIMES_SUFFIXES[vife.code - 0x36]!;
}

function meaningOf(code: number): VifeMeaning {
  if (code <= 0x1f) return 'record-error';
  if (code <= 0x35) return 'per';
  if (code <= 0x38) return 'times';
  switch (code) {
    case 0x39: return 'start-date-of';
    case 0x3a: return 'uncorrected';
    case 0x3b: return 'accumulation-positive-only';
    case 0x3c: return 'accumulation-negative-only';
    case 0x3e: return 'base-conditions';
    case 0x3f: return 'obis-declaration';
    case 0x40: case 0x48: return 'limit-value';
    case 0x41: case 0x49: return 'limit-exceed-count';
    case 0x7c: return 'extension';
    case 0x7d: return 'multiplicative-correction';
    case 0x7e: return 'future-value';
    case 0x7f: return 'manufacturer-specific';
  }
  if (code >= 0x40 && code <= 0x4f && (code & 0x02) !== 0) return 'limit-exceed-date';
  if (code >= 0x50 && code <= 0x5f) return 'limit-exceed-duration';
  if (code >= 0x60 && code <= 0x67) return 'duration-of';
  if (code >= 0x68 && code <= 0x6f && (code & 0x02) !== 0) return 'date-of';
  if (code >= 0x70 && code <= 0x77) return 'multiplicative-correction';
  if (code >= 0x78 && code <= 0x7b) return 'additive-correction';
  return 'unknown';
}

function codeTable(meaning: (code: number) => VifeMeaning): readonly Vife[] {
  return Object.freeze(Array.from({ length: 128 }, (_, code) => Object.freeze({ code, meaning: meaning(code) })));
}

/** Combinable VIFEs, indexed by the VIFE without its extension bit. */
export const COMBINABLE_VIFE = codeTable(meaningOf);
/** VIFEs after a manufacturer-specific VIF or VIFE, kept raw. */
export const MANUFACTURER_VIFE = codeTable(() => 'manufacturer-specific');
/** VIFEs this decoder cannot interpret, kept raw. */
export const UNKNOWN_VIFE = codeTable(() => 'unknown');

const RECORD_ERRORS: Readonly<Record<number, string>> = {
  0x01: 'too many DIFEs',
  0x02: 'storage number not implemented',
  0x03: 'unit number not implemented',
  0x04: 'tariff number not implemented',
  0x05: 'function not implemented',
  0x06: 'data class not implemented',
  0x07: 'data size not implemented',
  0x0b: 'too many VIFEs',
  0x0c: 'illegal VIF group',
  0x0d: 'illegal VIF exponent',
  0x0e: 'VIF/DIF mismatch',
  0x0f: 'unimplemented action',
  0x15: 'no data available (undefined value)',
  0x16: 'data overflow',
  0x17: 'data underflow',
  0x18: 'data error',
  0x1c: 'premature end of record',
};

/** The error a `record-error` VIFE reports; `null` for code 0, "no error". */
export function recordErrorOf(code: number): RecordError | null {
  if (code === 0) return null;
  return { code, description: RECORD_ERRORS[code] ?? 'reserved record error' };
}
