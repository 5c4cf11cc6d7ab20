/**
 * The data set of the analyst query benchmark: synthetic readings (and the daily consumption of
 * the same registers) in a bench-prefixed set of indices built exactly as the indexing worker
 * builds them (its templates, mappings, monthly index names, document ids and read aliases).
 * Loading ten million documents takes minutes, so a data set is kept between runs: its prefix
 * names its size, and it is loaded again only when its indices do not hold the expected counts.
 */
import type { Client } from '@elastic/elasticsearch';
import { SAMPLE_RECORDS } from '../schemas/avro/samples.js';
import type { RecordTypes } from '../schemas/avro/index.js';
import { IndexCreator } from '../streams/index/aliases.js';
import { DOCUMENT_SPECS, toOperation } from '../streams/index/documents.js';
import { readAlias, type IndexNaming } from '../streams/index/index-names.js';
import { ensureIndexTemplates } from '../streams/index/templates.js';

/** The shape of a data set; every figure derives from it, so the same shape means the same data. */
export interface QueryDataShape {
  /** Readings in all. */
  readonly readings: number;
  /** Devices, one `volume` register each, split evenly between the two organisations. */
  readonly devices: number;
  /** Devices per site. */
  readonly devicesPerSite: number;
}

/** The data set in the indices: names and the ids the queries ask for. */
export interface QueryData {
  readonly shape: QueryDataShape;
  readonly naming: IndexNaming;
  /** The organisation the queries run as; the other one's documents are in the same indices. */
  readonly organisationId: string;
  /** Devices and sites of that organisation. */
  readonly deviceIds: readonly string[];
  readonly siteIds: readonly string[];
  /** Start of the year of data (UTC) and its months' starts, 13 of them (the last one ends it). */
  readonly months: readonly number[];
  /** Documents per type, as loaded. */
  readonly counts: { readonly readings: number; readonly consumption: number };
}

const YEAR = 2025;
const DAY_MS = 86_400_000;
const ORGANISATIONS = ['org-bench-a', 'org-bench-b'] as const;
const BULK_DOCS = 5000;
const BULK_CONCURRENCY = 3;

const deviceId = (d: number): string => `mbus:${d.toString(16).padStart(16, '0')}`;
const siteId = (d: number, shape: QueryDataShape): string => `site-bench-${Math.floor(d / shape.devicesPerSite)}`;
/** Even devices belong to the first organisation, so every site has one organisation. */
const organisationOf = (d: number, shape: QueryDataShape): string => ORGANISATIONS[Math.floor(d / shape.devicesPerSite) % 2]!;

/** Index prefix of a shape: one set of indices per shape, kept between runs. */
export function queryDataPrefix(shape: QueryDataShape): string {
  return `bench-q-${shape.readings}r-${shape.devices}d-${shape.devicesPerSite}s.`;
}

function describe(shape: QueryDataShape): QueryData {
  const naming: IndexNaming = { prefix: queryDataPrefix(shape), generation: 1 };
  const months = Array.from({ length: 13 }, (_, m) => Date.UTC(YEAR, m, 1));
  const mine = Array.from({ length: shape.devices }, (_, d) => d).filter((d) => organisationOf(d, shape) === ORGANISATIONS[0]);
  const days = (months[12]! - months[0]!) / DAY_MS;
  return {
    shape,
    naming,
    organisationId: ORGANISATIONS[0],
    deviceIds: mine.map(deviceId),
    siteIds: [...new Set(mine.map((d) => siteId(d, shape)))],
    months,
    counts: { readings: Math.floor(shape.readings / shape.devices) * shape.devices, consumption: shape.devices * days },
  };
}

/** Readings of device `d`, evenly spread over the year, value rising by 0.01 m³ each. */
function* readingsOf(d: number, data: QueryData): Generator<RecordTypes['Reading']> {
  const perDevice = data.counts.readings / data.shape.devices;
  const start = data.months[0]!;
  const step = (data.months[12]! - start) / perDevice;
  const id = deviceId(d);
  const site = siteId(d, data.shape);
  const organisationId = organisationOf(d, data.shape);
  for (let i = 0; i < perDevice; i += 1) {
    const observedAt = Math.floor(start + i * step);
    const uplinkId = `${id}-${observedAt}`;
    const value = Math.round(1000 + i) / 100;
    yield { ...SAMPLE_RECORDS.Reading, readingId: `${uplinkId}:0`, uplinkId, deviceId: id, organisationId, siteId: site, registerKey: 'volume', quantity: 'volume', unit: 'm3', value, originalValue: value, observedAt, receivedAt: observedAt, qualityFlags: [] };
  }
}

/** Daily consumption of device `d` for each day of the year. */
function* consumptionOf(d: number, data: QueryData): Generator<RecordTypes['Consumption']> {
  const id = deviceId(d);
  const base = { ...SAMPLE_RECORDS.Consumption, deviceId: id, registerId: `${id}/volume`, registerKey: 'volume', organisationId: organisationOf(d, data.shape), siteId: siteId(d, data.shape), timeZone: 'UTC', unit: 'm3', quality: 'MEASURED' as const, status: 'FINAL' as const, open: false, revision: 1 };
  for (let day = data.months[0]!, i = 0; day < data.months[12]!; day += DAY_MS, i += 1) {
    const delta = 0.25 + ((d * 7 + i) % 10) / 100;
    yield { ...base, periodStartAt: day, periodEndAt: day + DAY_MS, localPeriod: new Date(day).toISOString().slice(0, 10), startValue: (i * 0.3).toFixed(9), endValue: (i * 0.3 + delta).toFixed(9), delta: delta.toFixed(9), computedAt: day + DAY_MS };
  }
}

async function count(client: Client, index: string): Promise<number> {
  try {
    return (await client.count({ index })).count;
  } catch {
    return -1;
  }
}

async function load<T extends 'readings' | 'consumption'>(client: Client, data: QueryData, type: T, records: (d: number) => Iterable<RecordTypes[T extends 'readings' ? 'Reading' : 'Consumption']>): Promise<void> {
  const spec = DOCUMENT_SPECS[type];
  const creator = new IndexCreator(client, true);
  const alias = readAlias(data.naming.prefix, type);
  const inFlight = new Set<Promise<void>>();
  let operations: Array<Record<string, unknown>> = [];
  const flush = async (): Promise<void> => {
    const body = operations;
    operations = [];
    const response = await client.bulk({ operations: body, refresh: false });
    if (response.errors) throw new Error(`bulk load of ${type} failed: ${JSON.stringify(response.items.find((i) => i.index?.error)?.index?.error)}`);
  };
  for (let d = 0; d < data.shape.devices; d += 1) {
    for (const record of records(d)) {
      const op = toOperation(spec as never, data.naming, record as never);
      await creator.ensure([[op.index, alias]]);
      operations.push({ index: { _index: op.index, _id: op.id, ...(op.version === undefined ? {} : { version: op.version, version_type: 'external_gte' }) } }, op.document as Record<string, unknown>);
      if (operations.length >= BULK_DOCS * 2) {
        const sent = flush();
        inFlight.add(sent);
        void sent.finally(() => inFlight.delete(sent)).catch(() => undefined);
        if (inFlight.size >= BULK_CONCURRENCY) await Promise.race(inFlight);
      }
    }
  }
  if (operations.length > 0) inFlight.add(flush());
  await Promise.all(inFlight);
}

/**
 * Makes sure the data set of `shape` is in Elasticsearch: reuses it when both read aliases hold
 * the expected counts, otherwise deletes whatever is under its prefix and loads it (minutes for
 * ten million readings). `progress` hears what is happening.
 */
export async function ensureQueryData(client: Client, shape: QueryDataShape, progress: (line: string) => void = () => undefined): Promise<QueryData> {
  const data = describe(shape);
  const { prefix } = data.naming;
  const [readings, consumption] = [await count(client, readAlias(prefix, 'readings')), await count(client, readAlias(prefix, 'consumption'))];
  if (readings === data.counts.readings && consumption === data.counts.consumption) {
    progress(`reusing ${prefix}* (${readings.toLocaleString('en')} readings, ${consumption.toLocaleString('en')} consumption results)`);
    return data;
  }
  progress(`loading ${prefix}*: ${data.counts.readings.toLocaleString('en')} readings and ${data.counts.consumption.toLocaleString('en')} consumption results`);
  await client.indices.delete({ index: `${prefix}*`, allow_no_indices: true, ignore_unavailable: true, expand_wildcards: 'all' });
  await ensureIndexTemplates(client, data.naming);
  const started = Date.now();
  await load(client, data, 'readings', (d) => readingsOf(d, data));
  await load(client, data, 'consumption', (d) => consumptionOf(d, data));
  await client.indices.refresh({ index: `${prefix}*` });
  progress(`loaded in ${Math.round((Date.now() - started) / 1000)} s`);
  const loaded = await count(client, readAlias(prefix, 'readings'));
  if (loaded !== data.counts.readings) throw new Error(`expected ${data.counts.readings} readings under ${prefix}, found ${loaded}`);
  return data;
}
