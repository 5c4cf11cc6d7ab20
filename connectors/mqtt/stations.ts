/**
 * The JSON a GHG monitoring station publishes, defined here (README.md beside this file is the
 * contract for station firmware). Validation refuses what cannot be a measurement at all (wrong
 * types, negative amounts, absolute temperatures below zero, angles and coordinates out of range);
 * implausible but possible values are passed on for decode to flag, never dead-lettered here.
 */
import {
  optionalArray,
  optionalBoolean,
  optionalNumber,
  optionalObject,
  optionalString,
  pathOf,
  invalid,
  requiredInstant,
  requiredNumber,
  type JsonObject,
  type NumberRule,
} from './json-fields.js';
import { PayloadError } from '../../core/errors.js';

/** `stations/{stationId}/telemetry`: one measurement. */
export interface StationTelemetry {
  /** Measurement time, ISO-8601 with a UTC offset; epoch ms once parsed. */
  readonly timeMs: number;
  /** CO₂ dry mole fraction, ppm (µmol/mol). */
  readonly co2Ppm?: number;
  /** CH₄ dry mole fraction, ppm. */
  readonly ch4Ppm?: number;
  /** N₂O dry mole fraction, ppm. */
  readonly n2oPpm?: number;
  /** Water vapour mole fraction, ppm. */
  readonly h2oPpm?: number;
  /** Air temperature at the inlet, °C. */
  readonly temperatureC: number;
  /** Air pressure at the inlet, Pa. */
  readonly pressurePa: number;
  readonly relativeHumidityPercent?: number;
  readonly windSpeedMps?: number;
  /** Direction the wind blows from, degrees clockwise from true north, [0, 360). */
  readonly windDirectionDeg?: number;
  readonly latitudeDeg?: number;
  readonly longitudeDeg?: number;
  readonly altitudeM?: number;
  /** Nominal reporting interval, s: decode derives the expected sample count (completeness) from it. */
  readonly intervalS?: number;
}

/** The health of one station sensor. */
export const SENSOR_STATES = ['ok', 'degraded', 'fault', 'off'] as const;
export type SensorState = (typeof SENSOR_STATES)[number];

/** `stations/{stationId}/status`: health and diagnostics. */
export interface StationStatus {
  readonly timeMs: number;
  readonly batteryPercent?: number;
  readonly batteryVoltageV?: number;
  readonly externalPower?: boolean;
  /** Sensor name (`co2`, `ch4`, `wind`, …) to its state. */
  readonly sensors: Readonly<Record<string, SensorState>>;
  /** Self-diagnostic codes currently raised, vendor-defined; empty when none. */
  readonly errorCodes: readonly string[];
  readonly firmwareVersion?: string;
  readonly uptimeS?: number;
}

const MOLE_FRACTION: NumberRule = { min: 0, max: 1_000_000, unit: 'ppm' };
const GASES = ['co2Ppm', 'ch4Ppm', 'n2oPpm'] as const;

/**
 * Validates a telemetry message.
 * @throws {PayloadError} naming the first bad field (`MISSING_FIELD` or `INVALID_FIELD`).
 */
export function parseStationTelemetry(json: JsonObject): StationTelemetry {
  const telemetry: StationTelemetry = {
    timeMs: requiredInstant(json, 'time'),
    co2Ppm: optionalNumber(json, 'co2Ppm', MOLE_FRACTION),
    ch4Ppm: optionalNumber(json, 'ch4Ppm', MOLE_FRACTION),
    n2oPpm: optionalNumber(json, 'n2oPpm', MOLE_FRACTION),
    h2oPpm: optionalNumber(json, 'h2oPpm', MOLE_FRACTION),
    // Mass concentrations need the station's own T and P, so a measurement without them is unusable.
    temperatureC: requiredNumber(json, 'temperatureC', { min: -273.15, unit: '°C' }),
    pressurePa: requiredNumber(json, 'pressurePa', { min: 0, unit: 'Pa' }),
    relativeHumidityPercent: optionalNumber(json, 'relativeHumidityPercent', { min: 0, unit: '%' }),
    windSpeedMps: optionalNumber(json, 'windSpeedMps', { min: 0, unit: 'm/s' }),
    windDirectionDeg: optionalNumber(json, 'windDirectionDeg', { min: 0, max: 360, maxExclusive: true, unit: 'degrees' }),
    latitudeDeg: optionalNumber(json, 'latitudeDeg', { min: -90, max: 90, unit: 'degrees' }),
    longitudeDeg: optionalNumber(json, 'longitudeDeg', { min: -180, max: 180, unit: 'degrees' }),
    altitudeM: optionalNumber(json, 'altitudeM'),
    intervalS: optionalNumber(json, 'intervalS', { min: 1, integer: true, unit: 's' }),
  };
  if (GASES.every((gas) => telemetry[gas] === undefined)) {
    throw new PayloadError({
      field: GASES.join('|'),
      problem: 'are all missing; a measurement needs at least one of them',
      reason: 'MISSING_FIELD',
    });
  }
  return telemetry;
}

/**
 * Validates a status message.
 * @throws {PayloadError} naming the first bad field.
 */
export function parseStationStatus(json: JsonObject): StationStatus {
  return {
    timeMs: requiredInstant(json, 'time'),
    batteryPercent: optionalNumber(json, 'batteryPercent', { min: 0, max: 100, unit: '%' }),
    batteryVoltageV: optionalNumber(json, 'batteryVoltageV', { min: 0, unit: 'V' }),
    externalPower: optionalBoolean(json, 'externalPower'),
    sensors: parseSensors(optionalObject(json, 'sensors') ?? {}),
    errorCodes: parseErrorCodes(optionalArray(json, 'errorCodes') ?? []),
    firmwareVersion: optionalString(json, 'firmwareVersion'),
    uptimeS: optionalNumber(json, 'uptimeS', { min: 0, integer: true, unit: 's' }),
  };
}

function parseSensors(sensors: JsonObject): Record<string, SensorState> {
  const states: Record<string, SensorState> = {};
  for (const [name, state] of Object.entries(sensors)) {
    if (!(SENSOR_STATES as readonly unknown[]).includes(state)) {
      throw invalid(pathOf('sensors', name), `must be one of ${SENSOR_STATES.join(', ')}`, state);
    }
    states[name] = state as SensorState;
  }
  return states;
}

function parseErrorCodes(codes: readonly unknown[]): string[] {
  return codes.map((code, index) => {
    if (typeof code !== 'string' || code === '') throw invalid(pathOf('errorCodes', index), 'must be a non-empty string', code);
    return code;
  });
}
