/**
 * How each record type becomes an Elasticsearch document: its deterministic id, its external
 * version, the index it goes to, and the document body. Pure, so the whole table is unit-tested
 * without a cluster.
 *
 * Ids are fixed by the record, never by the time or place it was indexed, so a replay, a retry or a
 * second worker instance writes the same document again instead of a new one:
 *
 * | type | id | write |
 * | --- | --- | --- |
 * | readings | `readingId` | `create` (immutable; a 409 means already indexed) |
 * | devices | `deviceId` | external version = `revision` |
 * | consumption | `{registerId}\|{periodStartAt ISO}\|{granularity}` | external version = `revision` |
 * | concentrations | `{stationId}\|{gas}\|{periodStartAt ISO}\|{granularity}` | external version = `revision` |
 * | footprint | `{organisationId}\|{month}\|{scope}` | external version = `revision` |
 * | alerts | `alertId` | external version = `revision` |
 * | rejects | `deadLetterId` | `create` (immutable) |
 *
 * Documents are the records as they are, except that a device's reported position is also its
 * `location` geo_point (`{lat, lon}`, absent while unknown), and dead letters' bytes are base64.
 *
 * Consumption and concentration ids are the Kafka key plus the granularity: the daily and monthly
 * (hourly and daily) topics share one index, and their periods start at the same instant on the
 * first day of a month (hour of a day), so the key alone would make a monthly result and a daily
 * one fight over one document.
 */
import { BadInputError } from '../../core/errors.js';
import type { RecordName, RecordTypes } from '../../schemas/avro/index.js';
import { monthlyIndex, generationIndex, isMonthly, type IndexNaming, type IndexType } from './index-names.js';
import { doubleFields } from './mappings.js';
import type { IndexOperation } from './bulk.js';

/** Reason code of a record the index stage cannot turn into a document, or Elasticsearch refused. */
export const INDEX_MAPPING_FAILED = 'INDEX_MAPPING_FAILED';

/** How one record type is indexed. */
export interface DocumentSpec<R extends RecordName> {
  readonly type: IndexType;
  readonly record: R;
  /** The deterministic document id. */
  id(value: RecordTypes[R]): string;
  /**
   * The external version (`revision`) for records that are revised; absent for immutable events,
   * which are written once with `op_type: create`.
   */
  readonly version?: (value: RecordTypes[R]) => number;
  /** Event time choosing the monthly index, for monthly types. */
  readonly eventTime?: (value: RecordTypes[R]) => number;
  /** The document body; exactly the fields of the mapping. */
  document(value: RecordTypes[R]): object;
}

/** The record type indexed into each index type. */
export interface RecordOfIndex {
  readings: 'Reading';
  devices: 'Device';
  consumption: 'Consumption';
  concentrations: 'Concentration';
  footprint: 'Footprint';
  alerts: 'Alert';
  rejects: 'DeadLetter';
}

const iso = (epochMs: number): string => new Date(epochMs).toISOString();
const asIs = <T extends object>(value: T): T => value;
const base64 = (bytes: Buffer): string => bytes.toString('base64');

/** Every index type's {@link DocumentSpec}. */
export const DOCUMENT_SPECS: { readonly [T in IndexType]: DocumentSpec<RecordOfIndex[T]> } = {
  readings: {
    type: 'readings',
    record: 'Reading',
    id: (v) => v.readingId,
    eventTime: (v) => v.observedAt,
    document: asIs,
  },
  devices: {
    type: 'devices',
    record: 'Device',
    id: (v) => v.deviceId,
    version: (v) => v.revision,
    document: (v) => (v.latitudeDeg === null || v.longitudeDeg === null ? v : { ...v, location: { lat: v.latitudeDeg, lon: v.longitudeDeg } }),
  },
  consumption: {
    type: 'consumption',
    record: 'Consumption',
    id: (v) => `${v.registerId}|${iso(v.periodStartAt)}|${v.granularity}`,
    version: (v) => v.revision,
    document: asIs,
  },
  concentrations: {
    type: 'concentrations',
    record: 'Concentration',
    id: (v) => `${v.stationId}|${v.gas}|${iso(v.periodStartAt)}|${v.granularity}`,
    version: (v) => v.revision,
    document: asIs,
  },
  footprint: {
    type: 'footprint',
    record: 'Footprint',
    id: (v) => `${v.organisationId}|${v.month}|${v.scope}`,
    version: (v) => v.revision,
    document: asIs,
  },
  alerts: {
    type: 'alerts',
    record: 'Alert',
    id: (v) => v.alertId,
    version: (v) => v.revision,
    document: asIs,
  },
  rejects: {
    type: 'rejects',
    record: 'DeadLetter',
    id: (v) => v.deadLetterId,
    document: (v) => ({
      ...v,
      originalKey: v.originalKey === null ? null : base64(v.originalKey),
      originalValue: base64(v.originalValue),
      originalHeaders: Object.fromEntries(Object.entries(v.originalHeaders).map(([name, value]) => [name, base64(value)])),
    }),
  },
};

/**
 * Builds the bulk operation for one record: target index, id, version and document.
 *
 * @throws {BadInputError} with reason {@link INDEX_MAPPING_FAILED} when the record cannot become a
 *   document: a `double` field that is NaN or infinite (JSON would turn it into null), or a time
 *   that names no index or id (outside the years 0000–9999).
 */
export function toOperation<R extends RecordName>(
  spec: DocumentSpec<R>,
  naming: IndexNaming,
  value: RecordTypes[R],
): IndexOperation {
  const document = spec.document(value);
  for (const field of doubleFieldsOf(spec.type)) {
    const number = (document as Record<string, unknown>)[field];
    if (typeof number === 'number' && !Number.isFinite(number)) {
      throw new BadInputError(`${field}: expected a finite number, got ${number}; JSON cannot carry it and Elasticsearch would store null`, {
        reason: INDEX_MAPPING_FAILED,
        context: { field },
      });
    }
  }
  try {
    const index = isMonthly(spec.type) ? monthlyIndex(naming, spec.type, spec.eventTime!(value)) : generationIndex(naming, spec.type);
    const id = spec.id(value);
    return spec.version ? { index, id, version: spec.version(value), document } : { index, id, document };
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new BadInputError(`${spec.record} has a time that names no index or id: ${err.message}`, {
      reason: INDEX_MAPPING_FAILED,
      cause: err,
    });
  }
}

const doubleFieldCache = new Map<IndexType, readonly string[]>();

function doubleFieldsOf(type: IndexType): readonly string[] {
  let fields = doubleFieldCache.get(type);
  if (!fields) {
    fields = doubleFields(type);
    doubleFieldCache.set(type, fields);
  }
  return fields;
}
