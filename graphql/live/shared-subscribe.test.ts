import { buildSchema, parse, type ExecutionArgs, type ExecutionResult } from 'graphql/index.js';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.js';
import type { ApiContext } from '../server/context.js';
import { BoundedQueue } from './queue.js';
import { createSharedSubscribe, hasAfterArgument } from './shared-subscribe.js';

const schema = buildSchema(`
  type Query { ok: Boolean }
  type Subscription { ticks(after: String): Int }
`);

/** A schema whose subscription counts sources started and streams what the test pushes. */
function setup(bufferSize: number) {
  const sources: BoundedQueue<number>[] = [];
  const field = schema.getSubscriptionType()!.getFields()['ticks']!;
  field.subscribe = () => {
    const source = new BoundedQueue<number>(1000);
    sources.push(source);
    return source;
  };
  field.resolve = (value: number) => value;
  const subscribe = createSharedSubscribe({ bufferSize, logger: createLogger({ level: 'silent', name: 'test' }) });
  const context = (org: string): ApiContext =>
    ({ auth: { tokenId: 't', organisationId: org, scopes: new Set(['read']), accessGroupIds: null }, signal: new AbortController().signal }) as unknown as ApiContext;
  const args = (org: string, query = 'subscription { ticks }', variableValues?: Record<string, unknown>): ExecutionArgs => ({
    schema,
    document: parse(query),
    contextValue: context(org),
    ...(variableValues ? { variableValues } : {}),
  });
  return { sources, subscribe, args };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('shared subscriptions', () => {
  it('run one execution for subscribers with the same operation and visibility, and fan its results out', async () => {
    const { sources, subscribe, args } = setup(10);
    const [one, two] = (await Promise.all([subscribe(args('org-1')), subscribe(args('org-1'))])) as AsyncIterableIterator<ExecutionResult>[];
    const other = (await subscribe(args('org-2'))) as AsyncIterableIterator<ExecutionResult>;
    expect(sources).toHaveLength(2);
    expect(subscribe.executions()).toBe(2);
    sources[0]!.push(7);
    expect((await one!.next()).value).toEqual({ data: { ticks: 7 } });
    expect((await two!.next()).value).toEqual({ data: { ticks: 7 } });
    await other.return!();
    await one!.return!();
    expect(subscribe.executions()).toBe(1);
    await two!.return!();
    expect(subscribe.executions()).toBe(0);
  });

  it('run an operation with an `after` cursor on its own', async () => {
    const { sources, subscribe, args } = setup(10);
    await subscribe(args('org-1', 'subscription($a: String) { ticks(after: $a) }', { a: 'c1' }));
    await subscribe(args('org-1', 'subscription($a: String) { ticks(after: $a) }', { a: 'c1' }));
    expect(sources).toHaveLength(2);
  });

  it('detach a subscriber that falls bufferSize results behind with a last SLOW_SUBSCRIBER error, and keep feeding the others', async () => {
    const { sources, subscribe, args } = setup(3);
    const slow = (await subscribe(args('org-1'))) as AsyncIterableIterator<ExecutionResult>;
    const fast = (await subscribe(args('org-1'))) as AsyncIterableIterator<ExecutionResult>;
    const fastSeen: unknown[] = [];
    const reading = (async () => {
      for await (const result of fast) fastSeen.push(result.data?.['ticks']);
    })();
    for (let i = 1; i <= 6; i += 1) {
      sources[0]!.push(i);
      await flush();
    }
    const slowSeen: ExecutionResult[] = [];
    for await (const result of slow) slowSeen.push(result);
    expect(slowSeen).toHaveLength(1);
    expect(slowSeen[0]!.errors?.[0]?.extensions['code']).toBe('SLOW_SUBSCRIBER');
    expect(fastSeen).toEqual([1, 2, 3, 4, 5, 6]);
    await fast.return!();
    await reading;
  });
});

describe('hasAfterArgument', () => {
  it.each([
    ['subscription { ticks(after: "x") }', undefined, true],
    ['subscription { ticks(after: null) }', undefined, false],
    ['subscription { ticks }', undefined, false],
    ['subscription($a: String) { ticks(after: $a) }', { a: 'x' }, true],
    ['subscription($a: String) { ticks(after: $a) }', {}, false],
  ])('%s with %j → %s', (query, variables, expected) => {
    expect(hasAfterArgument(parse(query), variables)).toBe(expected);
  });
});
