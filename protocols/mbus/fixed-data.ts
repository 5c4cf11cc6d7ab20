/**
 * The fixed data structure (CI 0x73, and 0x77 MSB first) of older meters (EN 1434-3 heritage):
 *
 * ```
 * id (4, BCD) | access number | status | medium and units (2) | counter 1 (4) | counter 2 (4)
 * ```
 * The 16-bit medium-and-units word holds the unit code of counter 1 in bits 0–5, of counter 2 in
 * bits 8–13, and the medium in bits 6–7 (low) and 14–15 (high). Status bit 7 set means binary
 * counters, clear means BCD; bit 6 set means both counters are historic (stored) values.
 */
import { hexDigits, numberValue, readBcd, readInteger, type RecordValue } from './data-field.js';
import { fixedMediumName } from './device-types.js';
import { MbusDecodeError } from './errors.js';
import { decodeStatus, type MbusStatus } from './header.js';
import type { Quantity } from './vif-tables.js';

/** Identity and state of a fixed-structure telegram. */
export interface FixedHeader {
  /** Identification number, 8 BCD digits. */
  readonly id: string;
  readonly accessNumber: number;
  /** Bits 0–4 as in the variable structure; bits 6–7 are the counter format (see the counters). */
  readonly status: MbusStatus;
  /** The 4-bit medium code of the fixed structure. */
  readonly medium: number;
  readonly mediumName: string;
}

/** One of the two counters. */
export interface FixedCounter {
  /** The 6-bit unit code as sent. */
  readonly unitCode: number;
  /** `null` for unit codes that are reserved or not a physical unit (time and date formats). */
  readonly quantity: Quantity | null;
  readonly unit: string | null;
  /** A stored value rather than the actual one. */
  readonly historic: boolean;
  readonly value: RecordValue;
}

const FIXED_LENGTH = 16;
const SAME_BUT_HISTORIC = 0x3e;

interface FixedUnit {
  readonly quantity: Quantity | null;
  readonly unit: string | null;
  readonly exponent: number;
}

const UNKNOWN_UNIT: FixedUnit = { quantity: null, unit: null, exponent: 0 };

// Unit codes 0x02–0x37 are runs of nine: 1, 10, 100 × (unit, kilo-unit, mega-unit).
const UNIT_RUNS: readonly [number, Quantity, string, number][] = [
  [0x02, 'energy', 'Wh', 0],
  [0x0b, 'energy', 'J', 3],
  [0x14, 'power', 'W', 0],
  [0x1d, 'power', 'J/h', 3],
  [0x26, 'volume', 'm3', -6],
  [0x2f, 'volume-flow', 'm3/h', -6],
];

function fixedUnit(code: number): FixedUnit {
  for (const [first, quantity, unit, exponent] of UNIT_RUNS) {
    if (code >= first && code < first + 9) return { quantity, unit, exponent: exponent + code - first };
  }
  if (code === 0x39) return { quantity: 'hca', unit: null, exponent: 0 };
  if (code === 0x3f) return { quantity: 'dimensionless', unit: null, exponent: 0 };
  return UNKNOWN_UNIT;
}

/**
 * Decodes the 16 bytes after CI 0x73/0x77; `base` is added to offsets in errors.
 *
 * @throws {MbusDecodeError} `TOO_SHORT_HEADER` when fewer than 16 bytes follow.
 */
export function decodeFixedData(
  data: Uint8Array,
  msbFirst: boolean,
  base: number,
): { header: FixedHeader; counters: readonly [FixedCounter, FixedCounter] } {
  if (data.length < FIXED_LENGTH) {
    const detail = `fixed data structure needs ${FIXED_LENGTH} bytes, ${data.length} left`;
    throw new MbusDecodeError('TOO_SHORT_HEADER', base, detail);
  }
  const status = decodeStatus(data[5]!);
  const word = msbFirst ? (data[6]! << 8) | data[7]! : (data[7]! << 8) | data[6]!;
  const binary = (status.raw & 0x80) !== 0;
  const historic = (status.raw & 0x40) !== 0;
  const counter = (offset: number, unitCode: number, historicUnit: boolean): FixedCounter => {
    const { quantity, unit, exponent } = fixedUnit(unitCode);
    const raw = binary ? readInteger(data, offset, 4, msbFirst, false) : readBcd(data, offset, 4, msbFirst);
    const value: RecordValue =
      typeof raw === 'string' ? { kind: 'invalid-bcd', digits: raw } : numberValue(raw, 1, exponent, true);
    return { unitCode, quantity, unit, historic: historic || historicUnit, value };
  };
  const medium = ((word >> 6) & 0x03) | ((word >> 12) & 0x0c);
  const first = counter(8, word & 0x3f, false);
  const secondCode = (word >> 8) & 0x3f;
  const second =
    secondCode === SAME_BUT_HISTORIC
      ? { ...counter(12, word & 0x3f, true), unitCode: secondCode }
      : counter(12, secondCode, false);
  return {
    header: {
      id: hexDigits(data, 0, 4, msbFirst),
      accessNumber: data[4]!,
      status,
      medium,
      mediumName: fixedMediumName(medium),
    },
    counters: [first, second],
  };
}
