/**
 * One canonical unit per quantity for the whole project (the table in UNITS.md), and the units each
 * quantity may arrive in. Every value a decoder emits has a quantity from this table, in its
 * canonical unit; a value in a unit its quantity does not list is never emitted.
 */
import { shiftDecimal } from './decimal.js';

/**
 * How one unit converts to its quantity's canonical unit:
 * `canonical = original × multiply × 10^exponent ÷ divide + offset`.
 */
export interface Conversion {
  readonly multiply: number;
  readonly exponent: number;
  readonly divide: number;
  readonly offset: number;
}

/** A quantity meterflux knows. */
export interface QuantityInfo {
  /** Lower snake case, as in `Reading.quantity`. */
  readonly name: string;
  /** Canonical unit: every value of the quantity is emitted in it. */
  readonly unit: string;
  /** A register that only advances (a meter index), whose differences are consumption. */
  readonly cumulative: boolean;
  /** Accepted units, the canonical one included. */
  readonly conversions: ReadonlyMap<string, Conversion>;
}

function conversion(exponent: number, multiply = 1, divide = 1, offset = 0): Conversion {
  return Object.freeze({ multiply, exponent, divide, offset });
}

const SAME = conversion(0);
const FT3_IN_M3 = 0.028316846592;
const US_GALLON_IN_M3 = 0.003785411784;

type UnitTable = ReadonlyMap<string, Conversion>;
const table = (entries: readonly [string, Conversion][]): UnitTable => new Map(entries);

const ENERGY = table([
  ['Wh', SAME], ['kWh', conversion(3)], ['MWh', conversion(6)], ['GWh', conversion(9)],
  ['J', conversion(0, 1, 3600)], ['kJ', conversion(3, 1, 3600)], ['MJ', conversion(6, 1, 3600)], ['GJ', conversion(9, 1, 3600)],
]);
const VOLUME = table([
  ['m3', SAME], ['l', conversion(-3)], ['L', conversion(-3)], ['dm3', conversion(-3)],
  ['ft3', conversion(0, FT3_IN_M3)], ['US gal', conversion(0, US_GALLON_IN_M3)],
]);
const MASS = table([['kg', SAME], ['g', conversion(-3)], ['t', conversion(3)]]);
const POWER = table([
  ['W', SAME], ['kW', conversion(3)], ['MW', conversion(6)],
  ['J/h', conversion(0, 1, 3600)], ['kJ/h', conversion(3, 1, 3600)], ['MJ/h', conversion(6, 1, 3600)], ['GJ/h', conversion(9, 1, 3600)],
]);
const VOLUME_FLOW = table([
  ['m3/h', SAME], ['m3/min', conversion(0, 60)], ['m3/s', conversion(0, 3600)],
  ['l/h', conversion(-3)], ['l/min', conversion(-3, 60)], ['l/s', conversion(-3, 3600)],
  ['US gal/h', conversion(0, US_GALLON_IN_M3)], ['US gal/min', conversion(0, US_GALLON_IN_M3 * 60)],
]);
const MASS_FLOW = table([['kg/h', SAME], ['kg/s', conversion(0, 3600)], ['t/h', conversion(3)]]);
const TEMPERATURE = table([
  ['degC', SAME], ['°C', SAME], ['K', conversion(0, 1, 1, -273.15)],
  ['degF', conversion(0, 5, 9, -160 / 9)], ['°F', conversion(0, 5, 9, -160 / 9)],
]);
const TEMPERATURE_DIFFERENCE = table([
  ['K', SAME], ['degC', SAME], ['°C', SAME], ['degF', conversion(0, 5, 9)], ['°F', conversion(0, 5, 9)],
]);
const PRESSURE = table([
  ['Pa', SAME], ['hPa', conversion(2)], ['kPa', conversion(3)], ['MPa', conversion(6)],
  ['mbar', conversion(2)], ['bar', conversion(5)], ['psi', conversion(0, 6894.757293168)],
]);
const PERCENT = table([['%', SAME], ['%RH', SAME]]);
const MOLE_FRACTION = table([['ppm', SAME], ['ppb', conversion(-3)]]);
const DURATION = table([['s', SAME], ['min', conversion(0, 60)], ['h', conversion(0, 3600)], ['d', conversion(0, 86400)]]);
const VOLTAGE = table([['V', SAME], ['mV', conversion(-3)], ['kV', conversion(3)]]);
const CURRENT = table([['A', SAME], ['mA', conversion(-3)]]);
const SPEED = table([['m/s', SAME], ['km/h', conversion(0, 1, 3.6)]]);
const ANGLE = table([['deg', SAME], ['°', SAME]]);
const HCA_UNITS = table([['units', SAME]]);

/**
 * Qualified meter indexes: M-Bus VIFEs that make a second register of the same quantity (backward
 * flow or exported energy; a gas volume before or at base conditions).
 */
export const QUALIFIERS = ['reverse', 'uncorrected', 'base'] as const;
export type Qualifier = (typeof QUALIFIERS)[number];

const QUANTITIES = new Map<string, QuantityInfo>();

function define(name: string, unit: string, conversions: UnitTable, cumulative = false): void {
  QUANTITIES.set(name, Object.freeze({ name, unit, cumulative, conversions }));
}

for (const [name, unit, conversions] of [
  ['energy', 'Wh', ENERGY],
  ['volume', 'm3', VOLUME],
  ['mass', 'kg', MASS],
] as const) {
  define(name, unit, conversions, true);
  for (const qualifier of QUALIFIERS) define(`${name}_${qualifier}`, unit, conversions, true);
}
define('hca', 'units', HCA_UNITS, true);
define('on_time', 's', DURATION, true);
define('operating_time', 's', DURATION, true);
define('power', 'W', POWER);
define('volume_flow', 'm3/h', VOLUME_FLOW);
define('mass_flow', 'kg/h', MASS_FLOW);
for (const name of ['temperature', 'flow_temperature', 'return_temperature', 'external_temperature']) {
  define(name, 'degC', TEMPERATURE);
}
define('temperature_difference', 'K', TEMPERATURE_DIFFERENCE);
define('pressure', 'Pa', PRESSURE);
define('relative_humidity', '%', PERCENT);
for (const gas of ['co2', 'ch4', 'n2o', 'h2o']) define(gas, 'ppm', MOLE_FRACTION);
define('wind_speed', 'm/s', SPEED);
define('wind_direction', 'deg', ANGLE);
define('voltage', 'V', VOLTAGE);
define('current', 'A', CURRENT);

/** The quantity called `name`, or `undefined` when the project has no canonical unit for it. */
export function quantityInfo(name: string): QuantityInfo | undefined {
  return QUANTITIES.get(name);
}

/** Every quantity, for documentation and tests. */
export function quantities(): Iterable<QuantityInfo> {
  return QUANTITIES.values();
}

/** `value` (in the unit `conversion` belongs to) in the canonical unit. */
export function convert(conversion: Conversion, value: number): number {
  const { multiply, exponent, divide, offset } = conversion;
  let result = multiply === 1 ? value : value * multiply;
  if (exponent > 0) result *= 10 ** exponent;
  else if (exponent < 0) result /= 10 ** -exponent;
  if (divide !== 1) result /= divide;
  return offset === 0 ? result : result + offset;
}

/**
 * The exact decimal in the canonical unit, when the conversion is a power of ten; `undefined` when
 * it multiplies or divides by anything else (J → Wh), which no finite decimal survives in general.
 */
export function convertExact(conversion: Conversion, decimal: string): string | undefined {
  const { multiply, exponent, divide, offset } = conversion;
  if (multiply !== 1 || divide !== 1 || offset !== 0) return undefined;
  return exponent === 0 ? decimal : shiftDecimal(decimal, exponent);
}
