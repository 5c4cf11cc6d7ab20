/**
 * Reading the JSON payload formats against their contracts (README.md). Every problem is collected
 * with its path, then reported at once as one `SchemaValidationError`, so a sender can fix all of
 * them in one go. `null` counts as absent, as publishers use it for "not available".
 */
import { DecodeError, SchemaValidationError, type ValidationIssue } from '../../../core/errors.js';

/** A parsed JSON object. */
export type JsonObject = { readonly [key: string]: unknown };

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses a payload that must be one UTF-8 JSON object.
 *
 * @throws {DecodeError} `MALFORMED_JSON` for bytes that are not UTF-8 JSON, `JSON_NOT_AN_OBJECT`
 *   for JSON that is not an object.
 */
export function parseJsonObject(payload: Uint8Array): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(payload));
  } catch (err) {
    const problem = err instanceof SyntaxError ? err.message : 'the bytes are not valid UTF-8';
    throw new DecodeError('MALFORMED_JSON', `payload: expected UTF-8 JSON, ${problem}`, { cause: err });
  }
  if (!isJsonObject(value)) {
    throw new DecodeError('JSON_NOT_AN_OBJECT', `payload: expected a JSON object, got ${Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value;
}

/** Bounds of a number, inclusive unless said otherwise. */
export interface NumberRule {
  readonly min?: number;
  readonly max?: number;
  /** `max` itself is refused (angles: 360 is 0). */
  readonly maxExclusive?: boolean;
  readonly integer?: boolean;
}

// ISO-8601 instant with an explicit offset: a local time without one is ambiguous across DST.
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** `co2Ppm`, or `values.3.unit` inside a parent. */
export function pathOf(parent: string, key: string | number): string {
  return parent === '' ? String(key) : `${parent}.${key}`;
}

/**
 * Reads fields of one JSON document and remembers what is wrong with them. Each reader returns
 * `undefined` for an absent or invalid field; {@link check} throws if anything was invalid.
 */
export class JsonFields {
  private readonly issues: ValidationIssue[] = [];

  /**
   * @param record names the document in the error message, e.g. `station telemetry`.
   * @param reason the error's reason code, e.g. `INVALID_STATION_TELEMETRY`.
   */
  constructor(
    private readonly record: string,
    private readonly reason: string,
  ) {}

  /** Records a problem found by the caller. */
  issue(path: string, expected: string, received: unknown): void {
    this.issues.push({ path, expected, received });
  }

  number(object: JsonObject, key: string, parent: string, rule: NumberRule = {}, required = false): number | undefined {
    const value = this.present(object, key, parent, required);
    if (value === undefined) return undefined;
    const path = pathOf(parent, key);
    if (typeof value !== 'number' || !Number.isFinite(value)) return this.invalid(path, 'a number', value);
    if (rule.integer === true && !Number.isInteger(value)) return this.invalid(path, 'an integer', value);
    const tooLow = rule.min !== undefined && value < rule.min;
    const tooHigh = rule.max !== undefined && (rule.maxExclusive === true ? value >= rule.max : value > rule.max);
    if (tooLow || tooHigh) return this.invalid(path, describeRange(rule), value);
    return value;
  }

  string(object: JsonObject, key: string, parent: string, required = false): string | undefined {
    const value = this.present(object, key, parent, required);
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value === '') return this.invalid(pathOf(parent, key), 'a non-empty string', value);
    return value;
  }

  boolean(object: JsonObject, key: string, parent: string): boolean | undefined {
    const value = this.present(object, key, parent, false);
    if (value === undefined || typeof value === 'boolean') return value;
    return this.invalid(pathOf(parent, key), 'true or false', value);
  }

  object(object: JsonObject, key: string, parent: string, required = false): JsonObject | undefined {
    const value = this.present(object, key, parent, required);
    if (value === undefined || isJsonObject(value)) return value;
    return this.invalid(pathOf(parent, key), 'an object', value);
  }

  array(object: JsonObject, key: string, parent: string, required = false): readonly unknown[] | undefined {
    const value = this.present(object, key, parent, required);
    if (value === undefined || Array.isArray(value)) return value;
    return this.invalid(pathOf(parent, key), 'an array', value);
  }

  /** An ISO-8601 date-time with seconds and a UTC offset, as epoch ms. */
  instant(object: JsonObject, key: string, parent: string, required = false): number | undefined {
    const value = this.present(object, key, parent, required);
    if (value === undefined) return undefined;
    const epoch = typeof value === 'string' ? instantOf(value) : undefined;
    if (epoch === undefined) {
      return this.invalid(pathOf(parent, key), 'an ISO-8601 date-time with seconds and a UTC offset', value);
    }
    return epoch;
  }

  /** @throws {SchemaValidationError} naming every invalid field, when there is one. */
  check(): void {
    if (this.issues.length > 0) {
      throw new SchemaValidationError(this.issues, { record: this.record, reason: this.reason });
    }
  }

  private present(object: JsonObject, key: string, parent: string, required: boolean): unknown {
    const value = object[key];
    if (value !== undefined && value !== null) return value;
    if (required) this.issue(pathOf(parent, key), 'a value', value);
    return undefined;
  }

  private invalid(path: string, expected: string, received: unknown): undefined {
    this.issue(path, expected, received);
    return undefined;
  }
}

/** Epoch ms of an ISO-8601 instant with a UTC offset, or `undefined` when `text` is not one. */
export function instantOf(text: string): number | undefined {
  const match = INSTANT.exec(text);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  // Date.parse rolls 2026-02-30 over to March 2; a calendar check refuses it instead.
  const calendar = new Date(Date.UTC(year, month - 1, day));
  const validDate = calendar.getUTCFullYear() === year && calendar.getUTCMonth() === month - 1 && calendar.getUTCDate() === day;
  if (!validDate || hour > 23 || minute > 59 || second > 59) return undefined;
  return Date.parse(text);
}

function describeRange(rule: NumberRule): string {
  if (rule.min !== undefined && rule.max !== undefined) {
    return `a number from ${rule.min} to ${rule.max}${rule.maxExclusive === true ? ' (exclusive)' : ''}`;
  }
  return rule.min !== undefined ? `a number of at least ${rule.min}` : `a number of at most ${rule.max}`;
}
