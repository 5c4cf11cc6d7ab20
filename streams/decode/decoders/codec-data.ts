/**
 * The mapping convention from a codec's decoded object (TS013 `data`, ChirpStack `object`) to
 * register values and device facts. Codecs are the vendors' and name things their own way; this
 * convention reads the common ways and reports what it could not read. In short (README.md has it
 * in full):
 *
 * - Field names are compared in snake case (`volumeM3` → `volume_m3`), at any depth of nested
 *   objects; arrays are not read.
 * - A number named `{quantity}` is in the quantity's canonical unit; `{quantity}_{unit token}`
 *   names the unit (`volume_l`, `energy_kwh`, `temperature_c`); `{ "value": n, "unit": "kWh" }`
 *   under a quantity name gives the unit as text. Quantities are those of UNITS.md plus a few
 *   aliases (`temp`, `humidity`, `flow_rate`).
 * - `battery`, `battery_percent`, `battery_level` → battery percent; `battery_v`,
 *   `battery_voltage` → volts; `battery_mv` → millivolts.
 * - `true` under an alarm name (`leak`, `burst`, `tamper`, `backflow`, `low_battery`, … or any
 *   name ending in `_alarm`, `_error`, `_fault`) → a status error, the name in upper case.
 * - A top-level `time` or `timestamp` string with a UTC offset is the values' observedAt.
 * - Anything else is ignored; numbers that map to nothing are listed in one warning.
 */
import type { DecodedDevice, DecodedValue } from './index.js';
import { instantOf, isJsonObject, pathOf, type JsonObject } from './json.js';
import { quantityInfo, type QuantityInfo } from './units.js';
import { jsonValue, MAIN_REGISTER } from './values.js';

/** What a codec's object says. */
export interface CodecData {
  readonly values: DecodedValue[];
  readonly device: DecodedDevice;
  readonly warnings: string[];
}

const ALIASES: ReadonlyMap<string, string> = new Map([
  ['temp', 'temperature'],
  ['humidity', 'relative_humidity'],
  ['flow_rate', 'volume_flow'],
]);

// Lower case loses the milli/mega distinction; meters report megawatts and millivolts, not the reverse.
const UNIT_TOKENS: ReadonlyMap<string, string> = new Map([
  ['m3', 'm3'], ['dm3', 'dm3'], ['ft3', 'ft3'], ['l', 'l'], ['litre', 'l'], ['litres', 'l'], ['liter', 'l'], ['liters', 'l'],
  ['wh', 'Wh'], ['kwh', 'kWh'], ['mwh', 'MWh'], ['gwh', 'GWh'], ['j', 'J'], ['kj', 'kJ'], ['mj', 'MJ'], ['gj', 'GJ'],
  ['kg', 'kg'], ['g', 'g'], ['t', 't'],
  ['w', 'W'], ['kw', 'kW'], ['mw', 'MW'],
  ['m3h', 'm3/h'], ['lh', 'l/h'], ['lmin', 'l/min'], ['kgh', 'kg/h'],
  ['c', 'degC'], ['degc', 'degC'], ['celsius', 'degC'], ['f', 'degF'], ['degf', 'degF'], ['k', 'K'], ['kelvin', 'K'],
  ['pa', 'Pa'], ['hpa', 'hPa'], ['kpa', 'kPa'], ['mpa', 'MPa'], ['bar', 'bar'], ['mbar', 'mbar'], ['psi', 'psi'],
  ['pct', '%'], ['percent', '%'], ['ppm', 'ppm'], ['ppb', 'ppb'],
  ['s', 's'], ['sec', 's'], ['min', 'min'], ['h', 'h'], ['d', 'd'],
  ['v', 'V'], ['mv', 'mV'], ['kv', 'kV'], ['a', 'A'], ['ma', 'mA'],
  ['mps', 'm/s'], ['kmh', 'km/h'], ['deg', 'deg'], ['degrees', 'deg'],
]);

const BATTERY_PERCENT = new Set(['battery', 'battery_percent', 'battery_percentage', 'battery_level', 'battery_pct']);
const BATTERY_VOLTS = new Set(['battery_v', 'battery_volts', 'battery_voltage']);
const BATTERY_MILLIVOLTS = 'battery_mv';
const ALARMS = new Set(['leak', 'burst', 'tamper', 'backflow', 'reverse_flow', 'magnetic_tamper', 'low_battery', 'freeze', 'alarm', 'error', 'fault']);
const ALARM_SUFFIX = /_(alarm|error|fault)$/;
const TIME_FIELDS = ['time', 'timestamp'];
const MAX_DEPTH = 8;

/** A field name's meaning, cached: codecs send the same few names in every uplink. */
type FieldMeaning =
  | { readonly kind: 'quantity'; readonly info: QuantityInfo; readonly unit: string | undefined }
  | { readonly kind: 'battery-percent' | 'battery-volts' | 'battery-millivolts' | 'alarm' | 'other'; readonly code: string };

const meanings = new Map<string, FieldMeaning>();
const MAX_CACHED_NAMES = 4096;

function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
}

function quantityNamed(name: string): QuantityInfo | undefined {
  return quantityInfo(ALIASES.get(name) ?? name);
}

function meaningOf(field: string): FieldMeaning {
  let meaning = meanings.get(field);
  if (meaning !== undefined) return meaning;
  const name = snakeCase(field);
  const code = name.toUpperCase();
  if (BATTERY_PERCENT.has(name)) meaning = { kind: 'battery-percent', code };
  else if (BATTERY_VOLTS.has(name)) meaning = { kind: 'battery-volts', code };
  else if (name === BATTERY_MILLIVOLTS) meaning = { kind: 'battery-millivolts', code };
  else if (ALARMS.has(name) || ALARM_SUFFIX.test(name)) meaning = { kind: 'alarm', code };
  else {
    const whole = quantityNamed(name);
    const split = name.lastIndexOf('_');
    const info = whole ?? (split > 0 ? quantityNamed(name.slice(0, split)) : undefined);
    const unit = whole === undefined && split > 0 ? UNIT_TOKENS.get(name.slice(split + 1)) : undefined;
    meaning =
      info !== undefined && (whole !== undefined || unit !== undefined)
        ? { kind: 'quantity', info, unit }
        : { kind: 'other', code };
  }
  if (meanings.size >= MAX_CACHED_NAMES) meanings.clear();
  meanings.set(field, meaning);
  return meaning;
}

/**
 * Maps a codec's decoded object.
 *
 * @param root path of `data` in messages: `data` (TS013) or `object` (ChirpStack).
 */
export function mapCodecData(data: JsonObject, root: string): CodecData {
  const mapping = new Mapping(observedAtOf(data, root));
  mapping.walk(data, root, 0);
  return mapping.result();
}

class Mapping {
  readonly values: DecodedValue[] = [];
  readonly warnings: string[] = [];
  readonly statusErrors: string[] = [];
  batteryPercent: number | undefined;
  batteryVolts: number | undefined;
  private unmapped: string[] | undefined;
  private keys: Set<string> | undefined;

  constructor(private readonly observed: { readonly at: number | undefined; readonly warning?: string }) {
    if (observed.warning !== undefined) this.warnings.push(observed.warning);
  }

  walk(object: JsonObject, parent: string, depth: number): void {
    for (const field in object) {
      const value = object[field];
      const path = pathOf(parent, field);
      if (typeof value === 'number') this.number(field, value, path);
      else if (isJsonObject(value)) this.object(field, value, path, depth);
      else if (value === true) this.flag(field);
    }
  }

  result(): CodecData {
    if (this.unmapped !== undefined) {
      this.warnings.push(`codec fields not mapped to registers: ${this.unmapped.join(', ')}`);
    }
    return {
      values: this.values,
      device: {
        ...(this.batteryPercent === undefined ? {} : { batteryPercent: this.batteryPercent }),
        ...(this.batteryVolts === undefined ? {} : { batteryVolts: this.batteryVolts }),
        statusErrors: this.statusErrors,
      },
      warnings: this.warnings,
    };
  }

  private number(field: string, value: number, path: string): void {
    const meaning = meaningOf(field);
    switch (meaning.kind) {
      case 'quantity':
        this.measurement(meaning.info, value, meaning.unit ?? meaning.info.unit, path);
        return;
      case 'battery-percent':
        if (value >= 0 && value <= 100) this.batteryPercent = value;
        else this.warnings.push(`${path}: battery level ${value} is not a percentage; not used`);
        return;
      case 'battery-volts':
        this.batteryVolts = value;
        return;
      case 'battery-millivolts':
        this.batteryVolts = value / 1000;
        return;
      default:
        (this.unmapped ??= []).push(path);
    }
  }

  private flag(field: string): void {
    const meaning = meaningOf(field);
    if (meaning.kind === 'alarm') this.statusErrors.push(meaning.code);
  }

  /** `{ value, unit }` under a quantity name; any other object is walked into. */
  private object(field: string, object: JsonObject, path: string, depth: number): void {
    const meaning = meaningOf(field);
    const { value, unit } = object;
    if (meaning.kind === 'quantity' && typeof value === 'number' && typeof unit === 'string') {
      this.measurement(meaning.info, value, unit, path);
    } else if (depth < MAX_DEPTH) {
      this.walk(object, path, depth + 1);
    }
  }

  private measurement(info: QuantityInfo, value: number, unit: string, path: string): void {
    const conversion = info.conversions.get(unit);
    if (conversion === undefined) {
      this.warnings.push(`${path}: unit "${unit}" is not a unit of ${info.name}; not used`);
      return;
    }
    const keys = (this.keys ??= new Set());
    if (keys.has(info.name)) {
      this.warnings.push(`${path}: a second ${info.name} in one uplink; not used`);
      return;
    }
    keys.add(info.name);
    this.values.push(jsonValue(info, conversion, value, unit, MAIN_REGISTER, this.observed.at));
  }
}

function observedAtOf(data: JsonObject, root: string): { at: number | undefined; warning?: string } {
  for (const field of TIME_FIELDS) {
    const value = data[field];
    if (value === undefined || value === null) continue;
    const at = typeof value === 'string' ? instantOf(value) : undefined;
    if (at !== undefined) return { at };
    return { at: undefined, warning: `${pathOf(root, field)}: not an ISO-8601 date-time with a UTC offset; not used as observedAt` };
  }
  return { at: undefined };
}
