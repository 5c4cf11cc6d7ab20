/**
 * Reading JSON payloads field by field, with errors that name the field and say what was expected
 * and what arrived (`co2Ppm must be a number, got string "421"`). Pure; every payload parser of the
 * MQTT connector reads through these.
 *
 * `optional…` readers return `undefined` for an absent or `null` field; `required…` readers throw
 * `MISSING_FIELD` for an absent one. Both throw a {@link PayloadError} `INVALID_FIELD` naming the
 * field's path (`parent.key`) for a value of the wrong type or outside its rule.
 */
import { PayloadError } from '../../core/errors.js';

/** A parsed JSON object. */
export type JsonObject = { readonly [key: string]: unknown };

/** Bounds a number must respect, inclusive unless said otherwise. */
export interface NumberRule {
  readonly min?: number;
  readonly max?: number;
  /** When true, `max` itself is refused (angles: 360 is 0). */
  readonly maxExclusive?: boolean;
  readonly integer?: boolean;
  /** Written after the bounds in messages, e.g. `ppm`. */
  readonly unit?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const EXCERPT_LENGTH = 40;

/**
 * Parses a payload that must be one UTF-8 JSON object.
 * @throws {PayloadError} `MALFORMED_JSON` for bytes that are not UTF-8 JSON; `INVALID_FIELD` for
 *   JSON that is not an object.
 */
export function parseJsonObject(payload: Uint8Array): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(payload));
  } catch (err) {
    const problem = err instanceof SyntaxError ? `is not valid JSON: ${err.message}` : 'is not valid UTF-8';
    throw new PayloadError({ field: 'payload', problem, reason: 'MALFORMED_JSON' });
  }
  if (!isJsonObject(value)) {
    throw invalid('payload', 'must be a JSON object', value);
  }
  return value;
}

/** A JSON object: not null, not an array. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `co2Ppm`, or `rxInfo.0.rssi` inside a parent. */
export function pathOf(parent: string, key: string | number): string {
  return parent === '' ? String(key) : `${parent}.${key}`;
}

/** A missing required field. */
export function missing(path: string): PayloadError {
  return new PayloadError({ field: path, problem: 'is missing', reason: 'MISSING_FIELD' });
}

/** A field that is present but wrong: `{path} {expectation}, got {what arrived}`. */
export function invalid(path: string, expectation: string, received: unknown, reason = 'INVALID_FIELD'): PayloadError {
  return new PayloadError({ field: path, problem: `${expectation}, got ${describe(received)}`, reason });
}

/**
 * The value of `key`, with `null` read as absent: publishers send `null` for "not available", and
 * an optional field may say so.
 */
function present(object: JsonObject, key: string): unknown {
  const value = object[key];
  return value === null ? undefined : value;
}

/** A finite number within `rule`. */
export function optionalNumber(object: JsonObject, key: string, rule: NumberRule = {}, parent = ''): number | undefined {
  const value = present(object, key);
  return value === undefined ? undefined : checkNumber(value, pathOf(parent, key), rule);
}

export function requiredNumber(object: JsonObject, key: string, rule: NumberRule = {}, parent = ''): number {
  if (object[key] === undefined) throw missing(pathOf(parent, key));
  return checkNumber(object[key], pathOf(parent, key), rule);
}

function checkNumber(value: unknown, path: string, rule: NumberRule): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(path, 'must be a number', value);
  if (rule.integer === true && !Number.isInteger(value)) throw invalid(path, 'must be an integer', value);
  const tooLow = rule.min !== undefined && value < rule.min;
  const tooHigh = rule.max !== undefined && (rule.maxExclusive === true ? value >= rule.max : value > rule.max);
  if (tooLow || tooHigh) throw invalid(path, `must be ${describeRange(rule)}`, value);
  return value;
}

function describeRange(rule: NumberRule): string {
  const unit = rule.unit === undefined ? '' : ` ${rule.unit}`;
  if (rule.min !== undefined && rule.max !== undefined) {
    return `from ${rule.min} to ${rule.max}${unit}${rule.maxExclusive === true ? ' (exclusive)' : ''}`;
  }
  if (rule.min !== undefined) return `at least ${rule.min}${unit}`;
  return `at most ${rule.max}${unit}`;
}

/** A string rule: a pattern and how to describe it in messages. */
export interface StringRule {
  readonly pattern: RegExp;
  /** e.g. `16 hex digits`. */
  readonly expected: string;
}

/** A non-empty string, matching `rule` when given. */
export function optionalString(object: JsonObject, key: string, rule?: StringRule, parent = ''): string | undefined {
  const value = present(object, key);
  return value === undefined ? undefined : checkString(value, pathOf(parent, key), rule);
}

export function requiredString(object: JsonObject, key: string, rule?: StringRule, parent = ''): string {
  if (object[key] === undefined) throw missing(pathOf(parent, key));
  return checkString(object[key], pathOf(parent, key), rule);
}

function checkString(value: unknown, path: string, rule: StringRule | undefined): string {
  if (typeof value !== 'string' || value === '') throw invalid(path, 'must be a non-empty string', value);
  if (rule !== undefined && !rule.pattern.test(value)) throw invalid(path, `must be ${rule.expected}`, value);
  return value;
}

/** `true` or `false`. */
export function optionalBoolean(object: JsonObject, key: string, parent = ''): boolean | undefined {
  const value = present(object, key);
  if (value === undefined || typeof value === 'boolean') return value;
  throw invalid(pathOf(parent, key), 'must be true or false', value);
}

/** A JSON object. */
export function optionalObject(object: JsonObject, key: string, parent = ''): JsonObject | undefined {
  const value = present(object, key);
  if (value === undefined || isJsonObject(value)) return value;
  throw invalid(pathOf(parent, key), 'must be an object', value);
}

export function requiredObject(object: JsonObject, key: string, parent = ''): JsonObject {
  const value = object[key];
  if (value === undefined) throw missing(pathOf(parent, key));
  if (!isJsonObject(value)) throw invalid(pathOf(parent, key), 'must be an object', value);
  return value;
}

/** A JSON array, elements unchecked. */
export function optionalArray(object: JsonObject, key: string, parent = ''): readonly unknown[] | undefined {
  const value = present(object, key);
  if (value === undefined || Array.isArray(value)) return value;
  throw invalid(pathOf(parent, key), 'must be an array', value);
}

// ISO-8601 instant with an explicit offset: a local time without one is ambiguous across DST.
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const INSTANT_EXPECTED = 'an ISO-8601 date-time with seconds and a UTC offset, e.g. "2026-03-29T07:15:00Z"';

/** An ISO-8601 instant as epoch milliseconds (sub-millisecond digits are truncated). */
export function requiredInstant(object: JsonObject, key: string, parent = ''): number {
  if (object[key] === undefined) throw missing(pathOf(parent, key));
  return checkInstant(object[key], pathOf(parent, key));
}

export function optionalInstant(object: JsonObject, key: string, parent = ''): number | undefined {
  const value = present(object, key);
  return value === undefined ? undefined : checkInstant(value, pathOf(parent, key));
}

function checkInstant(value: unknown, path: string): number {
  const match = typeof value === 'string' ? INSTANT.exec(value) : null;
  if (match === null) throw invalid(path, `must be ${INSTANT_EXPECTED}`, value);
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  // Date.parse rolls 2026-02-30 over to March 2; a calendar check refuses it instead.
  const calendar = new Date(Date.UTC(year, month - 1, day));
  const validDate = calendar.getUTCFullYear() === year && calendar.getUTCMonth() === month - 1 && calendar.getUTCDate() === day;
  if (!validDate || hour > 23 || minute > 59 || second > 59) throw invalid(path, `must be ${INSTANT_EXPECTED}`, value);
  return Date.parse(value as string);
}

/** `string "12,5"`, `number -3`, `null`, `array`, `object`: enough to see what arrived, never a whole payload. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string') {
    const excerpt = value.length > EXCERPT_LENGTH ? `${value.slice(0, EXCERPT_LENGTH)}…` : value;
    return `string ${JSON.stringify(excerpt)}`;
  }
  if (typeof value === 'object') return 'object';
  return `${typeof value} ${String(value)}`;
}
