/**
 * The meterflux record model: the `.avsc` files beside this module are the only definition of each
 * record (see README.md here for topics, keys and evolution rules). This module loads them, builds
 * avsc types with the project's logical types, and validates values with a path for every bad field.
 */
import { readFileSync } from 'node:fs';
import avsc from 'avsc';
import type { ForSchemaOptions, Schema, Type } from 'avsc';
import { DecimalType } from './decimal.js';

export type * from './types.generated.js';

/** Names of the records, one `.avsc` file each, in the order the README documents them. */
export const RECORD_NAMES = [
  'RawUplink',
  'Reading',
  'Device',
  'Consumption',
  'Concentration',
  'Footprint',
  'Alert',
  'DeadLetter',
] as const;

/** Name of a meterflux record, e.g. `'Reading'`. */
export type RecordName = (typeof RECORD_NAMES)[number];

/** Namespace of every named type in the record model. */
export const NAMESPACE = 'meterflux.v1';

/** A field of a record schema as written in an `.avsc` file. */
export interface AvroFieldJson {
  readonly name: string;
  readonly type: AvroSchemaJson;
  readonly doc?: string;
  readonly default?: unknown;
}

/** A node of an Avro schema as written in an `.avsc` file (JSON). */
export type AvroSchemaJson =
  | string
  | readonly AvroSchemaJson[]
  | {
      readonly type: string;
      readonly name?: string;
      readonly namespace?: string;
      readonly doc?: string;
      readonly fields?: readonly AvroFieldJson[];
      readonly symbols?: readonly string[];
      readonly default?: unknown;
      readonly items?: AvroSchemaJson;
      readonly values?: AvroSchemaJson;
      readonly logicalType?: string;
      readonly precision?: number;
      readonly scale?: number;
    };

/** A top-level record schema: the parsed content of one `.avsc` file. */
export interface RecordSchemaJson {
  readonly type: 'record';
  readonly name: RecordName;
  readonly namespace: string;
  readonly doc: string;
  readonly fields: readonly AvroFieldJson[];
}

/**
 * Options for `avsc.Type.forSchema` that every meterflux Avro type is built with: the `decimal`
 * logical type ({@link DecimalType}), and `assertLogicalTypes` so a malformed decimal schema fails
 * loudly instead of silently degrading to raw bytes. `timestamp-millis` stays a plain `long`
 * (UTC epoch milliseconds as a `number`).
 *
 * Frozen: pass a copy (`{ ...AVRO_TYPE_OPTIONS }`), because avsc stores its registry of named types
 * in the options object it is given. The schema-registry client must build its types with these
 * options so decoded values look the same everywhere.
 */
export const AVRO_TYPE_OPTIONS: Readonly<Partial<ForSchemaOptions>> = Object.freeze({
  logicalTypes: Object.freeze({ decimal: DecimalType }),
  assertLogicalTypes: true,
});

const schemas = new Map<RecordName, RecordSchemaJson>();
const types = new Map<RecordName, Type>();

/**
 * The parsed `.avsc` of a record, exactly as registered with the schema registry under
 * `<topic>-value`. Read from disk once per process and deep-frozen.
 *
 * @throws when the file is missing or is not JSON (a broken checkout).
 */
export function recordSchema(name: RecordName): RecordSchemaJson {
  let schema = schemas.get(name);
  if (schema === undefined) {
    const text = readFileSync(new URL(`./${name}.avsc`, import.meta.url), 'utf8');
    schema = deepFreeze(JSON.parse(text) as RecordSchemaJson);
    schemas.set(name, schema);
  }
  return schema;
}

/** The avsc type of a record, built once with {@link AVRO_TYPE_OPTIONS} and cached. */
export function avroType(name: RecordName): Type {
  let type = types.get(name);
  if (type === undefined) {
    type = avsc.Type.forSchema(recordSchema(name) as unknown as Schema, { ...AVRO_TYPE_OPTIONS });
    types.set(name, type);
  }
  return type;
}

/** One bad field found by {@link validateRecord}. */
export interface ValidationIssue {
  /** Dotted path, e.g. `reading.value` or `footprint.lines.0.factorId`. */
  readonly path: string;
  /** What the schema expects there, e.g. `double` or `null | decimal(38,9) string`. */
  readonly expected: string;
  /** The value found there (`undefined` for a missing field). */
  readonly received: unknown;
}

/** Outcome of {@link validateRecord}. */
export type ValidationResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /**
       * Dotted path of every bad field, e.g. `footprint.lines.0.factorId`: declared fields in schema
       * order, then fields the schema does not declare.
       */
      readonly paths: string[];
      /** One message per path, `{path}: expected {type}, got {value}`. */
      readonly problems: string[];
      /** The same findings as data, for errors that carry them (one per path, same order). */
      readonly issues: ValidationIssue[];
    };

/**
 * Checks `value` against a record's schema and reports every bad field, not just the first: a
 * missing or mistyped field (also nested in a union, array, map or record), a decimal that is not
 * an exact decimal string within precision and scale, and a field the schema does not declare
 * (avsc would silently drop it). Paths start with the record name in lower camel case
 * (`reading.value`); array items and map entries add their index or key (`lines.0`, `metadata.qos`).
 *
 * Called where data enters (connectors, before producing) and after bytes are decoded; a failure
 * is bad input (dead-letter it with these paths), never a retriable error.
 */
export function validateRecord(name: RecordName, value: unknown): ValidationResult {
  const type = avroType(name);
  // Fast path for the common case (valid records on the hot path); paths are only worked out for failures.
  if (type.isValid(value) && !hasUndeclaredFields(type, value)) return VALID;
  const root = name.charAt(0).toLowerCase() + name.slice(1);
  const issues: ValidationIssue[] = [];
  const problems: string[] = [];
  const report: Reporter = (path, expected, received, got) => {
    const dotted = [root, ...path].join('.');
    issues.push({ path: dotted, expected, received });
    problems.push(`${dotted}: expected ${expected}, got ${got}`);
  };
  type.isValid(value, {
    errorHook: (path, received, expectedType) => {
      report(path, describeType(expectedType), received, describeValue(received, expectedType));
    },
  });
  collectUndeclaredFields(type, value, [], report);
  return issues.length === 0 ? { ok: true } : { ok: false, paths: issues.map((issue) => issue.path), problems, issues };
}

const VALID: ValidationResult = Object.freeze({ ok: true });

type Reporter = (path: readonly string[], expected: string, received: unknown, got: string) => void;

const declaredFields = new WeakMap<Type, ReadonlySet<string>>();

function declaredFieldsOf(type: InstanceType<typeof avsc.types.RecordType>): ReadonlySet<string> {
  let names = declaredFields.get(type);
  if (!names) {
    names = new Set(type.fields.map((field) => field.name));
    declaredFields.set(type, names);
  }
  return names;
}

/** Allocation-free twin of {@link collectUndeclaredFields}: is there any undeclared field at all? */
function hasUndeclaredFields(type: Type, value: unknown): boolean {
  if (type instanceof avsc.types.RecordType) {
    if (!isPlainObject(value)) return false;
    const declared = declaredFieldsOf(type);
    for (const key in value) if (!declared.has(key)) return true;
    for (const field of type.fields) if (hasUndeclaredFields(field.type, value[field.name])) return true;
    return false;
  }
  if (type instanceof avsc.types.ArrayType) {
    if (!Array.isArray(value)) return false;
    for (const item of value) if (hasUndeclaredFields(type.itemsType, item)) return true;
    return false;
  }
  if (type instanceof avsc.types.MapType) {
    if (!isPlainObject(value)) return false;
    for (const key in value) if (hasUndeclaredFields(type.valuesType as Type, value[key])) return true;
    return false;
  }
  if (type instanceof avsc.types.UnwrappedUnionType) {
    for (const branch of type.types) if (hasUndeclaredFields(branch, value)) return true;
  }
  return false;
}

/** Reports fields present in `value` that its record type does not declare, at any depth. */
function collectUndeclaredFields(type: Type, value: unknown, path: readonly string[], report: Reporter): void {
  if (type instanceof avsc.types.RecordType) {
    if (!isPlainObject(value)) return;
    const declared = declaredFieldsOf(type);
    for (const key of Object.keys(value)) {
      if (!declared.has(key)) {
        const received = value[key];
        report([...path, key], `no field "${key}" (${shortName(type)} does not declare it)`, received, describeValue(received));
      }
    }
    for (const field of type.fields) {
      collectUndeclaredFields(field.type, value[field.name], [...path, field.name], report);
    }
  } else if (type instanceof avsc.types.ArrayType) {
    if (!Array.isArray(value)) return;
    value.forEach((item: unknown, index) => collectUndeclaredFields(type.itemsType, item, [...path, String(index)], report));
  } else if (type instanceof avsc.types.MapType) {
    if (!isPlainObject(value)) return;
    for (const [key, item] of Object.entries(value)) {
      collectUndeclaredFields(type.valuesType as Type, item, [...path, key], report);
    }
  } else if (type instanceof avsc.types.UnwrappedUnionType) {
    // A value has the shape of at most one branch (records, arrays and maps never share a union
    // here), so walking every branch reports each undeclared field once.
    for (const branch of type.types) {
      collectUndeclaredFields(branch, value, path, report);
    }
  }
}

/** `Gas` for `meterflux.v1.Gas`. */
function shortName(type: Type): string {
  const name = type.name ?? type.typeName;
  return name.slice(name.lastIndexOf('.') + 1);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** Names an avsc type the way a schema reader would: `double`, `enum Gas (CO2, CH4, …)`, `null | string`. */
function describeType(type: Type): string {
  if (type instanceof DecimalType) {
    return `decimal(${type.precision},${type.scale}) string`;
  }
  if (type instanceof avsc.types.EnumType) {
    return `enum ${shortName(type)} (${type.symbols.join(', ')})`;
  }
  if (type instanceof avsc.types.RecordType) {
    return `record ${shortName(type)}`;
  }
  if (type instanceof avsc.types.ArrayType) {
    return `array of ${describeType(type.itemsType)}`;
  }
  if (type instanceof avsc.types.MapType) {
    return `map of ${describeType(type.valuesType as Type)}`;
  }
  if (type instanceof avsc.types.UnwrappedUnionType) {
    return type.types.map(describeType).join(' | ');
  }
  return type.typeName;
}

/** Shows what arrived, briefly; for a decimal (or a union with one) also why it was refused. */
function describeValue(value: unknown, expected?: Type): string {
  let shown: string;
  if (value === undefined) {
    shown = 'undefined (missing)';
  } else if (Buffer.isBuffer(value)) {
    shown = `Buffer of ${value.length} bytes`;
  } else if (Array.isArray(value)) {
    shown = `array of ${value.length}`;
  } else if (typeof value === 'object' && value !== null) {
    shown = 'object';
  } else if (typeof value === 'string') {
    shown = JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  } else if (typeof value === 'bigint') {
    shown = `${value}n`;
  } else {
    shown = String(value);
  }
  const decimal = findDecimal(expected);
  const why = value === undefined || value === null ? undefined : decimal?.problemWith(value);
  return why === undefined ? shown : `${shown} (${why})`;
}

function findDecimal(type: Type | undefined): DecimalType | undefined {
  if (type instanceof DecimalType) return type;
  if (type instanceof avsc.types.UnwrappedUnionType) {
    return type.types.find((branch): branch is DecimalType => branch instanceof DecimalType);
  }
  return undefined;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
