/**
 * GHG monitoring station messages (STATION_TELEMETRY, STATION_STATUS): the JSON station firmware
 * publishes on `stations/{stationId}/telemetry` and `…/status` (contract: README.md). Re-validated
 * here, because decode also reads uplinks replayed from the topic long after a connector checked
 * them; the rules are the connector's, so nothing it accepts is refused here.
 */
import type { RawUplink } from '../../../schemas/avro/index.js';
import type { DecodedDevice, DecodedUplink, DecodedValue } from './index.js';
import { JsonFields, parseJsonObject, pathOf, type NumberRule } from './json.js';
import { quantityInfo, type Conversion, type QuantityInfo } from './units.js';
import { decoded, jsonValue, MAIN_REGISTER } from './values.js';

const MEDIUM = 'ghg_station';

interface Measurement {
  readonly key: string;
  readonly info: QuantityInfo;
  readonly unit: string;
  readonly conversion: Conversion;
  readonly rule: NumberRule;
  readonly required: boolean;
}

function measurement(key: string, quantity: string, unit: string, rule: NumberRule, required = false): Measurement {
  const info = quantityInfo(quantity)!;
  return { key, info, unit, conversion: info.conversions.get(unit)!, rule, required };
}

const MOLE_FRACTION: NumberRule = { min: 0, max: 1_000_000 };
const GASES = ['co2Ppm', 'ch4Ppm', 'n2oPpm'];

/** Telemetry fields in the order their values are emitted. */
const MEASUREMENTS: readonly Measurement[] = [
  measurement('co2Ppm', 'co2', 'ppm', MOLE_FRACTION),
  measurement('ch4Ppm', 'ch4', 'ppm', MOLE_FRACTION),
  measurement('n2oPpm', 'n2o', 'ppm', MOLE_FRACTION),
  measurement('h2oPpm', 'h2o', 'ppm', MOLE_FRACTION),
  // Mass concentrations need the station's own T and P, so a measurement without them is unusable.
  measurement('temperatureC', 'temperature', 'degC', { min: -273.15 }, true),
  measurement('pressurePa', 'pressure', 'Pa', { min: 0 }, true),
  measurement('relativeHumidityPercent', 'relative_humidity', '%', { min: 0 }),
  measurement('windSpeedMps', 'wind_speed', 'm/s', { min: 0 }),
  measurement('windDirectionDeg', 'wind_direction', 'deg', { min: 0, max: 360, maxExclusive: true }),
];

const SENSOR_STATES = ['ok', 'degraded', 'fault', 'off'];
const LATITUDE: NumberRule = { min: -90, max: 90 };
const LONGITUDE: NumberRule = { min: -180, max: 180 };

/**
 * A telemetry message: one value per reported quantity, all observed at the message's `time`, and
 * the station's position when it reports both coordinates.
 *
 * @throws {DecodeError} `MALFORMED_JSON`, `JSON_NOT_AN_OBJECT`.
 * @throws {SchemaValidationError} `INVALID_STATION_TELEMETRY` with the paths of every bad field.
 */
export function decodeStationTelemetry(uplink: RawUplink): DecodedUplink {
  const json = parseJsonObject(uplink.payload);
  const fields = new JsonFields('station telemetry', 'INVALID_STATION_TELEMETRY');
  const time = fields.instant(json, 'time', '', true);
  const values: DecodedValue[] = [];
  for (const { key, info, unit, conversion, rule, required } of MEASUREMENTS) {
    const value = fields.number(json, key, '', rule, required);
    if (value !== undefined) values.push(jsonValue(info, conversion, value, unit, MAIN_REGISTER, time));
  }
  if (GASES.every((gas) => json[gas] === undefined || json[gas] === null)) {
    fields.issue(GASES.join('|'), 'at least one gas mole fraction', undefined);
  }
  // WGS 84 degrees; a coordinate out of range refuses the message (the connector's rule), with its path.
  const latitudeDeg = fields.number(json, 'latitudeDeg', '', LATITUDE);
  const longitudeDeg = fields.number(json, 'longitudeDeg', '', LONGITUDE);
  const altitudeM = fields.number(json, 'altitudeM', '');
  const reportIntervalS = fields.number(json, 'intervalS', '', { min: 1, integer: true });
  fields.check();

  // The connector accepts one coordinate alone; half a position places nothing, so it is ignored.
  const warnings: string[] = [];
  if ((latitudeDeg === undefined) !== (longitudeDeg === undefined)) {
    const [given, missing] = latitudeDeg === undefined ? ['longitudeDeg', 'latitudeDeg'] : ['latitudeDeg', 'longitudeDeg'];
    warnings.push(`${given} without ${missing}: position ignored`);
  }
  const device: DecodedDevice = {
    medium: MEDIUM,
    ...(reportIntervalS === undefined ? {} : { reportIntervalS }),
    ...(latitudeDeg === undefined || longitudeDeg === undefined
      ? {}
      : { location: { latitudeDeg, longitudeDeg, ...(altitudeM === undefined ? {} : { altitudeM }) } }),
    statusErrors: [],
  };
  return decoded('station', values, device, warnings);
}

/**
 * A status message: battery, firmware version, self-diagnostic codes, and sensors in `fault` or
 * `degraded` state (`off` is a deliberate state, not an error). No values.
 *
 * @throws {DecodeError} `MALFORMED_JSON`, `JSON_NOT_AN_OBJECT`.
 * @throws {SchemaValidationError} `INVALID_STATION_STATUS` with the paths of every bad field.
 */
export function decodeStationStatus(uplink: RawUplink): DecodedUplink {
  const json = parseJsonObject(uplink.payload);
  const fields = new JsonFields('station status', 'INVALID_STATION_STATUS');
  fields.instant(json, 'time', '', true);
  const batteryPercent = fields.number(json, 'batteryPercent', '', { min: 0, max: 100 });
  const batteryVolts = fields.number(json, 'batteryVoltageV', '', { min: 0 });
  fields.boolean(json, 'externalPower', '');
  const firmwareVersion = fields.string(json, 'firmwareVersion', '');
  fields.number(json, 'uptimeS', '', { min: 0, integer: true });
  const statusErrors: string[] = [];
  for (const [index, code] of (fields.array(json, 'errorCodes', '') ?? []).entries()) {
    if (typeof code === 'string' && code !== '') statusErrors.push(code);
    else fields.issue(pathOf('errorCodes', index), 'a non-empty string', code);
  }
  for (const [sensor, state] of Object.entries(fields.object(json, 'sensors', '') ?? {})) {
    if (typeof state !== 'string' || !SENSOR_STATES.includes(state)) {
      fields.issue(pathOf('sensors', sensor), `one of ${SENSOR_STATES.join(', ')}`, state);
    } else if (state === 'fault' || state === 'degraded') {
      statusErrors.push(`SENSOR_${state.toUpperCase()}:${sensor}`);
    }
  }
  fields.check();

  const device: DecodedDevice = {
    medium: MEDIUM,
    ...(batteryPercent === undefined ? {} : { batteryPercent }),
    ...(batteryVolts === undefined ? {} : { batteryVolts }),
    ...(firmwareVersion === undefined ? {} : { firmwareVersion }),
    statusErrors,
  };
  return decoded('station', [], device, []);
}
