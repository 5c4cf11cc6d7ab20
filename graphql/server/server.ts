/**
 * The API server: one node:http server on `API_PORT` carrying Apollo Server (HTTP POST/GET at
 * `/graphql`), graphql-ws (WebSocket at `/graphql`) and the modules' express routes. Both
 * transports authenticate with the same tokens, validate with the same limits and format errors
 * the same way.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { GraphQLError, specifiedRules, validate, type ExecutionArgs, type GraphQLSchema } from 'graphql/index.js';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Component } from '../../core/lifecycle.js';
import { authenticate, bearerSecret, connectionSecret } from './auth.js';
import { composeSchema } from './compose.js';
import type { ApiContext, ApiServices, AuthContext } from './context.js';
import { formatError } from './errors.js';
import { DEFAULT_LIMITS, limitsRule, type OperationLimits } from './limits.js';
import type { ApiModule } from './module.js';
import { API_MODULES } from './modules.js';
import { createSharedSubscribe } from '../live/shared-subscribe.js';

/** The path of both transports. */
export const GRAPHQL_PATH = '/graphql';

/** Options of {@link createApiServer}. */
export interface ApiServerOptions {
  readonly services: ApiServices;
  /** Port to listen on; 0 picks a free one (tests). */
  readonly port: number;
  /** @default all interfaces */
  readonly host?: string;
  /** @default {@link API_MODULES} */
  readonly modules?: readonly ApiModule[];
  /** @default {@link DEFAULT_LIMITS} */
  readonly limits?: OperationLimits;
  /**
   * Time budget of one query or mutation; resolvers get it as `context.signal`, PostgreSQL and
   * Elasticsearch calls are bounded by it.
   * @default 15000
   */
  readonly operationTimeoutMs?: number;
  /**
   * Events a subscriber may have waiting before the slow-subscriber policy applies (see live/).
   * @default 1000
   */
  readonly subscriberBuffer?: number;
}

/** A running API server; a lifecycle component. */
export interface ApiServer extends Component {
  /** The port bound, once started. */
  readonly port: number;
  /** `http://127.0.0.1:<port>/graphql` once started. */
  readonly url: string;
  readonly schema: GraphQLSchema;
}

/** Builds the server; nothing listens until `start`. Throws at once when the modules do not compose. */
export function createApiServer(options: ApiServerOptions): ApiServer {
  const { services } = options;
  const modules = options.modules ?? API_MODULES;
  const limits = options.limits ?? DEFAULT_LIMITS;
  const timeoutMs = options.operationTimeoutMs ?? 15_000;
  const logger = services.logger.child({ component: 'api' });
  const schema = composeSchema(modules);
  const rules = [...specifiedRules, limitsRule(limits)];
  const format = formatError(logger);
  const components = modules.flatMap((module) => module.components?.(services) ?? []);

  let httpServer: Server | undefined;
  let apollo: ApolloServer<ApiContext> | undefined;
  let wsCleanup: { dispose(): void | Promise<void> } | undefined;
  let wss: WebSocketServer | undefined;
  const started: Component[] = [];
  let port = 0;

  const contextFor = (auth: AuthContext, signal: AbortSignal): ApiContext => ({ auth, services, signal });

  async function start(): Promise<void> {
    for (const component of components) {
      await component.start();
      started.push(component);
    }
    const app = express();
    app.disable('x-powered-by');
    const server = createServer(app);
    httpServer = server;
    const router = express.Router();
    for (const module of modules) module.routes?.(router, services);
    app.use(router);

    apollo = new ApolloServer<ApiContext>({
      schema,
      formatError: format,
      validationRules: [limitsRule(limits)],
      includeStacktraceInErrorResponses: false,
      introspection: true,
      plugins: [
        ApolloServerPluginDrainHttpServer({ httpServer: server }),
        { serverWillStart: async () => ({ drainServer: async () => wsCleanup?.dispose() }) },
      ],
    });
    await apollo.start();
    app.use(
      GRAPHQL_PATH,
      express.json({ limit: '1mb' }),
      expressMiddleware(apollo, {
        context: async ({ req, res }) => {
          let auth: AuthContext;
          try {
            auth = await authenticate(services.postgres, bearerSecret(req.header('authorization')));
          } catch (err) {
            if (err instanceof GraphQLError && err.extensions['code'] === 'UNAUTHENTICATED') {
              res.setHeader('WWW-Authenticate', 'Bearer realm="meterflux"');
              throw new GraphQLError(err.message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
            }
            throw err;
          }
          const controller = new AbortController();
          const timer = setTimeout(() => controller.abort(new Error('operation timed out')), timeoutMs);
          timer.unref();
          res.once('close', () => {
            clearTimeout(timer);
            controller.abort(new Error('client went away'));
          });
          return contextFor(auth, controller.signal);
        },
      }),
    );

    const sockets = new WebSocketServer({ server, path: GRAPHQL_PATH });
    wss = sockets;
    const connections = new WeakMap<WebSocket, AuthContext>();
    const sharedSubscribe = createSharedSubscribe({ bufferSize: options.subscriberBuffer ?? 1000, logger });
    wsCleanup = useServer<Record<string, unknown> | undefined>(
      {
        schema,
        validate: (s, document) => validate(s, document, rules),
        subscribe: sharedSubscribe,
        onConnect: async (ctx) => {
          try {
            connections.set(ctx.extra.socket, await authenticate(services.postgres, connectionSecret(ctx.connectionParams)));
            return true;
          } catch (err) {
            if (err instanceof GraphQLError) {
              ctx.extra.socket.close(4401, `UNAUTHENTICATED: ${err.message}`.slice(0, 120));
              return false;
            }
            // The token could not be checked (PostgreSQL busy or away): not the client's fault, so
            // 1013 "try again later", which graphql-ws clients retry, rather than a fatal 4401.
            logger.error({ err }, 'WebSocket authentication could not be checked');
            ctx.extra.socket.close(1013, 'authentication temporarily unavailable; retry');
            return false;
          }
        },
        onSubscribe: async (ctx) => {
          // A revoked or expired token stops starting new operations on an open socket.
          const known = connections.get(ctx.extra.socket);
          if (!known) return [new GraphQLError('not authenticated', { extensions: { code: 'UNAUTHENTICATED' } })];
          try {
            const current = await authenticate(services.postgres, connectionSecret(ctx.connectionParams));
            connections.set(ctx.extra.socket, current);
          } catch (err) {
            if (err instanceof GraphQLError) return [err];
            throw err;
          }
          return undefined;
        },
        context: (ctx, _id, _payload, args: ExecutionArgs) => {
          const auth = connections.get(ctx.extra.socket);
          if (!auth) throw new Error('operation on an unauthenticated socket');
          const controller = new AbortController();
          ctx.extra.socket.once('close', () => controller.abort(new Error('client went away')));
          if (args.document.definitions.some((d) => d.kind === 'OperationDefinition' && d.operation !== 'subscription')) {
            setTimeout(() => controller.abort(new Error('operation timed out')), timeoutMs).unref();
          }
          return contextFor(auth, controller.signal);
        },
        onError: (_ctx, _id, _payload, errors) => errors.map((error) => format(error.toJSON(), error)),
        onNext: (_ctx, _id, _payload, _args, result) =>
          result.errors ? { ...result, errors: result.errors.map((error) => format(error.toJSON(), error)) } : undefined,
      },
      sockets,
    );

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    port = (server.address() as AddressInfo).port;
    logger.info({ port, path: GRAPHQL_PATH }, 'API listening');
  }

  async function stop(): Promise<void> {
    // Apollo's drain plugin closes the HTTP server and, through our plugin, graphql-ws.
    await apollo?.stop();
    if (!apollo && httpServer?.listening) await new Promise<void>((resolve) => httpServer!.close(() => resolve()));
    await new Promise<void>((resolve) => (wss ? wss.close(() => resolve()) : resolve()));
    for (const component of started.toReversed()) await component.stop();
    started.length = 0;
  }

  return {
    name: 'api-server',
    schema,
    get port() {
      return port;
    },
    get url() {
      return `http://127.0.0.1:${port}${GRAPHQL_PATH}`;
    },
    start,
    stop,
  };
}
