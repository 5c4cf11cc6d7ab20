/**
 * The figures `compare` puts side by side, read from Elasticsearch with aggregations over one
 * index generation: readings per UTC day of observation and quantity (count and sum of canonical
 * values) and flagged readings per day and quality flag; alerts per kind; consumption per
 * granularity and local period (count and sum of deltas) and per register and local month;
 * concentrations per granularity, day and
 * gas; footprint per month and scope.
 *
 * Readings and alerts are taken within the replay's receipt window, so the live generation (which
 * holds all history) is compared on the same uplinks as the replay; the other types are compared
 * whole.
 */
import type { Client } from '@elastic/elasticsearch';
import { generationPattern, type IndexNaming, type IndexType } from '../index/index-names.js';
import type { FigureRow } from './compare.js';

/** Receipt times, epoch ms, inclusive. */
export interface Window {
  readonly from: number;
  readonly to: number;
}

interface Bucket {
  readonly key: string | number;
  readonly key_as_string?: string;
  readonly doc_count: number;
  readonly [sub: string]: unknown;
}

const buckets = (agg: unknown): Bucket[] => (agg as { buckets?: Bucket[] } | undefined)?.buckets ?? [];
const sumOf = (agg: unknown): number => (agg as { value?: number | null } | undefined)?.value ?? 0;
const day = (b: Bucket): string => b.key_as_string ?? new Date(Number(b.key)).toISOString().slice(0, 10);

const UTC_DAY = { calendar_interval: 'day', format: 'yyyy-MM-dd', time_zone: 'UTC', min_doc_count: 1 } as const;
/** More distinct quantities, flags, kinds or periods than anyone keeps. */
const MANY = 1000;

async function aggregate(client: Client, index: string, query: object, aggs: Record<string, unknown>): Promise<Record<string, unknown>> {
  const result = await client.search({
    index,
    size: 0,
    query,
    aggs: aggs as never,
    ignore_unavailable: true,
    allow_no_indices: true,
    track_total_hits: false,
  });
  return (result.aggregations ?? {}) as Record<string, unknown>;
}

const inWindow = (field: string, window: Window | undefined): object =>
  window === undefined ? { match_all: {} } : { range: { [field]: { gte: window.from, lte: window.to, format: 'epoch_millis' } } };

/** The figures of `types` in one generation. */
export async function readFigures(client: Client, naming: IndexNaming, types: readonly IndexType[], window: Window | undefined): Promise<FigureRow[]> {
  const rows: FigureRow[] = [];
  const index = (type: IndexType): string => generationPattern(naming, type);
  if (types.includes('readings')) {
    const aggs = await aggregate(client, index('readings'), inWindow('receivedAt', window), {
      day: {
        date_histogram: { field: 'observedAt', ...UTC_DAY },
        aggs: {
          quantity: { terms: { field: 'quantity', size: MANY }, aggs: { total: { sum: { field: 'value' } } } },
          flag: { terms: { field: 'qualityFlags', size: MANY } },
        },
      },
    });
    for (const d of buckets(aggs['day'])) {
      for (const q of buckets(d['quantity'])) rows.push({ family: 'readings', period: day(d), dimension: String(q.key), count: q.doc_count, total: sumOf(q['total']) });
      for (const f of buckets(d['flag'])) rows.push({ family: 'readings.flagged', period: day(d), dimension: String(f.key), count: f.doc_count, total: null });
    }
  }
  if (types.includes('alerts')) {
    const aggs = await aggregate(client, index('alerts'), inWindow('raisedAt', window), { kind: { terms: { field: 'kind', size: MANY } } });
    for (const k of buckets(aggs['kind'])) rows.push({ family: 'alerts', period: 'all', dimension: String(k.key), count: k.doc_count, total: null });
  }
  if (types.includes('devices')) {
    const aggs = await aggregate(client, index('devices'), inWindow('lastSeenAt', window), { status: { terms: { field: 'status', size: MANY } } });
    for (const s of buckets(aggs['status'])) rows.push({ family: 'devices', period: 'all', dimension: String(s.key), count: s.doc_count, total: null });
  }
  if (types.includes('consumption')) {
    const aggs = await aggregate(client, index('consumption'), { match_all: {} }, {
      granularity: {
        terms: { field: 'granularity', size: MANY },
        aggs: { period: { terms: { field: 'localPeriod', size: 100_000 }, aggs: { total: { sum: { field: 'delta.double' } } } } },
      },
    });
    for (const g of buckets(aggs['granularity'])) {
      for (const p of buckets(g['period'])) {
        rows.push({ family: `consumption.${String(g.key).toLowerCase()}`, period: String(p.key), dimension: 'all', count: p.doc_count, total: sumOf(p['total']) });
      }
    }
    rows.push(...(await registerMonths(client, index('consumption'))));
  }
  if (types.includes('concentrations')) {
    const aggs = await aggregate(client, index('concentrations'), { match_all: {} }, {
      granularity: {
        terms: { field: 'granularity', size: MANY },
        aggs: { day: { date_histogram: { field: 'periodStartAt', ...UTC_DAY }, aggs: { gas: { terms: { field: 'gas', size: MANY } } } } },
      },
    });
    for (const g of buckets(aggs['granularity'])) {
      for (const d of buckets(g['day'])) {
        for (const gas of buckets(d['gas'])) {
          rows.push({ family: `concentrations.${String(g.key).toLowerCase()}`, period: day(d), dimension: String(gas.key), count: gas.doc_count, total: null });
        }
      }
    }
  }
  if (types.includes('footprint')) {
    const aggs = await aggregate(client, index('footprint'), { match_all: {} }, {
      month: { terms: { field: 'month', size: 100_000 }, aggs: { scope: { terms: { field: 'scope', size: MANY } } } },
    });
    for (const m of buckets(aggs['month'])) {
      for (const s of buckets(m['scope'])) rows.push({ family: 'footprint', period: String(m.key), dimension: String(s.key), count: s.doc_count, total: null });
    }
  }
  return rows;
}

/** Register-months per page of the composite aggregation. */
const PAGE = 1000;

/**
 * Monthly consumption per local month and register (count of records and sum of deltas), paged
 * with a composite aggregation: a fleet has more register-months than one terms aggregation may
 * return.
 */
async function registerMonths(client: Client, index: string): Promise<FigureRow[]> {
  const rows: FigureRow[] = [];
  let after: Record<string, unknown> | undefined;
  for (;;) {
    const aggs = await aggregate(client, index, { term: { granularity: 'MONTHLY' } }, {
      months: {
        composite: {
          size: PAGE,
          sources: [{ period: { terms: { field: 'localPeriod' } } }, { register: { terms: { field: 'registerId' } } }],
          ...(after === undefined ? {} : { after }),
        },
        aggs: { total: { sum: { field: 'delta.double' } } },
      },
    });
    const page = aggs['months'] as { buckets?: Array<{ key: { period: string; register: string }; doc_count: number; total: unknown }>; after_key?: Record<string, unknown> } | undefined;
    for (const b of page?.buckets ?? []) {
      rows.push({ family: 'consumption.register-month', period: b.key.period, dimension: b.key.register, count: b.doc_count, total: sumOf(b.total) });
    }
    if ((page?.buckets?.length ?? 0) < PAGE || page?.after_key === undefined) return rows;
    after = page.after_key;
  }
}

/**
 * The receipt window of a generation's readings (earliest and latest `receivedAt`); undefined when
 * it has none.
 */
export async function readingsWindow(client: Client, naming: IndexNaming): Promise<Window | undefined> {
  const aggs = await aggregate(client, generationPattern(naming, 'readings'), { match_all: {} }, {
    from: { min: { field: 'receivedAt' } },
    to: { max: { field: 'receivedAt' } },
  });
  const from = (aggs['from'] as { value: number | null } | undefined)?.value ?? null;
  const to = (aggs['to'] as { value: number | null } | undefined)?.value ?? null;
  return from === null || to === null ? undefined : { from, to };
}
