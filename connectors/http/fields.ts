/**
 * Reading an untrusted JSON request body field by field. Problems are collected rather than thrown
 * one at a time, so a single 400 answer names every bad field (up to {@link MAX_ISSUES}), each by
 * its path in the body: `uplinks[3].payloadHex`, `radio.fCnt`, `deviceInfo.devEui`. Pure.
 */
import { BadInputError, SchemaValidationError, type ValidationIssue } from '../../core/errors.js';

/** A parsed JSON object. */
export type JsonObject = { readonly [key: string]: unknown };

/** A 400 answer lists at most this many problems; a body with thousands of bad items stays short. */
const MAX_ISSUES = 25;

/** Collects validation problems; {@link throwIfAny} turns them into one error. */
export class Issues {
  readonly #list: ValidationIssue[] = [];
  #count = 0;

  /** Records a problem; returns `undefined` so readers can `return issues.add(…)`. */
  add(path: string, expected: string, received: unknown): undefined {
    this.#count += 1;
    if (this.#list.length < MAX_ISSUES) this.#list.push({ path, expected, received });
    return undefined;
  }

  /** Problems found so far, including those beyond {@link MAX_ISSUES}. */
  get count(): number {
    return this.#count;
  }

  /**
   * @throws {SchemaValidationError} with reason `INVALID_FIELD` and every recorded problem, when there is one.
   */
  throwIfAny(record: string): void {
    if (this.#count > 0) throw this.error(record);
  }

  /** The recorded problems as one error with reason `INVALID_FIELD`, for the caller to throw. */
  error(record: string): SchemaValidationError {
    return new SchemaValidationError(this.#list, { record, reason: 'INVALID_FIELD' });
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses a request body as UTF-8 JSON.
 * @throws {BadInputError} `MALFORMED_JSON` naming the syntax error and its position.
 */
export function parseJsonBody(body: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new BadInputError('body is not valid UTF-8', { reason: 'MALFORMED_JSON' });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const detail = err instanceof SyntaxError ? err.message : String(err);
    throw new BadInputError(`body is not valid JSON: ${detail}`, { reason: 'MALFORMED_JSON' });
  }
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `radio.fCnt` below `uplinks[2]`, or `fCnt` at the top of the body. */
export function fieldPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

/** `uplinks[2]`. */
export function itemPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** JSON `null` counts as leaving the field out, as many JSON writers emit it for unset optionals. */
export function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** Flags every key of `object` that is not in `known`. */
export function checkKnownFields(object: JsonObject, known: readonly string[], parent: string, issues: Issues): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) issues.add(fieldPath(parent, key), `no field by this name (known fields: ${known.join(', ')})`, object[key]);
  }
}

/** Bounds of a number, inclusive. */
export interface NumberRule {
  readonly min: number;
  readonly max: number;
  readonly integer?: boolean;
}

/** A number within `rule`, or `undefined` (recorded as a problem when present but wrong). */
export function readNumber(value: unknown, path: string, rule: NumberRule, issues: Issues): number | undefined {
  if (!isPresent(value)) return undefined;
  const ok = typeof value === 'number' && Number.isFinite(value) && value >= rule.min && value <= rule.max &&
    (!rule.integer || Number.isInteger(value));
  if (ok) return value;
  return issues.add(path, `${rule.integer ? 'an integer' : 'a number'} from ${rule.min} to ${rule.max}`, value);
}

/** A string matching `pattern`, or `undefined` (recorded as a problem when present but wrong). */
export function readString(value: unknown, path: string, pattern: RegExp, expected: string, issues: Issues): string | undefined {
  if (!isPresent(value)) return undefined;
  if (typeof value === 'string' && pattern.test(value)) return value;
  return issues.add(path, expected, value);
}

/** Like {@link readString}, and a missing value is a problem too. */
export function requireString(value: unknown, path: string, pattern: RegExp, expected: string, issues: Issues): string | undefined {
  if (!isPresent(value)) return issues.add(path, expected, value);
  return readString(value, path, pattern, expected, issues);
}

const HEX = /^(?:[0-9A-Fa-f]{2})+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Bytes from a non-empty hex string of either case. */
export function readHex(value: unknown, path: string, issues: Issues): Buffer | undefined {
  if (typeof value === 'string' && HEX.test(value)) return Buffer.from(value, 'hex');
  return issues.add(path, 'a non-empty string of hex digits, two per byte', value);
}

/** Bytes from standard, padded base64 (RFC 4648 section 4); `allowEmpty` for protocols where no payload is valid. */
export function readBase64(value: unknown, path: string, issues: Issues, allowEmpty = false): Buffer | undefined {
  if (typeof value === 'string' && BASE64.test(value) && (allowEmpty || value !== '')) return Buffer.from(value, 'base64');
  return issues.add(path, `${allowEmpty ? 'a' : 'a non-empty'} standard base64 string with padding`, value);
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/** An RFC 3339 time with offset as epoch milliseconds (fractions beyond milliseconds are cut). */
export function readTime(value: unknown, path: string, issues: Issues): number | undefined {
  if (!isPresent(value)) return undefined;
  const epochMs = typeof value === 'string' ? parseRfc3339(value) : undefined;
  if (epochMs !== undefined) return epochMs;
  return issues.add(path, 'an RFC 3339 time from 1970 on with a zone, e.g. "2026-03-29T09:15:00Z"', value);
}

/** Epoch milliseconds of an RFC 3339 time, or `undefined` when it is not one (Date.parse accepts 30 February). */
export function parseRfc3339(text: string): number | undefined {
  const match = RFC3339.exec(text);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const millis = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3));
  const offsetHours = Number(match[9] ?? 0);
  const offsetMinutes = Number(match[10] ?? 0);
  if (year < 1970 || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  const local = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  if (new Date(local).getUTCDate() !== day) return undefined;
  const offsetMs = (offsetHours * 60 + offsetMinutes) * 60_000;
  return match[8] === '-' ? local + offsetMs : local - offsetMs;
}

/**
 * JSON with object keys sorted by UTF-16 code units and no whitespace: for JSON as it comes from
 * `JSON.parse`, the JSON Canonicalization Scheme (RFC 8785). Equal values give equal bytes, so
 * their hash is a stable identity.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isJsonObject(value)) {
    const members = Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}
