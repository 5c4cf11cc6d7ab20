/**
 * Resolvers of `notifications.graphql`. Every statement is confined to the token's organisation;
 * a token limited to access groups sees only alert deliveries of devices in its groups (and
 * operator messages), and only subscriptions confined to its groups. Reads need `read`, every
 * change `write` (an operator's system pushes messages with a `write` token).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { requireScope } from '../server/auth.js';
import type { ApiContext, AuthContext } from '../server/context.js';
import { apiError, badInput, notFound } from '../server/errors.js';
import type { Resolvers } from '../server/module.js';
import { connection, decodePosition, encodePosition, pageSize } from '../resolvers/paging.js';
import type { DeliveryListener } from './listener.js';
import { messageContent, SEVERITIES } from './model.js';
import { markRead, recordDeliveries, type DeliveryChange } from './store.js';
import { webhookAllowlist, webhookUrlProblem } from './webhook-destination.js';

const MAX_PAGE = 200;
const MAX_RECIPIENTS = 1000;
/** Deliveries a live subscriber may fall behind by before it is closed with SLOW_SUBSCRIBER. */
const LIVE_BUFFER = 1000;

type Args = Record<string, unknown>;

interface SubscriptionRow {
  id: string;
  user_id: string;
  name: string;
  site_ids: string[] | null;
  access_group_ids: string[] | null;
  kinds: string[] | null;
  min_severity: string;
  states: string[];
  channel: string;
  webhook_url: string | null;
  email: string | null;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
}

interface DeliveryRow {
  id: string;
  user_id: string;
  channel: string;
  target: string | null;
  subject: string;
  body: string;
  state: string;
  attempts: number;
  last_error: string | null;
  subscription_id: string | null;
  alert_id: string | null;
  alert_revision: string | null;
  device_id: string | null;
  message_id: string | null;
  created_at: Date;
  updated_at: Date;
  sent_at: Date | null;
  failed_at: Date | null;
  read_at: Date | null;
  sort_key?: string;
}

const upper = (value: string): string => value.toUpperCase();
const lower = (value: unknown): string => String(value).toLowerCase();

function subscriptionOut(row: SubscriptionRow) {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    siteIds: row.site_ids,
    accessGroupIds: row.access_group_ids,
    kinds: row.kinds,
    minSeverity: row.min_severity,
    states: row.states,
    channel: upper(row.channel),
    webhookUrl: row.webhook_url,
    email: row.email,
    enabled: row.enabled,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function deliveryOut(row: DeliveryRow) {
  return {
    id: row.id,
    userId: row.user_id,
    channel: upper(row.channel),
    target: row.target,
    subject: row.subject,
    body: row.body,
    state: upper(row.state),
    attempts: row.attempts,
    lastError: row.last_error,
    subscriptionId: row.subscription_id,
    alertId: row.alert_id,
    alertRevision: row.alert_revision === null ? null : Number(row.alert_revision),
    deviceId: row.device_id,
    messageId: row.message_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    sentAt: row.sent_at,
    failedAt: row.failed_at,
    readAt: row.read_at,
  };
}

/** SQL confining deliveries (alias `d`) to what the token may see; pushes its parameters. */
function deliveriesVisible(auth: AuthContext, params: unknown[]): string {
  params.push(auth.organisationId);
  let sql = `d.organisation_id = $${params.length}`;
  if (auth.accessGroupIds !== null) {
    params.push(auth.accessGroupIds);
    sql += ` AND (d.message_id IS NOT NULL OR d.access_group_id = ANY($${params.length}))`;
  }
  return sql;
}

/** SQL confining subscriptions (alias `s`) to what the token may see; pushes its parameters. */
function subscriptionsVisible(auth: AuthContext, params: unknown[]): string {
  params.push(auth.organisationId);
  let sql = `s.organisation_id = $${params.length} AND s.deleted_at IS NULL`;
  if (auth.accessGroupIds !== null) {
    params.push(auth.accessGroupIds);
    sql += ` AND s.access_group_ids IS NOT NULL AND s.access_group_ids <@ $${params.length}::text[]`;
  }
  return sql;
}

const DELIVERY_COLUMNS = `d.id, d.user_id, d.channel, d.target, d.subject, d.body, d.state, d.attempts, d.last_error, d.subscription_id,
  d.alert_id, d.alert_revision, d.device_id, d.message_id, d.created_at, d.updated_at, d.sent_at, d.failed_at, d.read_at`;

async function deliveriesByIds(pool: Pool, auth: AuthContext, ids: readonly string[]): Promise<DeliveryRow[]> {
  const params: unknown[] = [ids];
  const { rows } = await pool.query<DeliveryRow>(
    `SELECT ${DELIVERY_COLUMNS} FROM notification_deliveries d WHERE d.id = ANY($1) AND ${deliveriesVisible(auth, params)} ORDER BY d.created_at, d.id`,
    params,
  );
  return rows;
}

/** Checks that every id names a row of `table` in the token's organisation. */
async function requireOwned(pool: Pool, auth: AuthContext, table: 'users' | 'sites' | 'access_groups', ids: readonly string[], field: string): Promise<void> {
  if (ids.length === 0) return;
  const { rows } = await pool.query<{ id: string }>(`SELECT id FROM ${table} WHERE id = ANY($1) AND organisation_id = $2`, [[...new Set(ids)], auth.organisationId]);
  const found = new Set(rows.map((r) => r.id));
  const missing = ids.filter((id) => !found.has(id));
  if (missing.length > 0) throw notFound(`${field} ${missing.join(', ')}`);
}

/**
 * The validated columns of an {@link AlertSubscriptionInput}; `allowHosts` are the internal webhook
 * receivers the operator allows (`NOTIFY_WEBHOOK_ALLOW_HOSTS`).
 */
async function subscriptionColumns(pool: Pool, auth: AuthContext, input: Args, allowHosts: readonly string[]) {
  const userId = String(input['userId']);
  const siteIds = (input['siteIds'] as string[] | null | undefined) ?? null;
  const accessGroupIds = (input['accessGroupIds'] as string[] | null | undefined) ?? null;
  const kinds = (input['kinds'] as string[] | null | undefined) ?? null;
  const minSeverity = String(input['minSeverity'] ?? 'INFO');
  const states = (input['states'] as string[] | null | undefined) ?? ['RAISED'];
  const channel = lower(input['channel']);
  const webhookUrl = (input['webhookUrl'] as string | null | undefined) ?? null;
  const email = (input['email'] as string | null | undefined) ?? null;
  const name = String(input['name'] ?? '');

  if (!(SEVERITIES as readonly string[]).includes(minSeverity)) throw badInput('minSeverity', `must be one of ${SEVERITIES.join(', ')}`);
  if (states.length === 0 || states.includes('UNKNOWN')) throw badInput('states', 'must name at least one of RAISED, UPDATED, CLEARED, ACKNOWLEDGED');
  if (kinds?.includes('UNKNOWN')) throw badInput('kinds', 'UNKNOWN is not a kind to subscribe to');
  if (name.length > 200) throw badInput('name', 'at most 200 characters');
  if (channel === 'webhook') {
    if (webhookUrl === null) throw badInput('webhookUrl', 'WEBHOOK needs an http or https URL');
    const problem = webhookUrlProblem(webhookUrl, webhookAllowlist(allowHosts));
    if (problem !== undefined) throw badInput('webhookUrl', problem);
  } else if (webhookUrl !== null) throw badInput('webhookUrl', 'only for WEBHOOK');
  if (email !== null && channel !== 'email') throw badInput('email', 'only for EMAIL');
  if (email !== null && !/^[^\s@]+@[^\s@]+$/.test(email)) throw badInput('email', 'not an e-mail address');
  if (auth.accessGroupIds !== null) {
    const allowed = new Set(auth.accessGroupIds);
    if (accessGroupIds === null || accessGroupIds.length === 0 || accessGroupIds.some((g) => !allowed.has(g))) {
      throw apiError('FORBIDDEN', 'this token is limited to access groups: accessGroupIds must name some of them');
    }
  }
  await requireOwned(pool, auth, 'users', [userId], 'user');
  await requireOwned(pool, auth, 'sites', siteIds ?? [], 'site');
  await requireOwned(pool, auth, 'access_groups', accessGroupIds ?? [], 'access group');
  return { userId, name, siteIds, accessGroupIds, kinds, minSeverity, states, channel, webhookUrl, email, enabled: input['enabled'] !== false };
}

const SORTS: Record<string, { column: string; key: string; type: string }> = {
  CREATED_AT: { column: 'd.created_at', key: `to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`, type: 'timestamptz' },
  UPDATED_AT: { column: 'd.updated_at', key: `to_char(d.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`, type: 'timestamptz' },
  STATE: { column: 'd.state', key: 'd.state::text', type: 'notification_state' },
  USER: { column: 'd.user_id', key: 'd.user_id', type: 'text' },
};

/** A bounded queue feeding one live subscriber; overflow ends it with SLOW_SUBSCRIBER. */
function liveDeliveries(
  listener: DeliveryListener,
  accept: (change: DeliveryChange) => boolean,
  load: (id: string) => Promise<unknown>,
  signal: AbortSignal,
): AsyncIterableIterator<unknown> {
  const pending: string[] = [];
  let wake: (() => void) | undefined;
  let overflowed = false;
  let done = false;
  const unsubscribe = listener.subscribe((change) => {
    if (done || !accept(change)) return;
    if (pending.length >= LIVE_BUFFER) overflowed = true;
    else pending.push(change.id);
    wake?.();
  });
  const finish = (): void => {
    done = true;
    unsubscribe();
    wake?.();
  };
  signal.addEventListener('abort', finish, { once: true });

  const iterator: AsyncIterableIterator<unknown> = {
    async next() {
      for (;;) {
        if (overflowed) {
          finish();
          throw apiError('SLOW_SUBSCRIBER', `fell more than ${LIVE_BUFFER} deliveries behind; read the history, then subscribe again`);
        }
        if (done) return { done: true, value: undefined };
        const id = pending.shift();
        if (id !== undefined) {
          const value = await load(id);
          if (value !== undefined) return { done: false, value };
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
    async return() {
      finish();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/** The resolvers; `listenerOf` finds the running engine's listener of an API process. */
export function notificationResolvers(listenerOf: (services: ApiContext['services']) => DeliveryListener): Resolvers {
  return {
    Query: {
      async alertSubscriptions(_parent, args, ctx: ApiContext) {
        requireScope(ctx.auth, 'read');
        const params: unknown[] = [];
        let sql = `SELECT s.* FROM alert_subscriptions s WHERE ${subscriptionsVisible(ctx.auth, params)}`;
        if (args['userId'] != null) {
          params.push(String(args['userId']));
          sql += ` AND s.user_id = $${params.length}`;
        }
        const { rows } = await ctx.services.postgres.query<SubscriptionRow>(`${sql} ORDER BY s.created_at, s.id`, params);
        return rows.map(subscriptionOut);
      },

      async notificationDeliveries(_parent, args, ctx: ApiContext) {
        requireScope(ctx.auth, 'read');
        const size = pageSize(args['first'], MAX_PAGE);
        const sort = SORTS[String(args['orderBy'] ?? 'CREATED_AT')]!;
        const descending = args['order'] !== 'ASC';
        const filter = (args['filter'] ?? {}) as Args;
        const params: unknown[] = [];
        const where = [deliveriesVisible(ctx.auth, params)];
        const add = (value: unknown, sql: (n: number) => string): void => {
          params.push(value);
          where.push(sql(params.length));
        };
        if (filter['userIds'] != null) add(filter['userIds'], (n) => `d.user_id = ANY($${n})`);
        if (filter['states'] != null) add((filter['states'] as string[]).map(lower), (n) => `d.state = ANY($${n}::notification_state[])`);
        if (filter['channels'] != null) add((filter['channels'] as string[]).map(lower), (n) => `d.channel = ANY($${n}::notification_channel[])`);
        if (filter['alertId'] != null) add(filter['alertId'], (n) => `d.alert_id = $${n}`);
        if (filter['messageId'] != null) add(filter['messageId'], (n) => `d.message_id = $${n}`);
        if (filter['from'] != null) add(new Date(filter['from'] as number), (n) => `d.created_at >= $${n}`);
        if (filter['to'] != null) add(new Date(filter['to'] as number), (n) => `d.created_at < $${n}`);
        if (typeof filter['search'] === 'string' && filter['search'].trim() !== '') {
          const pattern = `%${filter['search'].trim().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
          add(pattern, (n) => `(d.subject ILIKE $${n} OR d.body ILIKE $${n})`);
        }
        const position = decodePosition(args['after'], 2);
        if (position) {
          params.push(String(position[0]), String(position[1]));
          where.push(`(${sort.column}, d.id) ${descending ? '<' : '>'} ($${params.length - 1}::${sort.type}, $${params.length})`);
        }
        params.push(size + 1);
        const direction = descending ? 'DESC' : 'ASC';
        const { rows } = await ctx.services.postgres.query<DeliveryRow>(
          `SELECT ${DELIVERY_COLUMNS}, ${sort.key} AS sort_key FROM notification_deliveries d
            WHERE ${where.join(' AND ')}
            ORDER BY ${sort.column} ${direction}, d.id ${direction}
            LIMIT $${params.length}`,
          params,
        );
        const page = connection(rows, size, (row) => encodePosition([row.sort_key!, row.id]));
        return { ...page, edges: page.edges.map((edge) => ({ cursor: edge.cursor, node: deliveryOut(edge.node) })) };
      },
    },

    Mutation: {
      async createAlertSubscription(_parent, args, ctx: ApiContext) {
        requireScope(ctx.auth, 'write');
        const c = await subscriptionColumns(ctx.services.postgres, ctx.auth, args['input'] as Args, ctx.services.config.notifications.webhookAllowHosts);
        const secret = c.channel === 'webhook' ? randomBytes(32).toString('base64url') : null;
        const { rows } = await ctx.services.postgres.query<SubscriptionRow>(
          `INSERT INTO alert_subscriptions (id, organisation_id, user_id, name, site_ids, access_group_ids, kinds, min_severity, states,
                                            channel, webhook_url, webhook_secret, email, enabled)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING *`,
          [randomUUID(), ctx.auth.organisationId, c.userId, c.name, c.siteIds, c.accessGroupIds, c.kinds, c.minSeverity, c.states,
            c.channel, c.webhookUrl, secret, c.email, c.enabled],
        );
        return { subscription: subscriptionOut(rows[0]!), webhookSecret: secret };
      },

      async updateAlertSubscription(_parent, args, ctx: ApiContext) {
        requireScope(ctx.auth, 'write');
        const c = await subscriptionColumns(ctx.services.postgres, ctx.auth, args['input'] as Args, ctx.services.config.notifications.webhookAllowHosts);
        const params: unknown[] = [String(args['id']), c.userId, c.name, c.siteIds, c.accessGroupIds, c.kinds, c.minSeverity, c.states,
          c.channel, c.webhookUrl, c.email, c.enabled, randomBytes(32).toString('base64url')];
        const { rows } = await ctx.services.postgres.query<SubscriptionRow>(
          `UPDATE alert_subscriptions s
              SET user_id = $2, name = $3, site_ids = $4, access_group_ids = $5, kinds = $6, min_severity = $7, states = $8,
                  channel = $9, webhook_url = $10, email = $11, enabled = $12, updated_at = now(),
                  webhook_secret = CASE WHEN $9 = 'webhook' THEN coalesce(s.webhook_secret, $13) END
            WHERE s.id = $1 AND ${subscriptionsVisible(ctx.auth, params)}
            RETURNING s.*`,
          params,
        );
        if (rows.length === 0) throw notFound(`alert subscription ${String(args['id'])}`);
        return subscriptionOut(rows[0]!);
      },

      async deleteAlertSubscription(_parent, args, ctx: ApiContext) {
        requireScope(ctx.auth, 'write');
        const params: unknown[] = [String(args['id'])];
        const { rowCount } = await ctx.services.postgres.query(
          `UPDATE alert_subscriptions s SET deleted_at = now(), enabled = false, updated_at = now()
            WHERE s.id = $1 AND ${subscriptionsVisible(ctx.auth, params)}`,
          params,
        );
        if (rowCount === 0) throw notFound(`alert subscription ${String(args['id'])}`);
        return args['id'];
      },

      async pushMessage(_parent, args, ctx: ApiContext) {
        requireScope(ctx.auth, 'write');
        const input = args['input'] as Args;
        const userIds = [...new Set(input['userIds'] as string[])];
        const subject = String(input['subject']).trim();
        const body = String(input['body']);
        const channels = [...new Set(((input['channels'] as string[] | null) ?? ['IN_APP']).map(lower))];
        if (userIds.length === 0 || userIds.length > MAX_RECIPIENTS) throw badInput('userIds', `must name 1 to ${MAX_RECIPIENTS} people`);
        if (subject.length < 1 || subject.length > 200) throw badInput('subject', 'must be 1 to 200 characters');
        if (body.length > 10_000) throw badInput('body', 'at most 10000 characters');
        if (channels.length === 0 || channels.some((c) => c !== 'in_app' && c !== 'email')) throw badInput('channels', 'messages go IN_APP and/or by EMAIL');
        const pool = ctx.services.postgres;
        const { rows: users } = await pool.query<{ id: string; email: string }>(
          'SELECT id, email FROM users WHERE id = ANY($1) AND organisation_id = $2', [userIds, ctx.auth.organisationId]);
        const found = new Set(users.map((u) => u.id));
        const missing = userIds.filter((id) => !found.has(id));
        if (missing.length > 0) throw notFound(`user ${missing.join(', ')}`);

        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const { rows } = await client.query<{ id: string; created_at: Date }>(
            'INSERT INTO operator_messages (id, organisation_id, token_id, subject, body) VALUES ($1, $2, $3, $4, $5) RETURNING id, created_at',
            [randomUUID(), ctx.auth.organisationId, ctx.auth.tokenId, subject, body],
          );
          const message = rows[0]!;
          const content = messageContent({ id: message.id, subject, body, createdAt: message.created_at });
          const ids = await recordDeliveries(
            client,
            users.flatMap((user) => channels.map((channel) => ({
              organisationId: ctx.auth.organisationId,
              userId: user.id,
              channel: channel as 'in_app' | 'email',
              target: channel === 'email' ? user.email : null,
              content,
              messageId: message.id,
            }))),
          );
          await client.query('COMMIT');
          return { id: message.id, deliveries: (await deliveriesByIds(pool, ctx.auth, ids)).map(deliveryOut) };
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        } finally {
          client.release();
        }
      },

      async markDeliveriesRead(_parent, args, ctx: ApiContext) {
        requireScope(ctx.auth, 'write');
        const visible = await deliveriesByIds(ctx.services.postgres, ctx.auth, args['ids'] as string[]);
        const changed = await markRead(ctx.services.postgres, ctx.auth.organisationId, visible.map((d) => d.id));
        return (await deliveriesByIds(ctx.services.postgres, ctx.auth, changed)).map(deliveryOut);
      },
    },

    Subscription: {
      deliveries: {
        subscribe(_parent, args, ctx: ApiContext) {
          requireScope(ctx.auth, 'read');
          const userId = args['userId'] == null ? undefined : String(args['userId']);
          const states = args['states'] == null ? undefined : new Set((args['states'] as string[]).map(lower));
          const accept = (change: DeliveryChange): boolean =>
            change.organisationId === ctx.auth.organisationId &&
            (userId === undefined || change.userId === userId) &&
            (states === undefined || states.has(change.state));
          const load = async (id: string) => {
            const [row] = await deliveriesByIds(ctx.services.postgres, ctx.auth, [id]);
            return row === undefined ? undefined : deliveryOut(row);
          };
          return liveDeliveries(listenerOf(ctx.services), accept, load, ctx.signal);
        },
        resolve: (delivery) => delivery,
      },
    },

    Delivery: {
      async user(parent, _args, ctx: ApiContext) {
        return userOf(ctx, (parent as { userId: string }).userId);
      },
      async events(parent, _args, ctx: ApiContext) {
        const { rows } = await ctx.services.postgres.query<{ state: string; attempt: number; detail: string | null; at: Date }>(
          'SELECT state, attempt, detail, at FROM notification_delivery_events WHERE delivery_id = $1 ORDER BY id', [(parent as { id: string }).id]);
        return rows.map((r) => ({ ...r, state: upper(r.state) }));
      },
    },

    AlertSubscription: {
      async user(parent, _args, ctx: ApiContext) {
        return userOf(ctx, (parent as { userId: string }).userId);
      },
    },
  };
}

async function userOf(ctx: ApiContext, userId: string) {
  const { rows } = await ctx.services.postgres.query<{ id: string; email: string; display_name: string | null }>(
    'SELECT id, email, display_name FROM users WHERE id = $1 AND organisation_id = $2', [userId, ctx.auth.organisationId]);
  const row = rows[0];
  if (row === undefined) throw notFound(`user ${userId}`);
  return { id: row.id, email: row.email, displayName: row.display_name };
}
