/**
 * What the HTTP ingest answers when it does not answer 202: one JSON shape for every error,
 * `{"error": {"code", "message", "field"?, "problems"?, "requestId"}}`, with the status and headers
 * (`Retry-After`, `WWW-Authenticate`, `Allow`) each code needs. README.md lists them.
 */
import { MeterfluxError, SchemaValidationError, type BadInputError } from '../../core/errors.js';

/** One bad field of a 400 `INVALID_FIELD` answer. */
export interface FieldProblem {
  /** Path in the request body, e.g. `uplinks[3].payloadHex`. */
  readonly field: string;
  /** What was expected and what arrived. */
  readonly message: string;
}

/** The body of every error answer. */
export interface ErrorBody {
  readonly error: {
    /** Stable machine code; clients match on it, never on `message`. */
    readonly code: string;
    readonly message: string;
    /** The field at fault (the first one when several are). */
    readonly field?: string;
    /** Every bad field (at most 25), for `INVALID_FIELD`. */
    readonly problems?: readonly FieldProblem[];
    /** Also in the dead letter's `details.requestId` and in the logs. */
    readonly requestId: string;
  };
}

/** Options of {@link HttpError}. */
export interface HttpErrorOptions {
  /** @default {} */
  readonly headers?: Readonly<Record<string, string>>;
  readonly field?: string;
  readonly problems?: readonly FieldProblem[];
  readonly cause?: unknown;
}

/** A request the ingest answers with an error status. */
export class HttpError extends MeterfluxError {
  readonly status: number;
  readonly code: string;
  /** Whether sending the same request again later can succeed (409, 503). */
  readonly retriable: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly field: string | undefined;
  readonly problems: readonly FieldProblem[] | undefined;

  constructor(status: number, code: string, message: string, options: HttpErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.status = status;
    this.code = code;
    this.retriable = status === 409 || status === 503;
    this.headers = options.headers ?? {};
    this.field = options.field;
    this.problems = options.problems;
  }

  /** The answer body for the request `requestId`. */
  body(requestId: string): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field === undefined ? {} : { field: this.field }),
        ...(this.problems === undefined ? {} : { problems: this.problems }),
        requestId,
      },
    };
  }
}

const STATUS_BY_REASON: Readonly<Record<string, number>> = { BODY_TOO_LARGE: 413, UNSUPPORTED_MEDIA_TYPE: 415 };

/** Refused input: 413 or 415 by reason, otherwise 400; the code is the reason, as in the dead letter. */
export function badInput(error: BadInputError): HttpError {
  const status = STATUS_BY_REASON[error.reason] ?? 400;
  if (error instanceof SchemaValidationError) {
    const problems = error.toJSON().issues as ReadonlyArray<{ path: string; expected: string; received: string }>;
    return new HttpError(status, error.reason, error.message, {
      field: problems[0]?.path,
      problems: problems.map((issue) => ({ field: issue.path, message: `expected ${issue.expected}, got ${issue.received}` })),
    });
  }
  return new HttpError(status, error.reason, error.message);
}

/** 401, with the challenge RFC 6750 asks for. */
export function unauthenticated(message: string, tokenPresented: boolean): HttpError {
  const challenge = tokenPresented ? 'Bearer realm="meterflux", error="invalid_token"' : 'Bearer realm="meterflux"';
  return new HttpError(401, 'UNAUTHENTICATED', message, { headers: { 'WWW-Authenticate': challenge } });
}

/** 403: a valid token without the scope. */
export function forbidden(message: string, scope: string): HttpError {
  return new HttpError(403, 'INSUFFICIENT_SCOPE', message, {
    headers: { 'WWW-Authenticate': `Bearer realm="meterflux", error="insufficient_scope", scope="${scope}"` },
  });
}

/** 503 `UNAVAILABLE`: Kafka, PostgreSQL or Redis did not do its part; nothing was acknowledged. */
export function unavailable(what: string, cause: unknown, retryAfterSeconds: number): HttpError {
  return new HttpError(503, 'UNAVAILABLE', `${what}; nothing was stored, retry later`, {
    cause,
    headers: { 'Retry-After': String(retryAfterSeconds) },
  });
}

/** 503 `OVERLOADED`: too many uplinks await their Kafka acknowledgement. */
export function overloaded(inFlight: number, limit: number, retryAfterSeconds: number): HttpError {
  return new HttpError(503, 'OVERLOADED', `${inFlight} uplinks are waiting for Kafka (limit ${limit}); retry later`, {
    headers: { 'Retry-After': String(retryAfterSeconds) },
  });
}

/** 409: another request with the same Idempotency-Key is still running. */
export function keyInUse(retryAfterSeconds: number): HttpError {
  return new HttpError(409, 'IDEMPOTENCY_KEY_IN_USE',
    'a request with this Idempotency-Key is still being processed; retry to receive its answer', {
      headers: { 'Retry-After': String(retryAfterSeconds) },
    });
}

/** 422: the Idempotency-Key was used for another request. */
export function keyReused(): HttpError {
  return new HttpError(422, 'IDEMPOTENCY_KEY_REUSED',
    'this Idempotency-Key was used for a request with another body or endpoint; use a new key for a new request');
}

export function notFound(path: string): HttpError {
  return new HttpError(404, 'NOT_FOUND', `no such endpoint: ${path}; try POST /v1/uplinks or POST /v1/chirpstack?event=up`);
}

export function methodNotAllowed(method: string): HttpError {
  return new HttpError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed here; use POST`, { headers: { Allow: 'POST' } });
}

/** 500: a bug; the logs have the details under the request id. */
export function internal(cause: unknown): HttpError {
  return new HttpError(500, 'INTERNAL', 'the ingest failed unexpectedly; the request id is in the logs', { cause });
}
