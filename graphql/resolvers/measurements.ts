/**
 * Queries over Elasticsearch: readings (with a histogram), consumption (with totals),
 * concentrations, footprint, alerts, rejected input and the map. Every search is confined by
 * {@link tenantFilters}; lists page with `search_after` on a total sort order ending in a unique
 * keyword, so pages neither skip nor repeat documents.
 */
import type { estypes } from '@elastic/elasticsearch';
import type { RecordTypes } from '../../schemas/avro/index.js';
import { requireScope } from '../server/auth.js';
import type { ApiContext } from '../server/context.js';
import { badInput, forbidden } from '../server/errors.js';
import type { Resolvers } from '../server/module.js';
import { connection, decodePosition, encodePosition, pageSize } from './paging.js';
import {
  alertNode,
  concentrationNode,
  consumptionNode,
  footprintNode,
  readingNode,
  rejectNode,
  withAcknowledgement,
  type Acknowledgement,
  type RejectDocument,
} from './records.js';
import { DEVICE_COLUMNS, deviceNode } from './registry.js';
import { deviceVisible, stationIdsOf, tenantFilters } from './visibility.js';

type Args = Record<string, unknown>;
type Query = estypes.QueryDslQueryContainer;

/** Searches an alias; a missing alias (nothing indexed yet) reads as empty. */
async function search<T>(ctx: ApiContext, index: string, body: Omit<estypes.SearchRequest, 'index'>): Promise<estypes.SearchResponse<T>> {
  return ctx.services.elasticsearch.search<T>(
    { index, ignore_unavailable: true, allow_no_indices: true, track_total_hits: false, ...body },
    { signal: ctx.signal },
  );
}

const term = (field: string, value: unknown): Query[] => (value === undefined || value === null ? [] : [{ term: { [field]: value } }]);
const terms = (field: string, values: unknown): Query[] =>
  Array.isArray(values) && values.length > 0 ? [{ terms: { [field]: values } }] : [];
function range(field: string, from: unknown, to: unknown): Query[] {
  if ((from === undefined || from === null) && (to === undefined || to === null)) return [];
  if (typeof from === 'number' && typeof to === 'number' && from >= to) throw badInput('filter.to', 'must be after filter.from');
  return [{ range: { [field]: { ...(typeof from === 'number' ? { gte: from } : {}), ...(typeof to === 'number' ? { lt: to } : {}) } } }];
}

/** One page of a search sorted by `sort` (whose last field is a unique keyword). */
async function page<T, N>(
  ctx: ApiContext,
  index: string,
  filters: Query[],
  sort: Array<[field: string, order: 'asc' | 'desc']>,
  args: Args,
  max: number,
  node: (source: T) => N,
) {
  const size = pageSize(args['first'], max);
  const after = decodePosition(args['after'], sort.length);
  const response = await search<T>(ctx, index, {
    size: size + 1,
    query: { bool: { filter: filters } },
    sort: sort.map(([field, order]) => ({ [field]: { order } })),
    ...(after ? { search_after: after } : {}),
  });
  const hits = response.hits.hits.filter((hit) => hit._source !== undefined);
  const rows = hits.map((hit) => ({ node: node(hit._source as T), sort: hit.sort ?? [] }));
  const result = connection(rows, size, (row) => encodePosition(row.sort as Array<string | number>));
  return { ...result, edges: result.edges.map((edge) => ({ cursor: edge.cursor, node: edge.node.node })) };
}

function readingFilters(filter: Args): Query[] {
  let deviceId = filter['deviceId'];
  let registerKey = filter['registerKey'];
  // A register id is `{deviceId}/{registerKey}`.
  if (typeof registerKey === 'string' && registerKey.includes('/') && deviceId === undefined) {
    const slash = registerKey.indexOf('/');
    deviceId = registerKey.slice(0, slash);
    registerKey = registerKey.slice(slash + 1);
  }
  return [
    ...term('deviceId', deviceId),
    ...term('registerKey', registerKey),
    ...term('siteId', filter['siteId']),
    ...term('quantity', filter['quantity']),
    ...range('observedAt', filter['from'], filter['to']),
  ];
}

const INTERVALS: Readonly<Record<string, { fixed?: string; calendar?: string; ms: number }>> = {
  MINUTE_15: { fixed: '15m', ms: 15 * 60_000 },
  HOUR: { fixed: '1h', ms: 3_600_000 },
  DAY: { fixed: '1d', ms: 86_400_000 },
  WEEK: { calendar: '1w', ms: 7 * 86_400_000 },
  MONTH: { calendar: '1M', ms: 28 * 86_400_000 },
};

/** Most histogram buckets one query may ask for. */
export const MAX_BUCKETS = 2000;

async function acknowledgements(ctx: ApiContext, ids: readonly string[]): Promise<Map<string, Acknowledgement>> {
  if (ids.length === 0) return new Map();
  const { rows } = await ctx.services.postgres.query<{ alert_id: string; acknowledged_at: Date; acknowledged_by: string }>(
    'SELECT alert_id, acknowledged_at, acknowledged_by FROM alert_acknowledgements WHERE alert_id = ANY($1::text[]) AND organisation_id = $2',
    [ids, ctx.auth.organisationId],
  );
  return new Map(rows.map((r) => [r.alert_id, { acknowledgedAt: r.acknowledged_at.getTime(), acknowledgedBy: r.acknowledged_by }]));
}

export const measurementResolvers: Resolvers = {
  Query: {
    readings: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'read');
      const filter = args['filter'] as Args;
      const order = args['order'] === 'ASC' ? 'asc' : 'desc';
      const filters = [...(await tenantFilters(ctx.services.postgres, ctx.auth, { field: 'deviceId' })), ...readingFilters(filter)];
      return page(ctx, ctx.services.indices.readings, filters, [['observedAt', order], ['readingId', 'asc']], args, 1000, (r: RecordTypes['Reading']) => readingNode(r));
    },

    readingHistogram: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'read');
      const filter = args['filter'] as Args;
      const interval = INTERVALS[String(args['interval'])]!;
      const from = filter['from'];
      const to = filter['to'];
      if (typeof from !== 'number' || typeof to !== 'number') throw badInput('filter', 'a histogram needs both from and to');
      if ((to - from) / interval.ms > MAX_BUCKETS) throw badInput('interval', `the range holds more than ${MAX_BUCKETS} intervals; choose a longer interval`);
      const filters = [...(await tenantFilters(ctx.services.postgres, ctx.auth, { field: 'deviceId' })), ...readingFilters(filter)];
      const response = await search<never>(ctx, ctx.services.indices.readings, {
        size: 0,
        query: { bool: { filter: filters } },
        aggs: {
          buckets: {
            date_histogram: {
              field: 'observedAt',
              ...(interval.fixed ? { fixed_interval: interval.fixed } : { calendar_interval: interval.calendar as estypes.AggregationsCalendarInterval }),
              min_doc_count: 0,
              extended_bounds: { min: from, max: to - 1 },
            },
            aggs: {
              min: { min: { field: 'value' } },
              max: { max: { field: 'value' } },
              avg: { avg: { field: 'value' } },
              // top_hits, not top_metrics: the latter is an x-pack module some distributions lack.
              last: { top_hits: { size: 1, _source: ['value'], sort: [{ observedAt: { order: 'desc' } }, { readingId: { order: 'desc' } }] } },
            },
          },
        },
      });
      const buckets = (response.aggregations?.['buckets'] as { buckets: Array<Record<string, unknown>> } | undefined)?.buckets ?? [];
      return buckets
        .filter((b) => (b['key'] as number) < to)
        .map((b) => {
          const value = (name: string) => ((b[name] as { value: number | null } | undefined)?.value ?? null);
          const top = (b['last'] as { hits?: { hits: Array<{ _source?: { value: number } }> } } | undefined)?.hits?.hits[0];
          return { start: b['key'], count: b['doc_count'], min: value('min'), max: value('max'), avg: value('avg'), last: top?._source?.value ?? null };
        });
    },

    consumption: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'read');
      const filter = args['filter'] as Args;
      const order = args['order'] === 'DESC' ? 'desc' : 'asc';
      const filters = [
        ...(await tenantFilters(ctx.services.postgres, ctx.auth, { field: 'deviceId' })),
        ...term('granularity', filter['granularity']),
        ...term('registerId', filter['registerId']),
        ...term('deviceId', filter['deviceId']),
        ...term('siteId', filter['siteId']),
        ...terms('status', filter['status']),
        ...terms('quality', filter['quality']),
        ...range('periodStartAt', filter['from'], filter['to']),
      ];
      return page(ctx, ctx.services.indices.consumption, filters, [['periodStartAt', order], ['registerId', 'asc']], args, 1000, (c: RecordTypes['Consumption']) => consumptionNode(c));
    },

    consumptionTotals: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'read');
      const filter = args['filter'] as Args;
      const filters = [
        ...(await tenantFilters(ctx.services.postgres, ctx.auth, { field: 'deviceId' })),
        { term: { open: false } },
        ...term('granularity', filter['granularity']),
        ...term('registerId', filter['registerId']),
        ...term('deviceId', filter['deviceId']),
        ...term('siteId', filter['siteId']),
        ...terms('status', filter['status']),
        ...terms('quality', filter['quality']),
        ...range('periodStartAt', filter['from'], filter['to']),
      ];
      const groupBy = String(args['groupBy']);
      const keyField = groupBy === 'REGISTER' ? 'registerId' : groupBy === 'SITE' ? 'siteId' : undefined;
      const sums = {
        delta: { sum: { field: 'delta.double' } },
        final: { filter: { term: { status: 'FINAL' } } },
      };
      const byUnit = { terms: { field: 'unit', size: 50 }, aggs: sums };
      const response = await search<never>(ctx, ctx.services.indices.consumption, {
        size: 0,
        query: { bool: { filter: filters } },
        aggs: keyField ? { keys: { terms: { field: keyField, size: 10_000 }, aggs: { units: byUnit } } } : { units: byUnit },
      });
      type UnitBucket = { key: string; doc_count: number; delta: { value: number }; final: { doc_count: number } };
      const total = (key: string, u: UnitBucket) => ({ key, unit: u.key, delta: u.delta.value, periods: u.doc_count, finalPeriods: u.final.doc_count });
      const aggs = response.aggregations as Record<string, { buckets: Array<{ key: string; units: { buckets: UnitBucket[] } } | UnitBucket> }> | undefined;
      if (!keyField) return ((aggs?.['units']?.buckets ?? []) as UnitBucket[]).map((u) => total(ctx.auth.organisationId, u));
      return ((aggs?.['keys']?.buckets ?? []) as Array<{ key: string; units: { buckets: UnitBucket[] } }>).flatMap((k) => k.units.buckets.map((u) => total(k.key, u)));
    },

    concentrations: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'read');
      const filter = args['filter'] as Args;
      const order = args['order'] === 'DESC' ? 'desc' : 'asc';
      const filters = [
        ...(await tenantFilters(ctx.services.postgres, ctx.auth, { field: 'stationId', map: stationIdsOf })),
        ...term('granularity', filter['granularity']),
        ...term('stationId', filter['stationId']),
        ...term('gas', filter['gas']),
        ...term('siteId', filter['siteId']),
        ...range('periodStartAt', filter['from'], filter['to']),
      ];
      return page(
        ctx,
        ctx.services.indices.concentrations,
        filters,
        [['periodStartAt', order], ['stationId', 'asc'], ['gas', 'asc']],
        args,
        1000,
        (c: RecordTypes['Concentration']) => concentrationNode(c),
      );
    },

    footprint: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'read');
      // A footprint sums every register of the organisation: a token limited to groups would see others' figures.
      if (ctx.auth.accessGroupIds !== null) throw forbidden('the footprint covers the whole organisation; this token is limited to access groups');
      const filter = args['filter'] as Args;
      for (const key of ['from', 'to'] as const) {
        if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(String(filter[key]))) throw badInput(`filter.${key}`, 'expected a month as YYYY-MM');
      }
      const response = await search<RecordTypes['Footprint']>(ctx, ctx.services.indices.footprint, {
        size: 1000,
        query: {
          bool: {
            filter: [
              { term: { organisationId: ctx.auth.organisationId } },
              { range: { month: { gte: filter['from'], lte: filter['to'] } } },
              ...term('scope', filter['scope']),
            ],
          },
        },
        sort: [{ month: { order: 'asc' } }, { scope: { order: 'asc' } }],
      });
      return response.hits.hits.flatMap((hit) => (hit._source ? [footprintNode(hit._source)] : []));
    },

    alerts: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'read');
      const filter = (args['filter'] as Args | null) ?? {};
      const filters = [
        ...(await tenantFilters(ctx.services.postgres, ctx.auth, { field: 'deviceId' })),
        ...term('deviceId', filter['deviceId']),
        ...term('siteId', filter['siteId']),
        ...terms('kind', filter['kind']),
        ...terms('severity', filter['severity']),
        ...terms('state', filter['state']),
        ...range('updatedAt', filter['from'], filter['to']),
      ];
      const open = filter['open'];
      const query: Query =
        open === true
          ? { bool: { filter: filters, must_not: [{ exists: { field: 'clearedAt' } }] } }
          : open === false
            ? { bool: { filter: [...filters, { exists: { field: 'clearedAt' } }] } }
            : { bool: { filter: filters } };
      const size = pageSize(args['first'], 500);
      const after = decodePosition(args['after'], 2);
      const response = await search<RecordTypes['Alert']>(ctx, ctx.services.indices.alerts, {
        size: size + 1,
        query,
        sort: [{ updatedAt: { order: 'desc' } }, { alertId: { order: 'asc' } }],
        ...(after ? { search_after: after } : {}),
      });
      const hits = response.hits.hits.filter((hit) => hit._source !== undefined);
      const acks = await acknowledgements(ctx, hits.map((hit) => hit._source!.alertId));
      const rows = hits.map((hit) => ({ node: alertNode(withAcknowledgement(hit._source!, acks.get(hit._source!.alertId))), sort: hit.sort ?? [] }));
      const result = connection(rows, size, (row) => encodePosition(row.sort as Array<string | number>));
      return { ...result, edges: result.edges.map((edge) => ({ cursor: edge.cursor, node: edge.node.node })) };
    },

    rejectedInput: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'read');
      const filter = (args['filter'] as Args | null) ?? {};
      // Dead letters carry no organisation: only those of the caller's visible devices are shown.
      const filters = [
        ...(await tenantFilters(ctx.services.postgres, ctx.auth, { field: 'deviceId' }, false)),
        ...term('reasonCode', filter['reasonCode']),
        ...term('stage', filter['stage']),
        ...term('deviceId', filter['deviceId']),
        ...range('failedAt', filter['from'], filter['to']),
      ];
      return page(ctx, ctx.services.indices.rejects, filters, [['failedAt', 'desc'], ['deadLetterId', 'asc']], args, 500, (d: RejectDocument) => rejectNode(d));
    },

    mapFeatures: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'read');
      const box = args['box'] as { south: number; west: number; north: number; east: number };
      if (box.south > box.north) throw badInput('box', 'south must not be north of north');
      if ([box.south, box.north].some((v) => v < -90 || v > 90) || [box.west, box.east].some((v) => v < -180 || v > 180)) {
        throw badInput('box', 'latitudes must be within -90..90 and longitudes within -180..180');
      }
      const params: unknown[] = [box.south, box.north, box.west, box.east];
      // A box across the antimeridian has west > east.
      const longitude = box.west <= box.east ? 's.longitude BETWEEN $3 AND $4' : '(s.longitude >= $3 OR s.longitude <= $4)';
      const { rows } = await ctx.services.postgres.query(
        `SELECT ${DEVICE_COLUMNS}, s.latitude AS site_latitude, s.longitude AS site_longitude
           FROM devices d JOIN sites s ON s.id = d.site_id
          WHERE s.latitude BETWEEN $1 AND $2 AND ${longitude} AND ${deviceVisible(ctx.auth, 'd', params)}
            ${args['stationsOnly'] ? 'AND d.station_id IS NOT NULL' : ''}
          ORDER BY d.id LIMIT 500`,
        params,
      );
      if (rows.length === 0) return [];
      const response = await search<never>(ctx, ctx.services.indices.readings, {
        size: 0,
        query: { bool: { filter: [{ term: { organisationId: ctx.auth.organisationId } }, { terms: { deviceId: rows.map((r) => r.id) } }] } },
        aggs: {
          devices: {
            terms: { field: 'deviceId', size: rows.length },
            aggs: {
              registers: {
                terms: { field: 'registerKey', size: 50 },
                aggs: { latest: { top_hits: { size: 1, sort: [{ observedAt: { order: 'desc' } }] } } },
              },
            },
          },
        },
      });
      type Latest = { key: string; registers: { buckets: Array<{ latest: { hits: { hits: Array<{ _source: RecordTypes['Reading'] }> } } }> } };
      const latest = new Map<string, RecordTypes['Reading'][]>();
      for (const bucket of (response.aggregations?.['devices'] as { buckets: Latest[] } | undefined)?.buckets ?? []) {
        latest.set(bucket.key, bucket.registers.buckets.flatMap((r) => r.latest.hits.hits.map((h) => h._source)));
      }
      return rows.map((row) => ({
        device: deviceNode(row),
        latitude: row.site_latitude,
        longitude: row.site_longitude,
        station: row.station_id !== null,
        latest: (latest.get(row.id) ?? []).sort((a, b) => (a.registerKey < b.registerKey ? -1 : 1)).map(readingNode),
      }));
    },
  },
};
