import { buildSchema, parse, specifiedRules, validate } from 'graphql/index.js';
import { describe, expect, it } from 'vitest';
import { limitsRule } from './limits.js';

const schema = buildSchema(`
  type Query { items(first: Int = 10): Conn, item: Item }
  type Conn { edges: [Edge] }
  type Edge { node: Item }
  type Item { id: ID, children: [Item], parent: Item }
`);
const limits = { maxDepth: 4, maxComplexity: 400, defaultPageSize: 100, listSize: 20 };
const check = (query: string) => validate(schema, parse(query), [...specifiedRules, limitsRule(limits)]).map((e) => [e.extensions['code'], e.message]);

describe('operation limits', () => {
  it('let a shallow, cheap operation through', () => {
    expect(check('{ items(first: 5) { edges { node { id } } } }')).toEqual([]);
  });

  it('refuse an operation deeper than the limit, counting fragments where they are spread', () => {
    expect(check('{ item { parent { parent { parent { id } } } } }')[0]?.[0]).toBe('QUERY_TOO_COMPLEX');
    expect(check('{ item { ...P } } fragment P on Item { parent { parent { parent { id } } } }')[0]?.[1]).toContain('5 levels deep');
  });

  it('multiply by the page size asked for, the argument default, or the list size', () => {
    expect(check('{ items(first: 400) { edges { node { id } } } }')[0]?.[1]).toContain('estimated cost');
    expect(check('{ items { edges { node { id } } } }')).toEqual([]);
    expect(check('{ item { children { children { id } } } }')[0]?.[1]).toContain('estimated cost');
  });

  it('leave fragment cycles to graphql\'s own rule', () => {
    const errors = check('{ item { ...A } } fragment A on Item { parent { ...A } }');
    expect(errors.some(([, message]) => String(message).includes('Cannot spread fragment'))).toBe(true);
  });
});
