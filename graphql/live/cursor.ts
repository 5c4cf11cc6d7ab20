/**
 * Subscription cursors. A cursor is a position vector over the Kafka topics of one live stream:
 * for each topic partition, the offset of the next record not yet seen (delivered or filtered
 * out). Every event carries the vector right after it; a client that resubscribes with it
 * receives exactly the matching events it has not seen, in partition order, then live ones.
 *
 * Wire form: `<stream>:` + base64url of JSON `[[topicIndex, partition, offset], …]`, topic index
 * into the stream's topic list. Opaque to clients.
 */
import { badInput } from '../server/errors.js';

/** Next offset per `topicIndex:partition`. */
export type Positions = ReadonlyMap<string, bigint>;

/** The map key of a topic partition. */
export const slot = (topicIndex: number, partition: number): string => `${topicIndex}:${partition}`;

/** Encodes a position vector of `stream`. */
export function encodeCursor(stream: string, positions: Positions): string {
  const entries: Array<[number, number, string]> = [];
  for (const [key, offset] of positions) {
    const [topic, partition] = key.split(':').map(Number) as [number, number];
    entries.push([topic, partition, offset.toString()]);
  }
  entries.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return `${stream}:${Buffer.from(JSON.stringify(entries)).toString('base64url')}`;
}

/**
 * Decodes a cursor of `stream` with `topicCount` topics.
 *
 * @throws GraphQLError `BAD_USER_INPUT` (field `after`) for anything that is not such a cursor.
 */
export function decodeCursor(stream: string, topicCount: number, cursor: string): Map<string, bigint> {
  const invalid = (why: string) => badInput('after', `not a cursor of the ${stream} subscription (${why})`);
  const colon = cursor.indexOf(':');
  if (colon < 0 || cursor.slice(0, colon) !== stream) throw invalid('wrong stream');
  let entries: unknown;
  try {
    entries = JSON.parse(Buffer.from(cursor.slice(colon + 1), 'base64url').toString('utf8'));
  } catch {
    throw invalid('undecodable');
  }
  if (!Array.isArray(entries) || entries.length > 10_000) throw invalid('not a list of positions');
  const positions = new Map<string, bigint>();
  for (const entry of entries) {
    if (
      !Array.isArray(entry) ||
      entry.length !== 3 ||
      !Number.isInteger(entry[0]) ||
      entry[0] < 0 ||
      entry[0] >= topicCount ||
      !Number.isInteger(entry[1]) ||
      entry[1] < 0 ||
      typeof entry[2] !== 'string' ||
      !/^\d{1,19}$/.test(entry[2])
    ) {
      throw invalid('bad position');
    }
    positions.set(slot(entry[0] as number, entry[1] as number), BigInt(entry[2]));
  }
  return positions;
}
