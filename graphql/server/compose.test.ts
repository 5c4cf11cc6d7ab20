import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { graphql } from 'graphql/index.js';
import { describe, expect, it } from 'vitest';
import { API_MODULES } from './modules.js';
import { composeSchema } from './compose.js';
import type { ApiModule } from './module.js';

const dir = mkdtempSync(join(tmpdir(), 'compose-'));
function sdl(name: string, text: string): URL {
  const path = join(dir, name);
  writeFileSync(path, text);
  return pathToFileURL(path);
}

const base: ApiModule = {
  name: 'base',
  typeDefs: [sdl('base.graphql', 'type Query { hello: String }\ntype Subscription { ticks: Int }')],
  resolvers: { Query: { hello: () => 'hi' }, Subscription: { ticks: { subscribe: async function* () {} } } },
};

describe('schema composition', () => {
  it('composes the API\'s own modules', () => {
    const schema = composeSchema(API_MODULES);
    expect(schema.getQueryType()?.getFields()['devices']).toBeDefined();
    expect(Object.keys(schema.getSubscriptionType()?.getFields() ?? {})).toContain('readings');
  });

  it('adds an extension module\'s root fields and resolvers', async () => {
    const extra: ApiModule = {
      name: 'extra',
      typeDefs: [sdl('extra.graphql', 'extend type Query { extra: Int }')],
      resolvers: { Query: { extra: () => 42 } },
    };
    const schema = composeSchema([base, extra]);
    expect(await graphql({ schema, source: '{ hello extra }' })).toEqual({ data: { hello: 'hi', extra: 42 } });
  });

  it('refuses resolvers for undeclared fields, fields resolved twice, and subscriptions without subscribe, naming the module', () => {
    const stray: ApiModule = { name: 'stray', typeDefs: [], resolvers: { Query: { nope: () => 1, hello: () => 'again' } } };
    expect(() => composeSchema([base, stray])).toThrow(/module stray: resolver for Query.nope[\s\S]*module stray: Query.hello is already resolved by module base/);
    const bare: ApiModule = { name: 'bare', typeDefs: [sdl('bare.graphql', 'type Query { a: Int }\ntype Subscription { s: Int }')] };
    expect(() => composeSchema([bare])).toThrow('Subscription.s has no subscribe resolver');
  });
});
