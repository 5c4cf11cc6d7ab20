/**
 * The explicit Elasticsearch mapping of every indexed record type.
 *
 * Decisions, and why:
 * - `dynamic: strict` at the root. Documents are the Avro records themselves (the `.avsc` files are
 *   the only record model, and `mappings.test.ts` fails when a schema field has no mapping), so an
 *   unmapped field can only be a bug or a schema change deployed without its mapping. Strict turns
 *   that into a per-item failure that is dead-lettered with Elasticsearch's message, where
 *   `dynamic: false` would keep indexing while the field silently stays unsearchable.
 *   The open-ended maps (`Alert.details`, `DeadLetter.details`) are `flattened`, which takes any
 *   key without growing the mapping.
 * - Times are `date` in epoch milliseconds, as the records carry them; queries may also use ISO-8601.
 * - Ids, enums, units and other exact strings are `keyword`; the two human sentences
 *   (`Alert.message`, `DeadLetter.reasonMessage`) are `text`, searchable by word.
 * - Avro `double` is `double`; Avro `int` and `long` are `long`.
 * - Exact decimals (bytes/decimal(38,9), strings such as `"12.500000000"`) are `keyword`, kept exactly
 *   as billed, with a `double` twin as the multi-field `{field}.double` (parsed by Elasticsearch from
 *   the same string) for sums, ranges and sorting: `sum` over `delta.double`, `range` on
 *   `emissionsKgCo2e.double`. The twin is approximate (about 15 significant digits); billing reads
 *   the keyword.
 * - `location` is a `geo_point` on every type tied to a site or station (readings, devices,
 *   consumption, concentrations, alerts). Device documents fill it (`{lat, lon}`) from the position
 *   the device reported, `Device.latitudeDeg`/`longitudeDeg` (documents.ts), and leave it out while
 *   there is none; the two coordinates stay in the document as `double` too. The other types carry
 *   no coordinates yet (their records have none); the field is mapped so that they, or the
 *   registry's site coordinates, can be added without a new index generation.
 * - `Footprint.lines` is `nested`, so a query or aggregation can tie a line's resource to the same
 *   line's emissions.
 * - Dead letters keep their original bytes as base64 `binary` (stored, not indexed), the headers in
 *   a disabled object, and the reason code, message, stage and time searchable.
 */
import type { estypes } from '@elastic/elasticsearch';
import type { IndexType } from './index-names.js';

type Property = estypes.MappingProperty;

const keyword = (): Property => ({ type: 'keyword' });
const text = (): Property => ({ type: 'text' });
const long = (): Property => ({ type: 'long' });
const double = (): Property => ({ type: 'double' });
const boolean = (): Property => ({ type: 'boolean' });
const date = (): Property => ({ type: 'date', format: 'epoch_millis||strict_date_optional_time' });
const decimal = (): Property => ({ type: 'keyword', fields: { double: { type: 'double' } } });
const binary = (): Property => ({ type: 'binary' });
const flattened = (): Property => ({ type: 'flattened' });
const geoPoint = (): Property => ({ type: 'geo_point' });

const READING: Record<string, Property> = {
  readingId: keyword(),
  uplinkId: keyword(),
  deviceId: keyword(),
  registerKey: keyword(),
  organisationId: keyword(),
  siteId: keyword(),
  quantity: keyword(),
  value: double(),
  unit: keyword(),
  originalValue: double(),
  originalUnit: keyword(),
  function: keyword(),
  storageNumber: long(),
  tariff: long(),
  subunit: long(),
  cumulative: boolean(),
  observedAt: date(),
  receivedAt: date(),
  qualityFlags: keyword(),
  decoderVersion: keyword(),
  location: geoPoint(),
};

const DEVICE: Record<string, Property> = {
  deviceId: keyword(),
  organisationId: keyword(),
  siteId: keyword(),
  mbusSecondaryAddress: keyword(),
  devEui: keyword(),
  stationId: keyword(),
  manufacturer: keyword(),
  model: keyword(),
  deviceVersion: long(),
  medium: keyword(),
  status: keyword(),
  change: keyword(),
  firstSeenAt: date(),
  lastSeenAt: date(),
  batteryPercent: double(),
  batteryVolts: double(),
  rssiDbm: double(),
  snrDb: double(),
  latitudeDeg: double(),
  longitudeDeg: double(),
  firmwareVersion: keyword(),
  updatedAt: date(),
  revision: long(),
  location: geoPoint(),
};

const CONSUMPTION: Record<string, Property> = {
  registerId: keyword(),
  deviceId: keyword(),
  registerKey: keyword(),
  organisationId: keyword(),
  siteId: keyword(),
  granularity: keyword(),
  periodStartAt: date(),
  periodEndAt: date(),
  localPeriod: keyword(),
  timeZone: keyword(),
  billingDayStartHour: long(),
  startValue: decimal(),
  endValue: decimal(),
  delta: decimal(),
  unit: keyword(),
  quality: keyword(),
  status: keyword(),
  open: boolean(),
  revision: long(),
  rollovers: long(),
  meterReplacements: long(),
  computedAt: date(),
  location: geoPoint(),
};

const CONCENTRATION: Record<string, Property> = {
  stationId: keyword(),
  organisationId: keyword(),
  siteId: keyword(),
  gas: keyword(),
  granularity: keyword(),
  periodStartAt: date(),
  periodEndAt: date(),
  timeZone: keyword(),
  count: long(),
  expectedCount: long(),
  completeness: double(),
  meanPpm: double(),
  minPpm: double(),
  maxPpm: double(),
  meanMgPerM3: double(),
  minMgPerM3: double(),
  maxMgPerM3: double(),
  meanTemperatureK: double(),
  meanPressurePa: double(),
  co2eMgPerM3: double(),
  gwpSet: keyword(),
  gwp100: double(),
  revision: long(),
  computedAt: date(),
  location: geoPoint(),
};

const FOOTPRINT: Record<string, Property> = {
  organisationId: keyword(),
  month: keyword(),
  periodStartAt: date(),
  periodEndAt: date(),
  scope: keyword(),
  emissionsKgCo2e: decimal(),
  lines: {
    type: 'nested',
    dynamic: 'strict',
    properties: {
      resource: keyword(),
      registerId: keyword(),
      consumption: decimal(),
      consumptionRevision: long(),
      unit: keyword(),
      factorKgCo2ePerUnit: decimal(),
      factorId: keyword(),
      factorSource: keyword(),
      region: keyword(),
      emissionsKgCo2e: decimal(),
    },
  },
  status: keyword(),
  revision: long(),
  computedAt: date(),
};

const ALERT: Record<string, Property> = {
  alertId: keyword(),
  deviceId: keyword(),
  organisationId: keyword(),
  siteId: keyword(),
  kind: keyword(),
  subject: keyword(),
  severity: keyword(),
  state: keyword(),
  message: text(),
  raisedAt: date(),
  updatedAt: date(),
  clearedAt: date(),
  acknowledgedAt: date(),
  acknowledgedBy: keyword(),
  details: flattened(),
  revision: long(),
  location: geoPoint(),
};

const REJECT: Record<string, Property> = {
  deadLetterId: keyword(),
  originalTopic: keyword(),
  originalPartition: long(),
  originalOffset: long(),
  originalKey: binary(),
  originalValue: binary(),
  // Header values are base64 too; kept for a re-drive, never searched.
  originalHeaders: { type: 'object', enabled: false },
  reasonCode: keyword(),
  reasonMessage: text(),
  paths: keyword(),
  stage: keyword(),
  component: keyword(),
  deviceId: keyword(),
  transport: keyword(),
  failedAt: date(),
  attempt: long(),
  details: flattened(),
};

const PROPERTIES: Readonly<Record<IndexType, Record<string, Property>>> = {
  readings: READING,
  devices: DEVICE,
  consumption: CONSUMPTION,
  concentrations: CONCENTRATION,
  footprint: FOOTPRINT,
  alerts: ALERT,
  rejects: REJECT,
};

/** The mapping of every index of `type`, as its index template installs it. */
export function indexMapping(type: IndexType): estypes.MappingTypeMapping {
  return { dynamic: 'strict', properties: PROPERTIES[type] };
}

/**
 * Top-level fields of `type` mapped as `double`. JSON has no NaN or Infinity (the client would send
 * `null`), so the worker refuses such values instead of indexing a silent null.
 */
export function doubleFields(type: IndexType): readonly string[] {
  return Object.entries(PROPERTIES[type])
    .filter(([, property]) => property.type === 'double')
    .map(([name]) => name);
}

/**
 * Settings of every index: one primary shard (readings are split by month, the other types stay
 * small), and a replica whenever a second node exists.
 */
export const INDEX_SETTINGS: estypes.IndicesIndexSettings = {
  number_of_shards: 1,
  auto_expand_replicas: '0-1',
};
