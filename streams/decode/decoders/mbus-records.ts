/**
 * EN 13757-3 data records → register values; shared by wired M-Bus, wireless M-Bus and LoRaWAN
 * M-Bus payloads.
 *
 * A record becomes a value when its VIF names a physical quantity or meter index and its data is a
 * number. Identifiers, parameters, dates and manufacturer data are not register values and are
 * passed over in silence; records that look like values but cannot be registered unambiguously
 * (reserved VIF, manufacturer-specific VIFE, error digits in BCD, a record error, a unit the
 * quantity does not take, two different values for one register) are skipped with a warning.
 * Date-time records (VIF 0x6D, type F or I) are the time points of the values with their storage
 * number. Cumulative values of integer and BCD records carry their resolution (mbus-resolution.ts).
 */
import type { MeasurementFunction } from '../../../schemas/avro/index.js';
import type { DataRecord, MbusDateTime, Quantity, RecordFunction, VifeMeaning } from '../../../protocols/mbus/index.js';
import type { DecodedValue } from './index.js';
import { localToEpoch } from './local-time.js';
import { recordResolution } from './mbus-resolution.js';
import { quantityInfo, type Qualifier, type QuantityInfo } from './units.js';
import { decodedValue } from './values.js';

/** Where {@link collectRecordValues} puts what it finds. */
export interface RecordSink {
  readonly values: DecodedValue[];
  readonly warnings: string[];
  readonly statusErrors: string[];
}

const QUANTITIES: ReadonlyMap<Quantity, QuantityInfo> = new Map(
  (
    [
      ['energy', 'energy'],
      ['volume', 'volume'],
      ['mass', 'mass'],
      ['on-time', 'on_time'],
      ['operating-time', 'operating_time'],
      ['power', 'power'],
      ['volume-flow', 'volume_flow'],
      ['mass-flow', 'mass_flow'],
      ['flow-temperature', 'flow_temperature'],
      ['return-temperature', 'return_temperature'],
      ['temperature-difference', 'temperature_difference'],
      ['external-temperature', 'external_temperature'],
      ['pressure', 'pressure'],
      ['hca', 'hca'],
      ['voltage', 'voltage'],
      ['current', 'current'],
    ] as const
  ).map(([mbus, name]) => [mbus, quantityInfo(name)!]),
);

/** Plain-text VIF units (VIF 0x7C) that name a quantity unambiguously. */
const PLAIN_TEXT_QUANTITIES: ReadonlyMap<string, QuantityInfo> = new Map([['%RH', quantityInfo('relative_humidity')!]]);

/** HCA readings are unitless counts; M-Bus gives them no unit. */
export const HCA_UNIT = 'units';

const FUNCTIONS: Readonly<Record<RecordFunction, MeasurementFunction>> = {
  instantaneous: 'INSTANTANEOUS',
  maximum: 'MAXIMUM',
  minimum: 'MINIMUM',
  'error-state': 'DURING_ERROR',
};

/** What a VIFE does to a record that would otherwise be a value. */
type VifeEffect = 'none' | Qualifier | 'not-a-value' | 'unclear';

const VIFE_EFFECTS: Readonly<Record<VifeMeaning, VifeEffect>> = {
  'record-error': 'none',
  per: 'none', // changes the unit, which then is no unit of the quantity
  times: 'none',
  uncorrected: 'uncorrected',
  'accumulation-positive-only': 'none',
  'accumulation-negative-only': 'reverse',
  'base-conditions': 'base',
  'obis-declaration': 'none',
  'multiplicative-correction': 'none', // already applied by the record parser
  'start-date-of': 'not-a-value',
  'limit-value': 'not-a-value',
  'limit-exceed-count': 'not-a-value',
  'limit-exceed-date': 'not-a-value',
  'limit-exceed-duration': 'not-a-value',
  'duration-of': 'not-a-value',
  'date-of': 'not-a-value',
  'future-value': 'not-a-value',
  'additive-correction': 'unclear',
  extension: 'unclear',
  'manufacturer-specific': 'unclear',
  unknown: 'unclear',
};

/** Skipped records by reason, reported as one warning per reason. */
class Skips {
  private readonly offsets = new Map<string, number[]>();

  add(reason: string, offset: number): void {
    const list = this.offsets.get(reason);
    if (list === undefined) this.offsets.set(reason, [offset]);
    else list.push(offset);
  }

  report(warnings: string[]): void {
    for (const [reason, offsets] of this.offsets) {
      const noun = offsets.length === 1 ? 'record at offset' : 'records at offsets';
      warnings.push(`${noun} ${offsets.join(', ')} skipped: ${reason}`);
    }
  }
}

/**
 * Adds the register values of `records` to `sink`, and a nonzero error-flags record (VIF FD 17)
 * to its status errors.
 *
 * @param timeZone the site's zone, which places date-time records in time; without it they are
 *   not used (with a warning).
 * @throws {DecodeError} `BAD_TIME_ZONE` when `timeZone` is not an IANA zone.
 */
export function collectRecordValues(records: readonly DataRecord[], timeZone: string | undefined, sink: RecordSink): void {
  const timePoints = readTimePoints(records, timeZone, sink.warnings);
  let skips: Skips | undefined;
  const first = sink.values.length;
  let byKey: Map<string, DecodedValue> | undefined;
  let ambiguous: Set<string> | undefined;

  for (const record of records) {
    if (record.quantity === 'error-flags') {
      if (record.value.kind === 'number' && record.value.number !== 0) {
        sink.statusErrors.push(`ERROR_FLAGS:0x${record.value.number.toString(16)}`);
      }
      continue;
    }
    const value = valueOf(record, timePoints);
    if (value === undefined) continue;
    if (typeof value === 'string') {
      (skips ??= new Skips()).add(value, record.offset);
      continue;
    }
    byKey ??= new Map();
    const earlier = byKey.get(value.registerKey);
    if (earlier === undefined) {
      byKey.set(value.registerKey, value);
      sink.values.push(value);
    } else if (earlier.value !== value.value) {
      (ambiguous ??= new Set()).add(value.registerKey);
    }
  }

  if (ambiguous !== undefined) {
    const kept = sink.values.filter((value, index) => index < first || !ambiguous.has(value.registerKey));
    sink.values.length = 0;
    sink.values.push(...kept);
    for (const key of ambiguous) {
      sink.warnings.push(`register ${key} skipped: the telegram has different values for it`);
    }
  }
  skips?.report(sink.warnings);
}

/** The record's value; why it is skipped; or `undefined` when it is no register value at all. */
function valueOf(record: DataRecord, timePoints: Map<number, number> | undefined): DecodedValue | string | undefined {
  let info: QuantityInfo | undefined;
  if (record.quantity === 'plain-text') {
    info = PLAIN_TEXT_QUANTITIES.get(record.unit ?? '');
    if (info === undefined) return undefined;
  } else if (record.quantity === null) {
    return 'reserved VIF, so no quantity';
  } else {
    info = QUANTITIES.get(record.quantity);
    if (info === undefined) return undefined;
  }

  const { value } = record;
  if (value.kind === 'invalid-bcd') {
    return `BCD with error digits (${value.digits})`;
  }
  if (value.kind !== 'number') return undefined;
  if (record.recordError !== null) {
    return `the meter reports a record error (${record.recordError.description})`;
  }

  let qualifier: Qualifier | undefined;
  for (const vife of record.vifes) {
    const effect = VIFE_EFFECTS[vife.meaning];
    if (effect === 'none') continue;
    if (effect === 'not-a-value') return undefined;
    if (effect === 'unclear') {
      return `${vife.meaning} VIFE, whose meaning for the value is not known`;
    }
    qualifier = effect;
  }
  if (qualifier !== undefined) {
    const qualified = quantityInfo(`${info.name}_${qualifier}`);
    if (qualified === undefined) {
      return `${qualifier} applies to no ${info.name} register`;
    }
    info = qualified;
  }

  const unit = record.unit ?? (info.name === 'hca' ? HCA_UNIT : '');
  const conversion = info.conversions.get(unit);
  if (conversion === undefined) {
    return `unit "${unit}" is not a unit of ${info.name}`;
  }
  return decodedValue(
    info,
    conversion,
    value.number,
    unit,
    value.decimal ?? undefined,
    {
      function: FUNCTIONS[record.function],
      storageNumber: record.storageNumber,
      tariff: record.tariff,
      subunit: record.subunit,
    },
    timePoints?.get(record.storageNumber),
    info.cumulative && value.decimal !== null ? recordResolution(record) : undefined,
  );
}

/** Storage number → epoch ms of the date-time records that stamp that storage. */
function readTimePoints(
  records: readonly DataRecord[],
  timeZone: string | undefined,
  warnings: string[],
): Map<number, number> | undefined {
  let points: Map<number, number> | undefined;
  for (const record of records) {
    if (
      record.quantity !== 'date-time' ||
      record.value.kind !== 'date' ||
      record.vifes.length !== 0 ||
      record.function !== 'instantaneous' ||
      record.tariff !== 0 ||
      record.subunit !== 0
    ) {
      continue;
    }
    const { date } = record.value;
    if (date.type !== 'F' && date.type !== 'I') continue;
    if (date.iso === null) {
      warnings.push(`date-time at offset ${record.offset} is not a valid time (IV flag or no calendar date); not used as observedAt`);
      continue;
    }
    if (timeZone === undefined) {
      warnings.push(`meter time ${date.iso} (storage ${record.storageNumber}) not used as observedAt: the site has no time zone`);
      continue;
    }
    (points ??= new Map()).set(record.storageNumber, epochOf(date, timeZone));
  }
  return points;
}

function epochOf(date: MbusDateTime, timeZone: string): number {
  return localToEpoch(
    timeZone,
    date.year!,
    date.month!,
    date.day!,
    date.hour!,
    date.minute!,
    date.second ?? 0,
    date.summerTime,
  );
}
