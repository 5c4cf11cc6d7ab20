/**
 * DECODED_VALUES_JSON: values another system already decoded, as the HTTP ingest defines them
 * (connectors/http/README.md): the uplink object, whose `values` maps register keys to a number in
 * the register's canonical unit or to `{ "value": number, "unit": "kWh" }`, and whose optional
 * `time` is when they were measured. Other fields of the object (device identity, radio) are the
 * connector's and are not read here.
 *
 * Strict, because the sender says exactly what it means: a register key whose quantity has no
 * canonical unit, or a unit the quantity does not take, refuses the message.
 */
import type { MeasurementFunction, RawUplink } from '../../../schemas/avro/index.js';
import type { DecodedUplink, DecodedValue } from './index.js';
import { isJsonObject, JsonFields, parseJsonObject, pathOf } from './json.js';
import { quantityInfo } from './units.js';
import { decoded, jsonValue, MAIN_REGISTER, type RegisterSlot } from './values.js';

// `Reading.registerKey` in its one canonical spelling: no `.tariff0`, no leading zeros, fixed order.
const REGISTER_KEY = /^([a-z][a-z0-9_]*)(?:\.tariff([1-9]\d*))?(?:\.storage([1-9]\d*))?(?:\.subunit([1-9]\d*))?(?:\.(max|min|error))?$/;
const FUNCTIONS: Readonly<Record<string, MeasurementFunction>> = { max: 'MAXIMUM', min: 'MINIMUM', error: 'DURING_ERROR' };

/**
 * @throws {DecodeError} `MALFORMED_JSON`, `JSON_NOT_AN_OBJECT`.
 * @throws {SchemaValidationError} `INVALID_DECODED_VALUES` with the paths of every bad field.
 */
export function decodeValuesJson(uplink: RawUplink): DecodedUplink {
  const json = parseJsonObject(uplink.payload);
  const fields = new JsonFields('decoded values', 'INVALID_DECODED_VALUES');
  const observedAt = fields.instant(json, 'time', '');
  const values: DecodedValue[] = [];
  for (const [key, given] of Object.entries(fields.object(json, 'values', '', true) ?? {})) {
    const value = readValue(key, given, pathOf('values', key), fields, observedAt);
    if (value !== undefined) values.push(value);
  }
  fields.check();
  return decoded('decoded-values', values, { statusErrors: [] }, []);
}

function readValue(
  key: string,
  given: unknown,
  path: string,
  fields: JsonFields,
  observedAt: number | undefined,
): DecodedValue | undefined {
  const match = REGISTER_KEY.exec(key);
  if (match === null) {
    fields.issue(path, 'a register key: quantity[.tariffN][.storageN][.subunitN][.max|.min|.error]', key);
    return undefined;
  }
  const [, quantity, tariff, storage, subunit, fn] = match;
  const info = quantityInfo(quantity!);
  if (info === undefined) {
    fields.issue(path, 'a register of a quantity with a canonical unit (UNITS.md)', key);
    return undefined;
  }
  let number: number | undefined;
  let unit = info.unit;
  if (isJsonObject(given)) {
    number = fields.number(given, 'value', path, {}, true);
    unit = fields.string(given, 'unit', path, true) ?? unit;
  } else if (typeof given === 'number' && Number.isFinite(given)) {
    number = given;
  } else {
    fields.issue(path, 'a number, or { "value": number, "unit": string }', given);
  }
  const conversion = info.conversions.get(unit);
  if (conversion === undefined) {
    fields.issue(pathOf(path, 'unit'), `a unit of ${info.name}: one of ${[...info.conversions.keys()].join(', ')}`, unit);
    return undefined;
  }
  if (number === undefined) return undefined;
  const slot: RegisterSlot =
    key === quantity
      ? MAIN_REGISTER
      : {
          function: fn === undefined ? 'INSTANTANEOUS' : FUNCTIONS[fn]!,
          storageNumber: Number(storage ?? 0),
          tariff: Number(tariff ?? 0),
          subunit: Number(subunit ?? 0),
        };
  return jsonValue(info, conversion, number, unit, slot, observedAt);
}
