/**
 * The errors the API answers with. Every error a client sees carries one of {@link ERROR_CODES} in
 * `extensions.code`; anything else (a bug, a dropped database connection) is logged with its
 * details and shown as `INTERNAL_SERVER_ERROR` with a fixed message, so internals never leak.
 */
import { GraphQLError, type GraphQLFormattedError } from 'graphql/index.js';
import type { Logger } from '../../core/log.js';

/** Codes clients can act on. */
export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'BAD_REQUEST',
  'QUERY_TOO_COMPLEX',
  'TIMEOUT',
  'SLOW_SUBSCRIBER',
  'INTERNAL_SERVER_ERROR',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

const PUBLIC_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/** An error meant for the client, with its code and optional extra extensions (e.g. `field`). */
export function apiError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

export const unauthenticated = (message = 'a valid bearer token is needed'): GraphQLError => apiError('UNAUTHENTICATED', message);
export const forbidden = (message: string): GraphQLError => apiError('FORBIDDEN', message);
export const notFound = (what: string): GraphQLError => apiError('NOT_FOUND', `${what} does not exist or is not visible to this token`);
/** Bad input, naming the argument path (e.g. `input.multiplier`). */
export const badInput = (field: string, message: string): GraphQLError => apiError('BAD_USER_INPUT', `${field}: ${message}`, { field });

/** The message every unexpected failure is shown with. */
export const INTERNAL_MESSAGE = 'internal server error';

/**
 * Apollo's `formatError`, also used for graphql-ws: public errors pass with their message, code,
 * locations and path; everything else is logged and replaced. Stack traces never leave.
 */
export function formatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    // Apollo re-codes validation errors GRAPHQL_VALIDATION_FAILED; a limit's own code is more useful.
    const original = unwrap(error);
    const code = original instanceof GraphQLError && PUBLIC_CODES.has(String(original.extensions['code'])) ? original.extensions['code'] : formatted.extensions?.['code'];
    if (typeof code === 'string' && PUBLIC_CODES.has(code) && code !== 'INTERNAL_SERVER_ERROR') {
      const { stacktrace: _stacktrace, exception: _exception, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions: { ...extensions, code } };
    }
    logger.error({ err: unwrap(error), path: formatted.path }, 'operation failed');
    return {
      message: INTERNAL_MESSAGE,
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}

function unwrap(error: unknown): unknown {
  return error instanceof GraphQLError && error.originalError !== undefined ? error.originalError : error;
}
