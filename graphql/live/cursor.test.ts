import { describe, expect, it } from 'vitest';
import { GraphQLError } from 'graphql/index.js';
import { decodeCursor, encodeCursor, slot } from './cursor.js';

describe('subscription cursors', () => {
  it('round-trip a position vector, 64-bit offsets included', () => {
    const positions = new Map([
      [slot(1, 2), 9_007_199_254_740_993n],
      [slot(0, 0), 0n],
    ]);
    const cursor = encodeCursor('consumption', positions);
    expect(cursor.startsWith('consumption:')).toBe(true);
    expect(decodeCursor('consumption', 2, cursor)).toEqual(positions);
  });

  it('are independent of map order', () => {
    const one = encodeCursor('readings', new Map([[slot(0, 1), 5n], [slot(0, 0), 7n]]));
    const two = encodeCursor('readings', new Map([[slot(0, 0), 7n], [slot(0, 1), 5n]]));
    expect(one).toBe(two);
  });

  it.each([
    ['another stream', encodeCursor('alerts', new Map([[slot(0, 0), 1n]]))],
    ['garbage', 'readings:%%%'],
    ['a topic index out of range', encodeCursor('readings', new Map([[slot(3, 0), 1n]]))],
    ['a negative offset', `readings:${Buffer.from(JSON.stringify([[0, 0, '-1']])).toString('base64url')}`],
    ['no stream', 'abc'],
  ])('refuse %s with BAD_USER_INPUT on `after`', (_name, cursor) => {
    let error: unknown;
    try {
      decodeCursor('readings', 1, cursor);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(GraphQLError);
    expect((error as GraphQLError).extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });
});
