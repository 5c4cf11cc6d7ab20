/**
 * Integration-test harness for the API (and modules plugged into it): a database of its own
 * (migrated from infra/postgres/migrations, dropped afterwards), prefixed topics and index
 * aliases, the API process on a free port, and helpers that create organisations and tokens.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../infra/postgres/migrate.js';
import { createLogger } from '../../core/log.js';
import { Lifecycle } from '../../core/lifecycle.js';
import { deleteTopics, testKernel, type TestKernel } from '../../test/support/stack.js';
import { createApiProcess, type ApiProcess } from '../main.js';
import { newSecret, secretHash } from '../server/auth.js';
import type { Scope } from '../server/context.js';
import type { ApiModule } from '../server/module.js';

/** A running API against the real stack. */
export interface ApiHarness {
  readonly kernel: TestKernel;
  readonly api: ApiProcess;
  /** `http://127.0.0.1:<port>/graphql` */
  readonly url: string;
  /** `ws://127.0.0.1:<port>/graphql` */
  readonly wsUrl: string;
  /** The harness's own database. */
  readonly db: pg.Pool;
  /** Prefix of the Elasticsearch aliases the API reads (same as the topic prefix). */
  readonly indexPrefix: string;
  /** Creates an organisation; returns its id. */
  organisation(name?: string): Promise<string>;
  /** Creates a token and returns its secret. */
  token(organisationId: string, scopes: readonly Scope[], options?: { accessGroupIds?: readonly string[]; expiresAt?: Date }): Promise<{ id: string; secret: string }>;
  /** POSTs a GraphQL operation; resolves to the parsed body and the HTTP status. */
  query<T = Record<string, unknown>>(secret: string | undefined, query: string, variables?: Record<string, unknown>): Promise<{ status: number; body: { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> } }>;
  stop(): Promise<void>;
}

/** Options of {@link startApiHarness}. */
export interface ApiHarnessOptions {
  readonly label?: string;
  readonly modules?: readonly ApiModule[];
  readonly subscriberBuffer?: number;
  /** Master key for device keys (`DEVICE_KEY_ENCRYPTION_KEY`). @default the environment's */
  readonly deviceKeyEncryptionKey?: Buffer;
  /** Internal receivers notification webhooks may reach (`NOTIFY_WEBHOOK_ALLOW_HOSTS`). @default the environment's */
  readonly webhookAllowHosts?: readonly string[];
}

/** Starts everything; call `stop()` in `afterAll`. */
export async function startApiHarness(options: ApiHarnessOptions = {}): Promise<ApiHarness> {
  const kernel = await testKernel(options.label ?? 'api');
  const base = new URL(kernel.config.postgres.url);
  const database = `meterflux_${kernel.prefix.replace(/[^a-z0-9]/g, '_')}`.replace(/_+$/, '');
  const dbUrl = Object.assign(new URL(base), { pathname: `/${database}` }).toString();
  await migrate(dbUrl);
  const config = {
    ...kernel.config,
    postgres: { url: dbUrl },
    ...(options.deviceKeyEncryptionKey ? { deviceKeys: { encryptionKey: options.deviceKeyEncryptionKey } } : {}),
    ...(options.webhookAllowHosts ? { notifications: { ...kernel.config.notifications, webhookAllowHosts: options.webhookAllowHosts } } : {}),
  };
  const logger = createLogger({ level: 'warn', name: 'api-test' });
  const api = createApiProcess({
    config,
    logger,
    catalogue: kernel.catalogue,
    kafka: kernel.kafka,
    codec: kernel.codec,
    indexPrefix: kernel.prefix,
    port: 0,
    ...(options.modules ? { modules: options.modules } : {}),
    ...(options.subscriberBuffer ? { subscriberBuffer: options.subscriberBuffer } : {}),
  });
  const lifecycle = new Lifecycle(api.components, { logger });
  await lifecycle.start();
  const db = new pg.Pool({ connectionString: dbUrl, max: 4 });
  const url = api.server.url;

  return {
    kernel,
    api,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    db,
    indexPrefix: kernel.prefix,
    async organisation(name = 'Organisation') {
      const id = `org-${randomBytes(4).toString('hex')}`;
      await db.query('INSERT INTO organisations (id, name) VALUES ($1, $2)', [id, name]);
      return id;
    },
    async token(organisationId, scopes, tokenOptions = {}) {
      const id = `tok-${randomBytes(6).toString('hex')}`;
      const secret = newSecret();
      await db.query('INSERT INTO api_tokens (id, organisation_id, name, secret_sha256, scopes, expires_at) VALUES ($1, $2, $3, $4, $5, $6)', [
        id,
        organisationId,
        `test ${scopes.join(',')}`,
        secretHash(secret),
        scopes,
        tokenOptions.expiresAt ?? null,
      ]);
      for (const group of tokenOptions.accessGroupIds ?? []) {
        await db.query('INSERT INTO api_token_access_groups (token_id, access_group_id) VALUES ($1, $2)', [id, group]);
      }
      return { id, secret };
    },
    async query(secret, query, variables) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(secret ? { authorization: `Bearer ${secret}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, body: (await response.json()) as never };
    },
    async stop() {
      await api.services.elasticsearch.indices.delete({ index: `${kernel.prefix}*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => undefined);
      await lifecycle.stop();
      await db.end();
      await deleteTopics(kernel);
      const admin = new pg.Client({ connectionString: Object.assign(new URL(base), { pathname: '/postgres' }).toString() });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}
