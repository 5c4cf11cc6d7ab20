/**
 * EN 13757-3 value information: the primary VIF table and the two extension tables selected by
 * VIF 0xFB and 0xFD. Each 7-bit code maps to one shared, frozen entry, so decoding a record
 * allocates nothing here.
 *
 * Units are normalised so a quantity always has the same base unit: Wh, J, m3, kg, W, J/h, °C, K,
 * bar, V, A. MWh, GJ, t… in the extension tables become powers of ten of those, and durations in
 * minutes, hours or days become seconds (months and years stay as they are).
 */

/** What a record measures; `null` on a record means a code EN 13757-3 leaves reserved. */
export type Quantity =
  | 'energy'
  | 'volume'
  | 'mass'
  | 'on-time'
  | 'operating-time'
  | 'power'
  | 'volume-flow'
  | 'mass-flow'
  | 'flow-temperature'
  | 'return-temperature'
  | 'temperature-difference'
  | 'external-temperature'
  | 'pressure'
  | 'date'
  | 'date-time'
  | 'hca'
  | 'averaging-duration'
  | 'actuality-duration'
  | 'fabrication-number'
  | 'enhanced-identification'
  | 'bus-address'
  | 'any'
  | 'plain-text'
  | 'manufacturer-specific'
  // Table 0xFB
  | 'temperature-limit'
  | 'cumulative-max-power-count'
  // Table 0xFD
  | 'credit'
  | 'debit'
  | 'access-number'
  | 'device-type'
  | 'manufacturer'
  | 'parameter-set-identification'
  | 'model-version'
  | 'hardware-version'
  | 'firmware-version'
  | 'software-version'
  | 'customer-location'
  | 'customer'
  | 'access-code-user'
  | 'access-code-operator'
  | 'access-code-system-operator'
  | 'access-code-developer'
  | 'password'
  | 'error-flags'
  | 'error-mask'
  | 'digital-output'
  | 'digital-input'
  | 'baud-rate'
  | 'response-delay-time'
  | 'retry'
  | 'first-storage-number'
  | 'last-storage-number'
  | 'storage-block-size'
  | 'storage-interval'
  | 'duration-since-last-readout'
  | 'tariff-start'
  | 'tariff-duration'
  | 'tariff-period'
  | 'dimensionless'
  | 'voltage'
  | 'current'
  | 'reset-counter'
  | 'cumulation-counter'
  | 'control-signal'
  | 'day-of-week'
  | 'week-number'
  | 'day-change-time'
  | 'parameter-activation-state'
  | 'special-supplier-information'
  | 'duration-since-last-cumulation'
  | 'battery-operating-time'
  | 'battery-change-date'
  | 'remaining-battery-lifetime';

/**
 * How a record's data field is read: `number` as signed (type B) and scaled; `unsigned` for
 * identifiers and bit fields (type C/D), never scaled; `date` as a type F/G/I/J date or time.
 */
export type ValueCoding = 'number' | 'unsigned' | 'date';

/** One VIF code's meaning. */
export interface ValueInformation {
  readonly quantity: Quantity | null;
  readonly unit: string | null;
  /** Power of ten applied to the raw value. */
  readonly exponent: number;
  /** Integer factor applied to the raw value: 60, 3600 or 86400 to turn a duration into seconds. */
  readonly factor: number;
  readonly coding: ValueCoding;
}

/** A code EN 13757-3 reserves: the value is kept unscaled, the quantity unknown. */
export const RESERVED: ValueInformation = info(null, null);
/** VIF 0x7C/0xFC: the unit is an ASCII string in the record. */
export const PLAIN_TEXT: ValueInformation = info('plain-text', null);
/** VIF 0x7F/0xFF: meaning and scale are the manufacturer's; the value is kept unscaled. */
export const MANUFACTURER_SPECIFIC: ValueInformation = info('manufacturer-specific', null);

const SECONDS_PER = [1, 60, 3600, 86400] as const;

function info(
  quantity: Quantity | null,
  unit: string | null,
  exponent = 0,
  coding: ValueCoding = 'number',
  factor = 1,
): ValueInformation {
  return Object.freeze({ quantity, unit, exponent, factor, coding });
}

function table(fill: (set: (from: number, count: number, entry: (n: number) => ValueInformation) => void) => void) {
  const entries: ValueInformation[] = new Array<ValueInformation>(128).fill(RESERVED);
  fill((from, count, entry) => {
    for (let n = 0; n < count; n++) entries[from + n] = entry(n);
  });
  return Object.freeze(entries);
}

/** Durations coded `nn`: seconds, minutes, hours, days, all as seconds. */
function duration(quantity: Quantity) {
  return (n: number) => info(quantity, 's', 0, 'number', SECONDS_PER[n]!);
}

const fixed = (entry: ValueInformation) => () => entry;

/** Primary VIF table (EN 13757-3 Table 10), indexed by the VIF without its extension bit. */
export const PRIMARY_VIF = table((set) => {
  set(0x00, 8, (n) => info('energy', 'Wh', n - 3));
  set(0x08, 8, (n) => info('energy', 'J', n));
  set(0x10, 8, (n) => info('volume', 'm3', n - 6));
  set(0x18, 8, (n) => info('mass', 'kg', n - 3));
  set(0x20, 4, duration('on-time'));
  set(0x24, 4, duration('operating-time'));
  set(0x28, 8, (n) => info('power', 'W', n - 3));
  set(0x30, 8, (n) => info('power', 'J/h', n));
  set(0x38, 8, (n) => info('volume-flow', 'm3/h', n - 6));
  set(0x40, 8, (n) => info('volume-flow', 'm3/min', n - 7));
  set(0x48, 8, (n) => info('volume-flow', 'm3/s', n - 9));
  set(0x50, 8, (n) => info('mass-flow', 'kg/h', n - 3));
  set(0x58, 4, (n) => info('flow-temperature', '°C', n - 3));
  set(0x5c, 4, (n) => info('return-temperature', '°C', n - 3));
  set(0x60, 4, (n) => info('temperature-difference', 'K', n - 3));
  set(0x64, 4, (n) => info('external-temperature', '°C', n - 3));
  set(0x68, 4, (n) => info('pressure', 'bar', n - 3));
  set(0x6c, 1, fixed(info('date', null, 0, 'date')));
  set(0x6d, 1, fixed(info('date-time', null, 0, 'date')));
  set(0x6e, 1, fixed(info('hca', null)));
  set(0x70, 4, duration('averaging-duration'));
  set(0x74, 4, duration('actuality-duration'));
  set(0x78, 1, fixed(info('fabrication-number', null, 0, 'unsigned')));
  set(0x79, 1, fixed(info('enhanced-identification', null, 0, 'unsigned')));
  set(0x7a, 1, fixed(info('bus-address', null, 0, 'unsigned')));
  set(0x7e, 1, fixed(info('any', null)));
});

/** First extension table, after VIF 0xFB (EN 13757-3 Table 12). */
export const EXTENSION_FB = table((set) => {
  set(0x00, 2, (n) => info('energy', 'Wh', n + 5)); // 10^(n-1) MWh
  set(0x08, 2, (n) => info('energy', 'J', n + 8)); // 10^(n-1) GJ
  set(0x10, 2, (n) => info('volume', 'm3', n + 2));
  set(0x18, 2, (n) => info('mass', 'kg', n + 5)); // 10^(n+2) t
  set(0x21, 1, fixed(info('volume', 'ft3', -1)));
  set(0x22, 1, fixed(info('volume', 'US gal', -1)));
  set(0x23, 1, fixed(info('volume', 'US gal')));
  set(0x24, 1, fixed(info('volume-flow', 'US gal/min', -3)));
  set(0x25, 1, fixed(info('volume-flow', 'US gal/min')));
  set(0x26, 1, fixed(info('volume-flow', 'US gal/h')));
  set(0x28, 2, (n) => info('power', 'W', n + 5)); // 10^(n-1) MW
  set(0x30, 2, (n) => info('power', 'J/h', n + 8)); // 10^(n-1) GJ/h
  set(0x58, 4, (n) => info('flow-temperature', '°F', n - 3));
  set(0x5c, 4, (n) => info('return-temperature', '°F', n - 3));
  set(0x60, 4, (n) => info('temperature-difference', '°F', n - 3));
  set(0x64, 4, (n) => info('external-temperature', '°F', n - 3));
  set(0x70, 4, (n) => info('temperature-limit', '°F', n - 3));
  set(0x74, 4, (n) => info('temperature-limit', '°C', n - 3));
  set(0x78, 8, (n) => info('cumulative-max-power-count', 'W', n - 3));
});

const identifier = (quantity: Quantity) => fixed(info(quantity, null, 0, 'unsigned'));

/** Second extension table, after VIF 0xFD (EN 13757-3 Table 14). */
export const EXTENSION_FD = table((set) => {
  set(0x00, 4, (n) => info('credit', null, n - 3));
  set(0x04, 4, (n) => info('debit', null, n - 3));
  set(0x08, 1, identifier('access-number'));
  set(0x09, 1, identifier('device-type'));
  set(0x0a, 1, identifier('manufacturer'));
  set(0x0b, 1, identifier('parameter-set-identification'));
  set(0x0c, 1, identifier('model-version'));
  set(0x0d, 1, identifier('hardware-version'));
  set(0x0e, 1, identifier('firmware-version'));
  set(0x0f, 1, identifier('software-version'));
  set(0x10, 1, identifier('customer-location'));
  set(0x11, 1, identifier('customer'));
  set(0x12, 1, identifier('access-code-user'));
  set(0x13, 1, identifier('access-code-operator'));
  set(0x14, 1, identifier('access-code-system-operator'));
  set(0x15, 1, identifier('access-code-developer'));
  set(0x16, 1, identifier('password'));
  set(0x17, 1, identifier('error-flags'));
  set(0x18, 1, identifier('error-mask'));
  set(0x1a, 1, identifier('digital-output'));
  set(0x1b, 1, identifier('digital-input'));
  set(0x1c, 1, fixed(info('baud-rate', 'Bd', 0, 'unsigned')));
  set(0x1d, 1, fixed(info('response-delay-time', 'bit times', 0, 'unsigned')));
  set(0x1e, 1, fixed(info('retry', null, 0, 'unsigned')));
  set(0x20, 1, identifier('first-storage-number'));
  set(0x21, 1, identifier('last-storage-number'));
  set(0x22, 1, fixed(info('storage-block-size', null, 0, 'unsigned')));
  set(0x24, 4, duration('storage-interval'));
  set(0x28, 1, fixed(info('storage-interval', 'month')));
  set(0x29, 1, fixed(info('storage-interval', 'year')));
  set(0x2c, 4, duration('duration-since-last-readout'));
  set(0x30, 1, fixed(info('tariff-start', null, 0, 'date')));
  set(0x31, 3, (n) => info('tariff-duration', 's', 0, 'number', SECONDS_PER[n + 1]!));
  set(0x34, 4, duration('tariff-period'));
  set(0x38, 1, fixed(info('tariff-period', 'month')));
  set(0x39, 1, fixed(info('tariff-period', 'year')));
  set(0x3a, 1, fixed(info('dimensionless', null)));
  set(0x40, 16, (n) => info('voltage', 'V', n - 9));
  set(0x50, 16, (n) => info('current', 'A', n - 12));
  set(0x60, 1, fixed(info('reset-counter', null, 0, 'unsigned')));
  set(0x61, 1, fixed(info('cumulation-counter', null, 0, 'unsigned')));
  set(0x62, 1, identifier('control-signal'));
  set(0x63, 1, identifier('day-of-week'));
  set(0x64, 1, identifier('week-number'));
  set(0x65, 1, identifier('day-change-time'));
  set(0x66, 1, identifier('parameter-activation-state'));
  set(0x67, 1, identifier('special-supplier-information'));
  set(0x68, 4, (n) => durationInLongUnits('duration-since-last-cumulation', n));
  set(0x6c, 4, (n) => durationInLongUnits('battery-operating-time', n));
  set(0x70, 1, fixed(info('battery-change-date', null, 0, 'date')));
  set(0x74, 1, fixed(info('remaining-battery-lifetime', 's', 0, 'number', SECONDS_PER[3])));
});

/** Durations coded `pp`: hours, days (as seconds), months, years. */
function durationInLongUnits(quantity: Quantity, n: number): ValueInformation {
  if (n < 2) return info(quantity, 's', 0, 'number', SECONDS_PER[n + 2]!);
  return info(quantity, n === 2 ? 'month' : 'year');
}
