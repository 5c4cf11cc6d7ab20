/**
 * Latency of typical analyst queries through the API over ten million readings, against the same
 * Elasticsearch request sent raw with the ES client, in the same run.
 *
 * The data set (bench/graphql-query-data.ts) lives in bench-prefixed indices built with the
 * indexing worker's templates and is kept between runs. For a run, the harness's read aliases
 * (`{harness prefix}readings`, `…consumption`) are pointed at it, so the API reads it exactly as
 * it reads production aliases; they are removed at the end. Queries, each sent one at a time over
 * varying devices, sites and months:
 *
 * - the readings of one register over a month, every page of 100 through cursors (one sample per page);
 * - a histogram by day over a site for a month (count, min, max, avg, last);
 * - the year's consumption totals of the organisation.
 *
 * The raw baseline sends the request body the resolver builds (same filters, sort, page size and
 * `search_after`, same aggregations) through the same ES client; the difference is the API's own
 * cost: HTTP, GraphQL parsing, validation, authentication, the tenant filter and result shaping.
 * The table shows 1 ÷ p99 so the ratio reads like the others; p50 and p99 are in the row's name.
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import { startApiHarness } from '../graphql/testing/harness.js';
import { ensureQueryData, type QueryData, type QueryDataShape } from './graphql-query-data.js';
import { median, percentile, type BenchResult } from './lib/measure.js';

/** Sizes of one benchmark; the defaults are what `make bench` runs. */
export interface GraphqlQueriesBenchOptions {
  /** @default { readings: 10_000_000, devices: 1000, devicesPerSite: 10 } */
  readonly shape?: QueryDataShape;
  /** Queries of each kind per repeat (pages for the readings walk: walks × pages). @default 30 */
  readonly samples?: number;
  /** @default 3 */
  readonly repeats?: number;
  /** Hears progress (loading takes minutes). @default stderr */
  readonly progress?: (line: string) => void;
}

const PAGE = 100;
const READINGS = `query Readings($f: ReadingFilter!, $after: String) {
  readings(filter: $f, order: ASC, first: ${PAGE}, after: $after) {
    edges { node { observedAt value unit } } pageInfo { hasNextPage endCursor }
  }
}`;
const HISTOGRAM = `query Histogram($f: ReadingFilter!) { readingHistogram(filter: $f, interval: DAY) { start count min max avg last } }`;
const TOTALS = `query Totals($f: ConsumptionFilter!) { consumptionTotals(filter: $f, groupBy: ORGANISATION) { key unit delta periods finalPeriods } }`;

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** One timed sample of a query, and the raw sample of the same request. */
interface Timings {
  api: number[];
  raw: number[];
}

async function timed<T>(into: number[], run: () => Promise<T>): Promise<T> {
  const started = nowMs();
  const result = await run();
  into.push(nowMs() - started);
  return result;
}

/** Runs the benchmark; one result per query. */
export async function benchGraphqlQueries(options: GraphqlQueriesBenchOptions = {}): Promise<BenchResult[]> {
  const shape = options.shape ?? { readings: 10_000_000, devices: 1000, devicesPerSite: 10 };
  const samples = options.samples ?? 30;
  const repeats = options.repeats ?? 3;
  const progress = options.progress ?? ((line: string) => process.stderr.write(`graphql queries: ${line}\n`));
  const harness = await startApiHarness({ label: 'bench-queries' });
  const es: Client = harness.api.services.elasticsearch;
  const aliases = harness.api.services.indices;
  try {
    const data = await ensureQueryData(es, shape, progress);
    const { prefix } = data.naming;
    await es.indices.updateAliases({
      actions: [
        { add: { index: `${prefix}readings-v1-*`, alias: aliases.readings } },
        { add: { index: `${prefix}consumption-v1*`, alias: aliases.consumption } },
      ],
    });
    await harness.db.query('INSERT INTO organisations (id, name) VALUES ($1, $2)', [data.organisationId, 'Bench organisation']);
    const { secret } = await harness.token(data.organisationId, ['read']);
    const gql = async (query: string, variables: Record<string, unknown>): Promise<Record<string, unknown>> => {
      const { body } = await harness.query<Record<string, unknown>>(secret, query, variables);
      if (body.errors) throw new Error(`query failed: ${JSON.stringify(body.errors)}`);
      return body.data as Record<string, unknown>;
    };

    const names = {
      readings: `readings of one register over a month, pages of ${PAGE} through cursors`,
      histogram: 'histogram by day over a site (a month)',
      totals: 'consumption totals of the organisation (a year of daily results)',
    };
    const p50 = { readings: { api: [] as number[], raw: [] as number[] }, histogram: { api: [] as number[], raw: [] as number[] }, totals: { api: [] as number[], raw: [] as number[] } };
    const p99 = structuredClone(p50);

    for (let run = 0; run < repeats; run += 1) {
      const t = { readings: { api: [], raw: [] } as Timings, histogram: { api: [], raw: [] } as Timings, totals: { api: [], raw: [] } as Timings };
      for (let s = 0; s < samples; s += 1) {
        const i = run * samples + s;
        const month = i % 12;
        const [from, to] = [data.months[month]!, data.months[month + 1]!];
        await walkReadings(data, es, aliases.readings, gql, t.readings, data.deviceIds[(i * 37) % data.deviceIds.length]!, from, to);
        const site = data.siteIds[(i * 13) % data.siteIds.length]!;
        const api = (await timed(t.histogram.api, () => gql(HISTOGRAM, { f: { siteId: site, from, to } })))['readingHistogram'] as unknown[];
        const raw = await timed(t.histogram.raw, () => es.search(histogramBody(data, aliases.readings, site, from, to)));
        if (api.length !== (raw.aggregations?.['buckets'] as { buckets: unknown[] }).buckets.length) throw new Error('histogram: the API and ES disagree on the bucket count');
        await timed(t.totals.api, () => gql(TOTALS, { f: { granularity: 'DAILY', from: data.months[0], to: data.months[12] } }));
        await timed(t.totals.raw, () => es.search(totalsBody(data, aliases.consumption)));
      }
      for (const kind of ['readings', 'histogram', 'totals'] as const) {
        for (const side of ['api', 'raw'] as const) {
          p50[kind][side].push(percentile(t[kind][side], 50));
          p99[kind][side].push(percentile(t[kind][side], 99));
        }
      }
    }
    const readingsTotal = data.counts.readings.toLocaleString('en');
    return (['readings', 'histogram', 'totals'] as const).map((kind) => {
      const [a50, a99, r50, r99] = [median(p50[kind].api), median(p99[kind].api), median(p50[kind].raw), median(p99[kind].raw)];
      return {
        name: `${names[kind]} over ${readingsTotal} readings: p50 ${a50.toFixed(1)} / p99 ${a99.toFixed(1)} ms (raw ES p50 ${r50.toFixed(1)} / p99 ${r99.toFixed(1)} ms)`,
        subject: 1000 / a99,
        baseline: 1000 / r99,
        baselineName: 'the same ES request, raw client',
        unit: '÷ p99 (1/s)',
      };
    });
  } finally {
    await es.indices.deleteAlias({ index: '_all', name: [aliases.readings, aliases.consumption] }).catch(() => undefined);
    await harness.stop();
  }
}

/** Every page of one register's month, through the API and then raw, one sample per page each. */
async function walkReadings(
  data: QueryData,
  es: Client,
  index: string,
  gql: (query: string, variables: Record<string, unknown>) => Promise<Record<string, unknown>>,
  into: Timings,
  deviceId: string,
  from: number,
  to: number,
): Promise<void> {
  const filter = { deviceId, registerKey: 'volume', from, to };
  let after: string | null = null;
  let apiRows = 0;
  do {
    const page = (await timed(into.api, () => gql(READINGS, { f: filter, after })))['readings'] as { edges: unknown[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
    apiRows += page.edges.length;
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after !== null);
  let searchAfter: estypes.SortResults | undefined;
  let rawRows = 0;
  for (;;) {
    const response = await timed(into.raw, () =>
      es.search({
        index,
        size: PAGE + 1,
        query: { bool: { filter: [{ term: { organisationId: data.organisationId } }, { term: { deviceId } }, { term: { registerKey: 'volume' } }, { range: { observedAt: { gte: from, lt: to } } }] } },
        sort: [{ observedAt: { order: 'asc' } }, { readingId: { order: 'asc' } }],
        ...(searchAfter ? { search_after: searchAfter } : {}),
      }),
    );
    const hits = response.hits.hits;
    rawRows += Math.min(hits.length, PAGE);
    if (hits.length <= PAGE) break;
    searchAfter = hits[PAGE - 1]!.sort;
  }
  if (apiRows !== rawRows) throw new Error(`readings of ${deviceId}: the API paged through ${apiRows}, ES through ${rawRows}`);
}

function histogramBody(data: QueryData, index: string, siteId: string, from: number, to: number): estypes.SearchRequest {
  return {
    index,
    size: 0,
    query: { bool: { filter: [{ term: { organisationId: data.organisationId } }, { term: { siteId } }, { range: { observedAt: { gte: from, lt: to } } }] } },
    aggs: {
      buckets: {
        date_histogram: { field: 'observedAt', fixed_interval: '1d', min_doc_count: 0, extended_bounds: { min: from, max: to - 1 } },
        aggs: {
          min: { min: { field: 'value' } },
          max: { max: { field: 'value' } },
          avg: { avg: { field: 'value' } },
          last: { top_hits: { size: 1, _source: ['value'], sort: [{ observedAt: { order: 'desc' } }, { readingId: { order: 'desc' } }] } },
        },
      },
    },
  };
}

function totalsBody(data: QueryData, index: string): estypes.SearchRequest {
  return {
    index,
    size: 0,
    query: {
      bool: {
        filter: [{ term: { organisationId: data.organisationId } }, { term: { open: false } }, { term: { granularity: 'DAILY' } }, { range: { periodStartAt: { gte: data.months[0]!, lt: data.months[12]! } } }],
      },
    },
    aggs: { units: { terms: { field: 'unit', size: 50 }, aggs: { delta: { sum: { field: 'delta.double' } }, final: { filter: { term: { status: 'FINAL' } } } } } },
  };
}
