/**
 * The topic catalogue: every topic meterflux writes, declared once. Broker set-up creates topics
 * from it, producers take record type and key from it, consumers find each topic's dead-letter
 * topic in it. The contract it implements is schemas/avro/README.md.
 */
import type { RecordName } from '../schemas/avro/index.js';
import type { RecordTypes } from '../schemas/avro/index.js';

/** `delete` keeps a time window (events); `compact` keeps the latest value per key (state, results). */
export type CleanupPolicy = 'delete' | 'compact';

const DAY_MS = 24 * 60 * 60 * 1000;

/** One topic: name, record, key, partitions, policy and where its undecodable records go. */
export interface TopicSpec<R extends RecordName = RecordName> {
  /** Full topic name, prefix included. */
  readonly name: string;
  /** The record every value of this topic is (schemas/avro/<record>.avsc). */
  readonly record: R;
  /** The value's schema-registry subject (TopicNameStrategy). */
  readonly subject: string;
  /** What the key is, for people (schemas/avro/README.md has the exact formats). */
  readonly keyDescription: string;
  /**
   * The record's key; keys are plain UTF-8 strings. (Method syntax on purpose: a spec of one record
   * must be usable where a spec of any record is expected.)
   */
  keyOf(value: RecordTypes[R]): string | null;
  readonly partitions: number;
  readonly cleanupPolicy: CleanupPolicy;
  /** Broker-side topic configs besides the cleanup policy. */
  readonly configs: Readonly<Record<string, string>>;
  /** The dead-letter topic for values of this topic that cannot be used; absent on DLQs themselves. */
  readonly dlq?: string;
}

/** Options of {@link createTopicCatalogue}. */
export interface CatalogueOptions {
  /**
   * Prepended to every name, e.g. `it-3f9a.` in an integration test, so tests never share topics.
   * @default ''
   */
  readonly prefix?: string;
  /**
   * Partitions of every topic; the upper bound of worker parallelism.
   * @default 12
   */
  readonly partitions?: number;
}

/** The catalogue: each data topic by its logical name, and every topic including the DLQs. */
export interface TopicCatalogue {
  readonly rawUplinks: TopicSpec<'RawUplink'>;
  readonly readings: TopicSpec<'Reading'>;
  readonly devices: TopicSpec<'Device'>;
  readonly consumptionDaily: TopicSpec<'Consumption'>;
  readonly consumptionMonthly: TopicSpec<'Consumption'>;
  readonly concentrationHourly: TopicSpec<'Concentration'>;
  readonly concentrationDaily: TopicSpec<'Concentration'>;
  readonly footprintMonthly: TopicSpec<'Footprint'>;
  /**
   * Internal to the footprint worker: monthly consumption re-keyed by organisation, so one
   * organisation's registers meet on one partition (streams/footprint/README.md).
   */
  readonly footprintConsumption: TopicSpec<'Consumption'>;
  readonly alerts: TopicSpec<'Alert'>;
  /** Every topic, data topics and their dead-letter topics, in creation order. */
  readonly all: readonly TopicSpec[];
  /** The spec whose full name is `name`. */
  byName(name: string): TopicSpec | undefined;
  /** The dead-letter topic of a data topic. */
  dlqOf(topic: TopicSpec): TopicSpec<'DeadLetter'>;
}

const iso = (epochMs: number): string => new Date(epochMs).toISOString();

/** Key of a dead letter: the key of the record it replaces, so it lands on the same partition. */
const deadLetterKey = (value: RecordTypes['DeadLetter']): string | null =>
  value.originalKey === null ? null : value.originalKey.toString('utf8');

const registerPeriodKey = (v: RecordTypes['Consumption']): string => `${v.registerId}|${iso(v.periodStartAt)}`;
const stationPeriodKey = (v: RecordTypes['Concentration']): string =>
  `${v.stationId}|${v.gas}|${iso(v.periodStartAt)}`;

/**
 * Builds the catalogue. Names follow `domain.entity.vN`; every data topic has a dead-letter topic
 * `<topic>.dlq` with the same retention (the design page names the two the decoder writes; the
 * others take what downstream workers cannot decode).
 */
export function createTopicCatalogue(options: CatalogueOptions = {}): TopicCatalogue {
  const prefix = options.prefix ?? '';
  const partitions = options.partitions ?? 12;

  function spec<R extends RecordName>(
    name: string,
    record: R,
    keyDescription: string,
    keyOf: (value: RecordTypes[R]) => string | null,
    cleanupPolicy: CleanupPolicy,
    configs: Record<string, string>,
  ): TopicSpec<R> {
    const full = prefix + name;
    return {
      name: full,
      record,
      subject: `${full}-value`,
      keyDescription,
      keyOf,
      partitions,
      cleanupPolicy,
      configs: { 'cleanup.policy': cleanupPolicy, ...configs },
      ...(record === 'DeadLetter' ? {} : { dlq: `${full}.dlq` }),
    };
  }

  const retention = (days: number | 'forever') => ({
    'retention.ms': days === 'forever' ? '-1' : String(days * DAY_MS),
  });
  // Results keep their latest revision per key; compaction runs often enough for development disks.
  const compacted = { 'min.cleanable.dirty.ratio': '0.1', 'segment.ms': String(DAY_MS), 'retention.ms': '-1' };

  const data = {
    // The replay source: raw input is kept until an operator decides otherwise.
    rawUplinks: spec('uplink.raw.v1', 'RawUplink', 'deviceId (transport id)', (v) => v.deviceId, 'delete',
      retention('forever')),
    readings: spec('reading.v1', 'Reading', 'deviceId', (v) => v.deviceId, 'delete', retention(90)),
    devices: spec('device.v1', 'Device', 'deviceId', (v) => v.deviceId, 'compact', compacted),
    consumptionDaily: spec('consumption.daily.v1', 'Consumption', 'registerId|periodStartAt',
      registerPeriodKey, 'compact', compacted),
    consumptionMonthly: spec('consumption.monthly.v1', 'Consumption', 'registerId|periodStartAt',
      registerPeriodKey, 'compact', compacted),
    concentrationHourly: spec('concentration.hourly.v1', 'Concentration', 'stationId|gas|periodStartAt',
      stationPeriodKey, 'compact', compacted),
    concentrationDaily: spec('concentration.daily.v1', 'Concentration', 'stationId|gas|periodStartAt',
      stationPeriodKey, 'compact', compacted),
    footprintMonthly: spec('footprint.monthly.v1', 'Footprint', 'organisationId|month|scope',
      (v) => `${v.organisationId}|${v.month}|${v.scope}`, 'compact', compacted),
    // A repartition topic: its records are consumed once, so it keeps a week for restarts and replays.
    footprintConsumption: spec('footprint.consumption-by-organisation.v1', 'Consumption', 'organisationId',
      (v) => v.organisationId, 'delete', retention(7)),
    alerts: spec('alert.v1', 'Alert', 'deviceId', (v) => v.deviceId, 'delete', retention(365)),
  };

  const dlqs = new Map<string, TopicSpec<'DeadLetter'>>();
  const all: TopicSpec[] = [];
  for (const topic of Object.values(data) as TopicSpec[]) {
    // Dead letters live as long as the input they stand for: a raw uplink's bytes must survive to be re-driven.
    const dlq = spec(`${topic.name.slice(prefix.length)}.dlq`, 'DeadLetter', 'as the input record', deadLetterKey,
      'delete', { 'retention.ms': topic.configs['retention.ms'] ?? '-1' });
    dlqs.set(topic.name, dlq);
    all.push(topic, dlq);
  }
  const byName = new Map(all.map((t) => [t.name, t]));
  return {
    ...data,
    all,
    byName: (name) => byName.get(name),
    dlqOf(topic) {
      const dlq = dlqs.get(topic.name);
      if (!dlq) throw new Error(`${topic.name} is not a data topic of this catalogue`);
      return dlq;
    },
  };
}

/**
 * The changelog topic of a stateful worker's store: compacted, keyed by state key. Not part of
 * {@link TopicCatalogue.all} because each worker declares its own when it starts.
 */
export function changelogTopicName(worker: string, prefix = ''): string {
  return `${prefix}${worker}.changelog.v1`;
}
