/**
 * Relay-style paging helpers shared by the resolvers: page-size caps, opaque cursors (keyset
 * positions for PostgreSQL lists, `search_after` sort values for Elasticsearch), and the
 * connection shape.
 */
import { badInput } from '../server/errors.js';

/**
 * The page size asked for, checked against the field's cap.
 *
 * @throws GraphQLError `BAD_USER_INPUT` (field `first`) outside 1..max.
 */
export function pageSize(first: unknown, max: number): number {
  const n = first ?? Math.min(50, max);
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) throw badInput('first', `must be an integer from 1 to ${max}, got ${String(first)}`);
  return n;
}

/** An opaque cursor for a list of sort values. */
export function encodePosition(values: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

/**
 * The sort values of a cursor made by {@link encodePosition}, checked to hold `length` strings or numbers.
 *
 * @throws GraphQLError `BAD_USER_INPUT` (field `after`).
 */
export function decodePosition(cursor: unknown, length: number): Array<string | number> | undefined {
  if (cursor === undefined || cursor === null) return undefined;
  try {
    const values: unknown = JSON.parse(Buffer.from(String(cursor), 'base64url').toString('utf8'));
    if (Array.isArray(values) && values.length === length && values.every((v) => typeof v === 'string' || typeof v === 'number')) {
      return values as Array<string | number>;
    }
  } catch {
    // Reported below like any other malformed cursor.
  }
  throw badInput('after', 'not a cursor of this list');
}

/** A page in connection form: `items` holds up to size + 1 rows; the extra one only signals a next page. */
export function connection<T>(items: readonly T[], size: number, cursorOf: (item: T) => string) {
  const page = items.slice(0, size);
  const edges = page.map((node) => ({ cursor: cursorOf(node), node }));
  return { edges, pageInfo: { hasNextPage: items.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
}
