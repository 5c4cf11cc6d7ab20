/**
 * Test data for the API: records shaped like the pipeline's, and Elasticsearch indices under the
 * harness prefix with the field types the indexing worker's mappings give them (keywords, epoch
 * dates, decimals with a `double` twin), so queries run as they do against the real aliases.
 */
import type { Client } from '@elastic/elasticsearch';
import { SAMPLE_RECORDS } from '../../schemas/avro/samples.js';
import type { RecordTypes } from '../../schemas/avro/index.js';
import type { IndexNames, IndexType } from '../elasticsearch/indices.js';

/** Creates one index per type, named as the alias the API reads. */
export async function createTestIndices(client: Client, names: IndexNames, types: readonly IndexType[]): Promise<void> {
  for (const type of types) {
    await client.indices.create({
      index: names[type],
      mappings: {
        dynamic_templates: [
          { times: { match: '*At', mapping: { type: 'date', format: 'epoch_millis||strict_date_optional_time' } } },
          { decimals: { match_pattern: 'regex', match: '^(delta|startValue|endValue|emissionsKgCo2e)$', mapping: { type: 'keyword', fields: { double: { type: 'double' } } } } },
          { strings: { match_mapping_type: 'string', mapping: { type: 'keyword' } } },
        ],
        properties: { details: { type: 'flattened' }, originalHeaders: { type: 'object', enabled: false }, originalValue: { type: 'binary' }, originalKey: { type: 'binary' } },
      },
    });
  }
}

/** Indexes documents and makes them searchable at once. */
export async function indexDocuments(client: Client, index: string, documents: ReadonlyArray<{ id: string; body: object }>): Promise<void> {
  if (documents.length === 0) return;
  const operations = documents.flatMap((d) => [{ index: { _index: index, _id: d.id } }, d.body]);
  const result = await client.bulk({ operations, refresh: 'wait_for' });
  if (result.errors) throw new Error(`indexing failed: ${JSON.stringify(result.items.find((i) => i.index?.error))}`);
}

/** A reading of `deviceId` in `organisationId`. */
export function reading(organisationId: string, deviceId: string, observedAt: number, value: number, extra: Partial<RecordTypes['Reading']> = {}): RecordTypes['Reading'] {
  const uplinkId = `${deviceId}-${observedAt}`;
  return {
    ...SAMPLE_RECORDS.Reading,
    readingId: `${uplinkId}:0`,
    uplinkId,
    deviceId,
    organisationId,
    siteId: null,
    value,
    originalValue: value,
    observedAt,
    receivedAt: observedAt,
    qualityFlags: [],
    ...extra,
  };
}

/** An open alert of `deviceId`. */
export function alert(organisationId: string, deviceId: string, raisedAt: number, extra: Partial<RecordTypes['Alert']> = {}): RecordTypes['Alert'] {
  return {
    ...SAMPLE_RECORDS.Alert,
    alertId: `CONTINUOUS_FLOW|${deviceId}|volume`,
    deviceId,
    organisationId,
    siteId: null,
    raisedAt,
    updatedAt: raisedAt,
    ...extra,
  };
}

/** A daily consumption result. */
export function consumption(organisationId: string, deviceId: string, periodStartAt: number, delta: string, extra: Partial<RecordTypes['Consumption']> = {}): RecordTypes['Consumption'] {
  return {
    ...SAMPLE_RECORDS.Consumption,
    registerId: `${deviceId}/volume`,
    deviceId,
    registerKey: 'volume',
    organisationId,
    siteId: null,
    granularity: 'DAILY',
    periodStartAt,
    periodEndAt: periodStartAt + 86_400_000,
    delta,
    open: false,
    ...extra,
  };
}
