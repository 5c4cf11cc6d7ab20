/**
 * Subscriptions over the live hub. Every event is filtered by the caller's organisation, by its
 * access groups (the set of visible device ids, loaded at subscribe time and refreshed every
 * {@link REFRESH_MS}), and by the subscription's own filter, before it is queued for the client.
 */
import type { GraphQLError } from 'graphql/index.js';
import type { RecordTypes } from '../../schemas/avro/index.js';
import { OVERFLOW, type LiveItem, type LiveRecords, type LiveStream } from '../live/hub.js';
import { slowSubscriberResult } from '../live/shared-subscribe.js';
import { requireScope } from '../server/auth.js';
import type { ApiContext, AuthContext } from '../server/context.js';
import { badInput } from '../server/errors.js';
import type { Resolvers } from '../server/module.js';
import { alertNode, concentrationNode, consumptionNode, deviceStatusNode, readingNode } from './records.js';
import { deviceVisible } from './visibility.js';

/** How often a subscription reloads which devices its access groups hold. */
export const REFRESH_MS = 30_000;

/** Events a subscriber may have waiting in the hub before the slow-subscriber policy applies. */
export const HUB_BUFFER = 1000;

type Args = Record<string, unknown>;

interface LiveFilter {
  readonly deviceIds?: readonly string[] | null;
  readonly siteId?: string | null;
  readonly accessGroupId?: string | null;
}

/** Fields every live record has, for the shared filter. */
interface Placed {
  readonly organisationId: string | null;
  readonly siteId: string | null;
}

/**
 * The predicate of the tenant and the filter on (organisationId, siteId, deviceId). When the
 * token or the filter names access groups, the visible device set is loaded now and refreshed.
 */
async function placementFilter(ctx: ApiContext, filter: LiveFilter): Promise<(value: Placed, deviceId: string) => boolean> {
  const { auth } = ctx;
  const ids = filter.deviceIds ? new Set(filter.deviceIds) : undefined;
  if (ids && ids.size > 1000) throw badInput('filter.deviceIds', 'at most 1000 devices');
  let devices: Set<string> | undefined;
  if (auth.accessGroupIds !== null || filter.accessGroupId) {
    const load = async () => (devices = new Set(await groupDevices(ctx, auth, filter.accessGroupId ?? undefined)));
    await load();
    const timer = setInterval(() => {
      load().catch((err: unknown) => ctx.services.logger.warn({ err }, 'could not refresh the devices of a subscription'));
    }, REFRESH_MS);
    timer.unref();
    ctx.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  }
  const org = auth.organisationId;
  const site = filter.siteId ?? undefined;
  return (value, deviceId) =>
    value.organisationId === org &&
    (site === undefined || value.siteId === site) &&
    (ids === undefined || ids.has(deviceId)) &&
    (devices === undefined || devices.has(deviceId));
}

async function groupDevices(ctx: ApiContext, auth: AuthContext, group: string | undefined): Promise<string[]> {
  const params: unknown[] = [];
  let where = deviceVisible(auth, 'd', params);
  if (group !== undefined) {
    params.push(group);
    where += ` AND d.access_group_id = $${params.length}`;
  }
  const { rows } = await ctx.services.postgres.query<{ id: string }>(`SELECT d.id FROM devices d WHERE ${where}`, params);
  return rows.map((r) => r.id);
}

/** Events of `stream` for the subscriber, shaped by `shape`; ends with an error on overflow. */
async function* live<S extends LiveStream, T>(
  ctx: ApiContext,
  stream: S,
  after: unknown,
  accept: (value: LiveRecords[S]) => boolean,
  shape: (value: LiveRecords[S], cursor: string) => T,
): AsyncGenerator<T> {
  const events = ctx.services.live.events(stream, {
    accept,
    after: typeof after === 'string' ? after : undefined,
    signal: ctx.signal,
    bufferSize: HUB_BUFFER,
  });
  try {
    for await (const item of events as AsyncIterable<LiveItem<S>>) {
      if (item === OVERFLOW) throw slowSubscriberResult(HUB_BUFFER).errors![0] as GraphQLError;
      yield shape(item.value, item.cursor);
    }
  } finally {
    await events.return?.();
  }
}

const SEVERITY_RANK: Readonly<Record<string, number>> = { UNKNOWN: 0, INFO: 1, WARNING: 2, CRITICAL: 3 };

function subscription<S extends LiveStream, T>(
  stream: S,
  deviceOf: (value: LiveRecords[S]) => string,
  extra: (args: Args) => (value: LiveRecords[S]) => boolean,
  shape: (value: LiveRecords[S], cursor: string) => T,
) {
  return {
    subscribe: async (_root: unknown, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'read');
      const placed = await placementFilter(ctx, (args['filter'] as LiveFilter | null) ?? {});
      const more = extra(args);
      return live(ctx, stream, args['after'], (value) => placed(value as unknown as Placed, deviceOf(value)) && more(value), shape);
    },
    resolve: (payload: unknown) => payload,
  };
}

export const subscriptionResolvers: Resolvers = {
  Subscription: {
    readings: subscription(
      'readings',
      (r) => r.deviceId,
      (args) => (r: RecordTypes['Reading']) => args['quantity'] === undefined || args['quantity'] === null || r.quantity === args['quantity'],
      (r, cursor) => ({ cursor, reading: readingNode(r) }),
    ),
    consumptionUpdates: subscription(
      'consumption',
      (c) => c.deviceId,
      (args) => (c: RecordTypes['Consumption']) => !args['granularity'] || c.granularity === args['granularity'],
      (c, cursor) => ({ cursor, consumption: consumptionNode(c) }),
    ),
    concentrationUpdates: subscription(
      'concentrations',
      (c) => `station:${c.stationId}`,
      (args) => (c: RecordTypes['Concentration']) =>
        (!args['gas'] || c.gas === args['gas']) && (!args['granularity'] || c.granularity === args['granularity']),
      (c, cursor) => ({ cursor, concentration: concentrationNode(c) }),
    ),
    alerts: subscription(
      'alerts',
      (a) => a.deviceId,
      (args) => (a: RecordTypes['Alert']) => !args['minSeverity'] || (SEVERITY_RANK[a.severity] ?? 0) >= (SEVERITY_RANK[String(args['minSeverity'])] ?? 0),
      (a, cursor) => ({ cursor, alert: alertNode(a) }),
    ),
    deviceStatus: subscription(
      'devices',
      (d) => d.deviceId,
      () => (d: RecordTypes['Device']) => d.status !== 'UNKNOWN',
      (d, cursor) => ({ cursor, ...deviceStatusNode(d) }),
    ),
  },
};
