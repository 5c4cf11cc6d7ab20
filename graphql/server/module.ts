/**
 * The extension seam of the API server. A module contributes schema (SDL), resolvers, express
 * routes and lifecycle components; `modules.ts` lists the modules the server runs, in one place.
 */
import type { Router } from 'express';
import type { GraphQLFieldResolver, GraphQLScalarType } from 'graphql/index.js';
import type { Component } from '../../core/lifecycle.js';
import type { ApiContext, ApiServices } from './context.js';

/** A field resolver, or for a subscription field its `subscribe` (and optional `resolve`). */
export type FieldResolver =
  | GraphQLFieldResolver<unknown, ApiContext, Record<string, unknown>>
  | {
      readonly subscribe: GraphQLFieldResolver<unknown, ApiContext, Record<string, unknown>, AsyncIterable<unknown> | Promise<AsyncIterable<unknown>>>;
      readonly resolve?: GraphQLFieldResolver<unknown, ApiContext, Record<string, unknown>>;
    };

/**
 * Resolvers by type name, then field name; custom scalars by name. Fields without a resolver read
 * the property of the same name. Enum values map to their own names.
 */
export type Resolvers = Readonly<Record<string, Readonly<Record<string, FieldResolver>> | GraphQLScalarType>>;

/** One contributor to the API. */
export interface ApiModule {
  /** Short name for logs and error messages, e.g. `core`, `notifications`. */
  readonly name: string;
  /**
   * SDL files (`new URL('./x.graphql', import.meta.url)`). The first module's files define
   * `Query`, `Mutation` and `Subscription`; later modules add fields with `extend type Query { … }`.
   */
  readonly typeDefs: readonly URL[];
  /** Resolvers of the fields the module's SDL declares. A field resolved twice is an error at start. */
  readonly resolvers?: Resolvers;
  /**
   * Mounts extra HTTP routes (pages such as `/explorer`, webhooks) on the API's express app,
   * before `/graphql`. Routes authenticate on their own when they need to (see `auth.ts`).
   */
  readonly routes?: (router: Router, services: ApiServices) => void;
  /**
   * Background components (e.g. a delivery worker) started after the shared services and before
   * the HTTP server, stopped after it.
   */
  readonly components?: (services: ApiServices) => readonly Component[];
}
