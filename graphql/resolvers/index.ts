/**
 * The core module: `graphql/schema.graphql` and its resolvers.
 */
import type { ApiModule } from '../server/module.js';
import { measurementResolvers } from './measurements.js';
import { mutationResolvers } from './mutations.js';
import { registryResolvers } from './registry.js';
import { DateTime, Decimal } from './scalars.js';
import { subscriptionResolvers } from './subscriptions.js';

export const coreModule: ApiModule = {
  name: 'core',
  typeDefs: [new URL('../schema.graphql', import.meta.url)],
  resolvers: mergeResolvers(registryResolvers, measurementResolvers, mutationResolvers, subscriptionResolvers, { DateTime, Decimal }),
};

/** Resolver maps merged by type; a field defined twice is a programming error. */
function mergeResolvers(...maps: NonNullable<ApiModule['resolvers']>[]): NonNullable<ApiModule['resolvers']> {
  const out: Record<string, Record<string, unknown> | unknown> = {};
  for (const map of maps) {
    for (const [type, fields] of Object.entries(map)) {
      if (typeof fields !== 'object' || fields === null || !(type in out) || !isPlain(fields)) {
        if (type in out) throw new Error(`resolvers for ${type} are defined twice`);
        out[type] = fields;
        continue;
      }
      const existing = out[type] as Record<string, unknown>;
      for (const name of Object.keys(fields)) if (name in existing) throw new Error(`resolver ${type}.${name} is defined twice`);
      out[type] = { ...existing, ...fields };
    }
  }
  return out as NonNullable<ApiModule['resolvers']>;
}

function isPlain(value: object): boolean {
  return Object.getPrototypeOf(value) === Object.prototype;
}
