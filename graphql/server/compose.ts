/**
 * Builds the executable schema from the modules' SDL and resolvers, without a schema toolkit:
 * graphql-js builds the types (extensions included), and resolvers are attached to the built
 * fields. Every mismatch (a resolver for a field no SDL declares, a field resolved twice, a
 * resolver object for a scalar) is an error at start-up, not at the first request.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  buildASTSchema,
  concatAST,
  GraphQLObjectType,
  GraphQLScalarType,
  parse,
  validateSchema,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql/index.js';
import type { ApiModule } from './module.js';

/** The modules' SDL files read and parsed, each named by its path in errors. */
export function loadTypeDefs(modules: readonly ApiModule[]): DocumentNode {
  const documents = modules.flatMap((module) =>
    module.typeDefs.map((url) => {
      const path = fileURLToPath(url);
      try {
        return parse(readFileSync(path, 'utf8'), { noLocation: false });
      } catch (err) {
        throw new Error(`module ${module.name}: cannot parse ${path}: ${(err as Error).message}`, { cause: err });
      }
    }),
  );
  return concatAST(documents);
}

/**
 * The schema of `modules`, resolvers attached.
 *
 * @throws Error naming the module and the type or field, when SDL and resolvers disagree or the
 *   composed schema is invalid.
 */
export function composeSchema(modules: readonly ApiModule[]): GraphQLSchema {
  const schema = buildASTSchema(loadTypeDefs(modules));
  const problems = validateSchema(schema).map((error) => error.message);
  const owners = new Map<string, string>();

  for (const module of modules) {
    for (const [typeName, entry] of Object.entries(module.resolvers ?? {})) {
      const type = schema.getType(typeName);
      if (entry instanceof GraphQLScalarType) {
        if (!(type instanceof GraphQLScalarType)) {
          problems.push(`module ${module.name}: ${typeName} is not a scalar of the schema`);
          continue;
        }
        type.serialize = entry.serialize;
        type.parseValue = entry.parseValue;
        type.parseLiteral = entry.parseLiteral;
        continue;
      }
      if (!(type instanceof GraphQLObjectType)) {
        problems.push(`module ${module.name}: resolvers for ${typeName}, which is not an object type of the schema`);
        continue;
      }
      const fields = type.getFields();
      for (const [fieldName, resolver] of Object.entries(entry as Record<string, unknown>)) {
        const field = fields[fieldName];
        const coordinate = `${typeName}.${fieldName}`;
        if (field === undefined) {
          problems.push(`module ${module.name}: resolver for ${coordinate}, which no SDL declares`);
          continue;
        }
        const owner = owners.get(coordinate);
        if (owner !== undefined) {
          problems.push(`module ${module.name}: ${coordinate} is already resolved by module ${owner}`);
          continue;
        }
        owners.set(coordinate, module.name);
        if (typeof resolver === 'function') {
          field.resolve = resolver as typeof field.resolve;
        } else if (typeof resolver === 'object' && resolver !== null && 'subscribe' in resolver) {
          const { subscribe, resolve } = resolver as { subscribe: typeof field.subscribe; resolve?: typeof field.resolve };
          field.subscribe = subscribe;
          field.resolve = resolve ?? ((payload: unknown) => payload);
        } else {
          problems.push(`module ${module.name}: ${coordinate} must be a function or { subscribe, resolve }`);
        }
      }
    }
  }
  const subscription = schema.getSubscriptionType();
  for (const field of Object.values(subscription?.getFields() ?? {})) {
    if (field.subscribe === undefined) problems.push(`Subscription.${field.name} has no subscribe resolver`);
  }
  if (problems.length > 0) throw new Error(`the API schema does not compose:\n${problems.join('\n')}`);
  return schema;
}
