/**
 * The error hierarchy every meterflux module throws from.
 *
 * Two questions decide what happens to a failure, and every error answers both in fields:
 * `retriable` (try again later: never dead-letter it, do not commit past it) and `code` (a stable
 * machine code for logs, metrics, DLQ records and HTTP bodies). Record coordinates and other
 * context travel in `context`, the underlying failure in the native ES2022 `cause`.
 *
 * ```
 * MeterfluxError (abstract)
 * ├── TransientError            retriable
 * │   ├── ServiceUnavailableError   one dependency cannot be reached
 * │   └── PreflightError            several, from a start-up check
 * ├── BadInputError             not retriable; `reason` goes into the DLQ record
 * │   ├── SchemaValidationError     a value does not match its record schema (with paths)
 * │   ├── DecodeError               bytes that cannot be decoded
 * │   └── PayloadError              a protocol payload that is malformed
 * └── ConfigError               not retriable; every configuration problem at once
 * ```
 */

/** Where an error happened: topic, partition, offset, deviceId, paths… Values must be JSON-safe. */
export type ErrorContext = Readonly<Record<string, unknown>>;

/** Options every meterflux error accepts. */
export interface MeterfluxErrorOptions {
  /** The failure this one wraps; kept as native `Error.cause`. */
  readonly cause?: unknown;
  /**
   * Coordinates of the failure (topic, partition, offset, deviceId…).
   * @default {}
   */
  readonly context?: ErrorContext;
}

/** The JSON shape of a {@link MeterfluxError}: safe for logs, DLQ records and HTTP bodies (no stack). */
export interface SerializedError {
  readonly name: string;
  readonly code: string;
  readonly message: string;
  readonly retriable: boolean;
  readonly context: ErrorContext;
  readonly cause?: SerializedCause;
  /** Subclass fields such as `reason`, `paths`, `problems`, `service`. */
  readonly [field: string]: unknown;
}

/** A cause as it appears in {@link SerializedError}: meterflux errors in full, others by name and message. */
export type SerializedCause = SerializedError | { readonly name: string; readonly message: string };

/** Base of every error meterflux throws. Abstract: throw one of the concrete kinds below. */
export abstract class MeterfluxError extends Error {
  /** Stable machine code, e.g. `SCHEMA_VALIDATION`. Safe to match on; messages are not. */
  abstract readonly code: string;
  /** `true` when the same operation may succeed later (broker down, timeout). */
  abstract readonly retriable: boolean;
  /** Where the failure happened. */
  readonly context: ErrorContext;

  constructor(message: string, options: MeterfluxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    // Non-enumerable like Error.prototype.name, so log serializers do not repeat it as a field.
    Object.defineProperty(this, 'name', { value: new.target.name, configurable: true, writable: true });
    this.context = Object.freeze({ ...options.context });
  }

  /** JSON for logs, DLQ records and HTTP bodies; called by `JSON.stringify`. Never includes the stack. */
  toJSON(): SerializedError {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retriable: this.retriable,
      context: this.context,
      ...this.details(),
      ...(this.cause === undefined ? {} : { cause: serializeCause(this.cause) }),
    };
  }

  /** Subclass-specific fields to include in {@link toJSON}. */
  protected details(): Record<string, unknown> {
    return {};
  }
}

function serializeCause(cause: unknown): SerializedCause {
  if (cause instanceof MeterfluxError) return cause.toJSON();
  if (cause instanceof Error) return { name: cause.name, message: cause.message };
  return { name: typeof cause, message: errorMessage(cause) };
}

/** Options of {@link TransientError}. */
export interface TransientErrorOptions extends MeterfluxErrorOptions {
  /**
   * Machine code naming the transient condition, e.g. `KAFKA_TIMEOUT`.
   * @default 'TRANSIENT'
   */
  readonly code?: string;
}

/**
 * A failure that may go away by itself: a timeout, a broker or store that is down or rebalancing.
 * Callers retry with backoff; a stream runner never dead-letters it and does not commit past it.
 */
export class TransientError extends MeterfluxError {
  readonly code: string;
  readonly retriable = true;

  constructor(message: string, options: TransientErrorOptions = {}) {
    super(message, options);
    this.code = options.code ?? 'TRANSIENT';
  }
}

/** Options of {@link ServiceUnavailableError}. */
export interface ServiceUnavailableOptions extends MeterfluxErrorOptions {
  /** Human name of the dependency, e.g. `Kafka`, `Schema registry`. */
  readonly service: string;
  /** Where it was expected: `host:port`, or a URL without credentials. */
  readonly address: string;
  /**
   * What went wrong, short. Derived from `cause` when omitted: `connect ECONNREFUSED` for a Node
   * system error, otherwise the cause's message.
   */
  readonly detail?: string;
  /**
   * What the reader should do about it.
   * @default 'Start the local stack with `make up`.'
   */
  readonly hint?: string;
}

/**
 * A dependency (Kafka, the schema registry, Elasticsearch, PostgreSQL, Redis, MQTT) cannot be
 * reached. The message is one line an operator can act on:
 * `Kafka is not reachable at 127.0.0.1:9092: connect ECONNREFUSED. Start the local stack with \`make up\`.`
 */
export class ServiceUnavailableError extends TransientError {
  readonly service: string;
  readonly address: string;
  readonly hint: string;

  constructor(options: ServiceUnavailableOptions) {
    const detail = options.detail ?? describeFailure(options.cause);
    const hint = options.hint ?? 'Start the local stack with `make up`.';
    super(`${options.service} is not reachable at ${options.address}: ${detail}. ${hint}`, {
      cause: options.cause,
      context: options.context,
      code: 'SERVICE_UNAVAILABLE',
    });
    this.service = options.service;
    this.address = options.address;
    this.hint = hint;
  }

  protected override details(): Record<string, unknown> {
    return { service: this.service, address: this.address, hint: this.hint };
  }
}

/**
 * Several dependencies failed a start-up check at once. The message has one
 * {@link ServiceUnavailableError} line per service, so an operator sees everything that is missing
 * in one go.
 */
export class PreflightError extends TransientError {
  readonly failures: readonly ServiceUnavailableError[];

  constructor(failures: readonly ServiceUnavailableError[]) {
    super(failures.map((failure) => failure.message).join('\n'), {
      code: 'SERVICES_UNAVAILABLE',
      context: { services: failures.map((failure) => failure.service) },
    });
    this.failures = failures;
  }

  protected override details(): Record<string, unknown> {
    return { failures: this.failures.map((failure) => failure.toJSON()) };
  }
}

/** Options of {@link BadInputError} and its kinds. */
export interface BadInputOptions extends MeterfluxErrorOptions {
  /**
   * Machine code for why the input was rejected; stored as the DLQ record's reason.
   * Each kind has its own default.
   */
  readonly reason?: string;
}

/**
 * Input that will never succeed as it is: retrying cannot help, so it is answered with a 4xx/NACK
 * and dead-lettered with `reason`. Throw one of the kinds below when one fits.
 */
export class BadInputError extends MeterfluxError {
  readonly code: string = 'BAD_INPUT';
  readonly retriable = false;
  /** Machine code for the DLQ record, e.g. `WRONG_MAGIC_BYTE`. */
  readonly reason: string;

  constructor(message: string, options: BadInputOptions = {}) {
    super(message, options);
    this.reason = options.reason ?? 'BAD_INPUT';
  }

  protected override details(): Record<string, unknown> {
    return { reason: this.reason };
  }
}

/** One field that failed validation. */
export interface ValidationIssue {
  /** Dotted path of the field inside the record, e.g. `registers.0.value`. */
  readonly path: string;
  /** What the schema expects there, e.g. `double`, `one of m3|kWh`. */
  readonly expected: string;
  /** What arrived; described in the message by type and a short excerpt, never in full. */
  readonly received: unknown;
}

/** Options of {@link SchemaValidationError}. */
export interface SchemaValidationOptions extends BadInputOptions {
  /**
   * Name of the record or schema validated, used in the message.
   * @default 'record'
   */
  readonly record?: string;
}

/**
 * A value does not match its record schema. Thrown where data enters (connectors) and where bytes
 * are decoded; `paths` names every bad field so an HTTP client or DLQ reader can fix all at once.
 */
export class SchemaValidationError extends BadInputError {
  override readonly code = 'SCHEMA_VALIDATION';
  readonly paths: string[];
  readonly issues: readonly ValidationIssue[];

  constructor(issues: readonly ValidationIssue[], options: SchemaValidationOptions = {}) {
    const lines = issues.map(
      (issue) => `${issue.path}: expected ${issue.expected}, got ${describeValue(issue.received)}`,
    );
    super(`${options.record ?? 'record'} is invalid: ${lines.join('; ')}`, {
      ...options,
      reason: options.reason ?? 'SCHEMA_VALIDATION',
    });
    this.paths = issues.map((issue) => issue.path);
    this.issues = issues;
  }

  protected override details(): Record<string, unknown> {
    return {
      ...super.details(),
      paths: this.paths,
      issues: this.issues.map((issue) => ({
        path: issue.path,
        expected: issue.expected,
        received: describeValue(issue.received),
      })),
    };
  }
}

/**
 * Why bytes could not be decoded. The listed codes are the ones the wire format and codecs use;
 * protocol decoders may add their own upper-case codes.
 */
export type DecodeReason =
  | 'WRONG_MAGIC_BYTE'
  | 'UNKNOWN_SCHEMA_ID'
  | 'TRUNCATED'
  | 'TRAILING_DATA'
  | 'DECRYPTION_FAILED'
  | 'CHECKSUM_MISMATCH'
  | (string & {});

/**
 * Bytes that cannot be decoded: wrong magic byte, unknown schema id, truncated buffer, bad
 * checksum. The original bytes belong in the DLQ record, not in this error.
 */
export class DecodeError extends BadInputError {
  override readonly code = 'DECODE';
  declare readonly reason: DecodeReason;

  constructor(reason: DecodeReason, message: string, options: MeterfluxErrorOptions = {}) {
    super(message, { ...options, reason });
  }
}

/** Options of {@link PayloadError}. */
export interface PayloadErrorOptions extends BadInputOptions {
  /** The payload field at fault, e.g. `devEUI`, `data`, `C-field`. */
  readonly field: string;
  /** What is wrong with it, e.g. `must be 16 hex digits, got 15`. */
  readonly problem: string;
}

/**
 * A protocol payload that parses but makes no sense: a missing or malformed field. The HTTP ingest
 * answers it with a 400 naming `field`.
 */
export class PayloadError extends BadInputError {
  override readonly code = 'PAYLOAD';
  readonly field: string;
  readonly problem: string;

  constructor(options: PayloadErrorOptions) {
    super(`${options.field} ${options.problem}`, {
      cause: options.cause,
      context: options.context,
      reason: options.reason ?? 'MALFORMED_PAYLOAD',
    });
    this.field = options.field;
    this.problem = options.problem;
  }

  protected override details(): Record<string, unknown> {
    return { ...super.details(), field: this.field, problem: this.problem };
  }
}

/**
 * The environment does not describe a runnable process. Thrown once by `loadConfig` with every
 * problem found; the process should print the message and exit non-zero.
 */
export class ConfigError extends MeterfluxError {
  readonly code = 'CONFIG';
  readonly retriable = false;
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    const noun = problems.length === 1 ? 'problem' : 'problems';
    super(
      `Invalid configuration (${problems.length} ${noun}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = problems;
  }

  protected override details(): Record<string, unknown> {
    return { problems: this.problems };
  }
}

/**
 * Whether an operation that threw `err` may succeed if retried. Meterflux errors answer with their
 * own flag; foreign errors that carry a boolean `retriable` (kafkajs does) are believed; anything
 * else is not retriable, so an unknown failure is never retried forever.
 */
export function isRetriable(err: unknown): boolean {
  if (err instanceof MeterfluxError) return err.retriable;
  if (typeof err === 'object' && err !== null && 'retriable' in err) return err.retriable === true;
  return false;
}

/** A one-line message for anything thrown, for places that must print a string. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

/** `connect ECONNREFUSED` rather than `connect ECONNREFUSED 127.0.0.1:9092`: the address is already in the message. */
function describeFailure(cause: unknown): string {
  if (cause instanceof Error && 'syscall' in cause && 'code' in cause) {
    return `${String(cause.syscall)} ${String(cause.code)}`;
  }
  return cause === undefined ? 'unknown failure' : errorMessage(cause);
}

const EXCERPT_LENGTH = 40;

/** `string "12,5"`, `number 3`, `null`, `nothing`: enough to see what arrived without logging a payload. */
function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    const excerpt = value.length > EXCERPT_LENGTH ? `${value.slice(0, EXCERPT_LENGTH)}…` : value;
    return `string ${JSON.stringify(excerpt)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${typeof value} ${String(value)}`;
  }
  if (Array.isArray(value)) return `array of ${value.length}`;
  if (value instanceof Uint8Array) return `bytes (${value.length})`;
  return typeof value;
}
