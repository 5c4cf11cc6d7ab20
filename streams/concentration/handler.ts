/**
 * What the concentration worker does with each reading and each due timer. Rules: README.md.
 *
 * A station uplink becomes several readings (gases, then temperature and pressure, …) that share
 * uplinkId and observedAt and arrive in order on one partition, possibly interleaved with other
 * devices' readings and possibly split across batches. The station's state holds the uplink being
 * paired; each gas value becomes a sample once that uplink's temperature and pressure are known.
 */
import type { Concentration, Reading } from '../../schemas/avro/index.js';
import type { TopicCatalogue } from '../../core/topics.js';
import type { WorkerContext, WorkerInput } from '../runtime/stateful-worker.js';
import { GAS_OF_QUANTITY, massConcentration, ZERO_CELSIUS_K, type GwpSet, type StationGas } from './gases.js';
import { dayEnd, dayStart, hourEnd, hourStart } from './periods.js';
import {
  dayKey,
  hourKey,
  type Aggregate,
  type ConcentrationState,
  type GasPeriod,
  type PendingUplink,
  type PeriodBucket,
  type OpenPeriod,
  type StationProfile,
  type StationState,
} from './state.js';

/** Prefix of station device ids (schemas/avro/README.md). */
export const STATION_PREFIX = 'station:';

/** Flags that make a gas value unusable: no plausible value, a device fault, or a time that cannot be placed. */
const BAD_GAS_FLAGS: ReadonlySet<string> = new Set(['OUT_OF_RANGE', 'DEVICE_ERROR', 'CLOCK_IN_FUTURE']);
/** Flags that make a temperature or pressure unusable for the mass conversion. */
const BAD_TP_FLAGS: ReadonlySet<string> = new Set(['OUT_OF_RANGE', 'DEVICE_ERROR']);

/** The rules' parameters (config: CONCENTRATION_*). */
export interface ConcentrationOptions {
  readonly gwpSet: GwpSet;
  /** Reporting interval of a station whose registry row has none, seconds. */
  readonly defaultIntervalS: number;
  /** How far behind a station's newest sample a late sample may be and still count, ms. */
  readonly latenessMs: number;
  /** A station silent (wall clock) this long has its pending uplink finished and its ended periods closed, ms. */
  readonly idleCloseMs: number;
}

/** The registry facts of a station, as loaded for the current batch. */
export interface StationRegistryEntry {
  readonly organisationId: string | null;
  readonly siteId: string | null;
  /** The site's IANA zone; null when the station is not installed at a site. */
  readonly timeZone: string | null;
  readonly intervalS: number | null;
}

/** Station registry lookups, synchronous: the worker loads each batch's stations first. */
export interface StationDirectory {
  /** The entry of `deviceId`, or undefined when it has no registry row. */
  get(deviceId: string): StationRegistryEntry | undefined;
}

/** What happened to one gas value. */
export type SampleOutcome = 'accepted' | 'duplicate' | 'too_late' | 'flagged' | 'missing_tp';

/** Counters the handler reports to. */
export interface ConcentrationCounters {
  sample(outcome: SampleOutcome): void;
  record(granularity: Concentration['granularity'], late: boolean): void;
}

/** Everything the handler needs. */
export interface ConcentrationHandlerDeps {
  readonly catalogue: TopicCatalogue;
  readonly options: ConcentrationOptions;
  readonly stations: StationDirectory;
  readonly counters?: ConcentrationCounters;
}

/** The handler: the worker hands it readings and due timers. */
export interface ConcentrationHandler {
  /** Called before a partition's batch: state objects handed out since are the batch's own copies. */
  beginBatch(partition: number): void;
  handle(record: WorkerInput<'Reading'>, ctx: WorkerContext<ConcentrationState>): void;
  timerOf(value: ConcentrationState): number | undefined;
  onTimer(key: string, ctx: WorkerContext<ConcentrationState>): void;
}

const NO_COUNTERS: ConcentrationCounters = { sample: () => undefined, record: () => undefined };

const hasAny = (flags: readonly string[], bad: ReadonlySet<string>): boolean => flags.some((f) => bad.has(f));

function emptyAggregate(): Aggregate {
  return { n: 0, sumPpm: 0, minPpm: Infinity, maxPpm: -Infinity, sumMg: 0, minMg: Infinity, maxMg: -Infinity, sumK: 0, sumPa: 0 };
}

function addSample(a: Aggregate, ppm: number, mg: number, k: number, pa: number): void {
  a.n += 1;
  a.sumPpm += ppm;
  a.minPpm = Math.min(a.minPpm, ppm);
  a.maxPpm = Math.max(a.maxPpm, ppm);
  a.sumMg += mg;
  a.minMg = Math.min(a.minMg, mg);
  a.maxMg = Math.max(a.maxMg, mg);
  a.sumK += k;
  a.sumPa += pa;
}

/** A copy of a state value that can be edited without touching the original (faster than structuredClone). */
function copyOf(value: ConcentrationState): ConcentrationState {
  if (value.kind === 'period') {
    const gases: PeriodBucket['gases'] = {};
    for (const [gas, period] of Object.entries(value.gases) as Array<[StationGas, GasPeriod]>) {
      gases[gas] = { a: { ...period.a }, t: period.t, r: period.r };
    }
    return { ...value, gases };
  }
  return {
    ...value,
    current: value.current === null ? null : { ...value.current, gases: value.current.gases.slice() },
    open: value.open.map((period) => [...period] as OpenPeriod),
  };
}

/** Samples expected in [start, end) at one per `intervalS`; at least 1. */
export function expectedSamples(start: number, end: number, intervalS: number): number {
  return Math.max(1, Math.round((end - start) / (intervalS * 1000)));
}

/** The record of one gas in one period. */
export function concentrationRecord(
  stationId: string,
  gas: StationGas,
  granularity: 'HOURLY' | 'DAILY',
  bucket: PeriodBucket,
  period: GasPeriod,
  profile: StationProfile,
  gwpSet: GwpSet,
  computedAt: number,
): Concentration {
  const { a } = period;
  const expectedCount = expectedSamples(bucket.start, bucket.end, profile.intervalS);
  const meanMgPerM3 = a.sumMg / a.n;
  const gwp100 = gwpSet.gwp100[gas];
  return {
    stationId,
    organisationId: profile.organisationId,
    siteId: profile.siteId,
    gas,
    granularity,
    periodStartAt: bucket.start,
    periodEndAt: bucket.end,
    timeZone: bucket.tz,
    count: a.n,
    expectedCount,
    completeness: Math.min(1, a.n / expectedCount),
    meanPpm: a.sumPpm / a.n,
    minPpm: a.minPpm,
    maxPpm: a.maxPpm,
    meanMgPerM3,
    minMgPerM3: a.minMg,
    maxMgPerM3: a.maxMg,
    meanTemperatureK: a.sumK / a.n,
    meanPressurePa: a.sumPa / a.n,
    co2eMgPerM3: meanMgPerM3 * gwp100,
    gwpSet: gwpSet.name,
    gwp100,
    revision: period.r,
    computedAt,
  };
}

export function createConcentrationHandler(deps: ConcentrationHandlerDeps): ConcentrationHandler {
  const { catalogue, options, stations } = deps;
  const counters = deps.counters ?? NO_COUNTERS;
  /**
   * Per partition, the state objects this batch already copied. The runner's committed values must
   * not change before the batch commits, so a value is copied once per batch before it is edited.
   */
  const copies = new Map<number, WeakSet<object>>();

  function ownCopies(partition: number): WeakSet<object> {
    let set = copies.get(partition);
    if (set === undefined) {
      set = new WeakSet();
      copies.set(partition, set);
    }
    return set;
  }

  /** The value of `key`, safe to edit in place: staged under the key and copied first if it is the committed one. */
  function editable<T extends ConcentrationState>(ctx: WorkerContext<ConcentrationState>, key: string): T | undefined {
    const value = ctx.get(key) as T | undefined;
    if (value === undefined) return undefined;
    const set = ownCopies(ctx.partition);
    if (set.has(value)) return value;
    const copy = copyOf(value) as T;
    set.add(copy);
    ctx.put(key, copy);
    return copy;
  }

  function created<T extends ConcentrationState>(ctx: WorkerContext<ConcentrationState>, key: string, value: T): T {
    ownCopies(ctx.partition).add(value);
    ctx.put(key, value);
    return value;
  }

  function profileOf(reading: Reading, previous: StationProfile | undefined): StationProfile {
    const entry = stations.get(reading.deviceId);
    if (entry === undefined) {
      return {
        organisationId: reading.organisationId,
        siteId: reading.siteId,
        timeZone: previous?.timeZone ?? 'UTC',
        intervalS: previous?.intervalS ?? options.defaultIntervalS,
      };
    }
    return {
      organisationId: entry.organisationId ?? reading.organisationId,
      siteId: entry.siteId ?? reading.siteId,
      timeZone: entry.timeZone ?? 'UTC',
      intervalS: entry.intervalS ?? options.defaultIntervalS,
    };
  }

  function emit(ctx: WorkerContext<ConcentrationState>, stationId: string, bucket: PeriodBucket, granularity: 'HOURLY' | 'DAILY',
    gas: StationGas, station: StationState, late: boolean): void {
    const period = bucket.gases[gas]!;
    period.r += 1;
    const topic = granularity === 'HOURLY' ? catalogue.concentrationHourly : catalogue.concentrationDaily;
    ctx.emit(topic, concentrationRecord(stationId, gas, granularity, bucket, period, station.profile, options.gwpSet, ctx.now()));
    counters.record(granularity, late);
  }

  /** Closes the open periods ending at or before `until`: their first records. */
  function closeUntil(ctx: WorkerContext<ConcentrationState>, stationId: string, station: StationState, until: number): void {
    if (!station.open.some((period) => period[2] <= until)) return;
    const still: OpenPeriod[] = [];
    for (const period of station.open) {
      const [kind, start, end] = period;
      if (end > until) {
        still.push(period);
        continue;
      }
      const bucket = editable<PeriodBucket>(ctx, kind === 'h' ? hourKey(stationId, start) : dayKey(stationId, start));
      if (bucket === undefined) continue;
      bucket.closed = true;
      for (const gas of Object.keys(bucket.gases) as StationGas[]) emit(ctx, stationId, bucket, kind === 'h' ? 'HOURLY' : 'DAILY', gas, station, false);
    }
    station.open = still;
  }

  /**
   * Drops the periods that ended before the lateness horizon (samples older than it are refused, so
   * nothing can change them any more), walking hours and days from where the last prune stopped.
   */
  function prune(ctx: WorkerContext<ConcentrationState>, stationId: string, station: StationState): void {
    const horizon = station.watermark - options.latenessMs;
    const tz = station.profile.timeZone;
    const walk = (from: number, startOf: (tz: string, t: number) => number, endOf: (tz: string, start: number) => number,
      keyOf: (s: string, start: number) => string): number => {
      if (from === Number.MIN_SAFE_INTEGER) return startOf(tz, horizon);
      let start = from;
      for (let end = endOf(tz, start); end <= horizon; start = end, end = endOf(tz, start)) {
        const key = keyOf(stationId, start);
        if (ctx.get(key) !== undefined) ctx.delete(key);
      }
      return start;
    };
    station.pruneHoursFrom = walk(station.pruneHoursFrom, hourStart, hourEnd, hourKey);
    station.pruneDaysFrom = walk(station.pruneDaysFrom, dayStart, dayEnd, dayKey);
  }

  function bucketFor(ctx: WorkerContext<ConcentrationState>, stationId: string, station: StationState, granularity: 'HOURLY' | 'DAILY',
    observedAt: number): [string, PeriodBucket] {
    const tz = station.profile.timeZone;
    const start = granularity === 'HOURLY' ? hourStart(tz, observedAt) : dayStart(tz, observedAt);
    const key = granularity === 'HOURLY' ? hourKey(stationId, start) : dayKey(stationId, start);
    const existing = editable<PeriodBucket>(ctx, key);
    if (existing !== undefined) return [key, existing];
    const end = granularity === 'HOURLY' ? hourEnd(tz, start) : dayEnd(tz, start);
    // A period the watermark has passed is born closed: its sample is late, and its first record is emitted at once.
    const closed = end <= station.watermark;
    if (!closed) station.open.push([granularity === 'HOURLY' ? 'h' : 'd', start, end]);
    return [key, created(ctx, key, { kind: 'period', start, end, tz, gases: {}, closed })];
  }

  function accept(ctx: WorkerContext<ConcentrationState>, stationId: string, station: StationState, gas: StationGas, ppm: number,
    uplink: PendingUplink): void {
    const at = uplink.observedAt;
    if (at < station.watermark - options.latenessMs) {
      counters.sample('too_late');
      return;
    }
    const k = uplink.temperatureK!;
    const pa = uplink.pressurePa!;
    const mg = massConcentration(gas, ppm, k, pa);
    const [, hour] = bucketFor(ctx, stationId, station, 'HOURLY', at);
    const offset = at - hour.start;
    const inHour = hour.gases[gas];
    const mark = `${offset.toString(36)},`;
    if (inHour !== undefined && (inHour.t.startsWith(mark) || inHour.t.includes(`,${mark}`))) {
      counters.sample('duplicate');
      return;
    }
    const [, day] = bucketFor(ctx, stationId, station, 'DAILY', at);
    for (const [bucket, granularity] of [[hour, 'HOURLY'], [day, 'DAILY']] as const) {
      const period = bucket.gases[gas] ?? { a: emptyAggregate(), t: '', r: 0 };
      bucket.gases[gas] = period;
      addSample(period.a, ppm, mg, k, pa);
      // Days need no sample list: each sample lies in exactly one hour, whose list refuses its duplicates.
      if (granularity === 'HOURLY') period.t += mark;
      if (bucket.closed) emit(ctx, stationId, bucket, granularity, gas, station, period.r > 0);
    }
    counters.sample('accepted');
    if (at > station.watermark) {
      station.watermark = at;
      closeUntil(ctx, stationId, station, at);
      prune(ctx, stationId, station);
    }
  }

  /** Turns the uplink's waiting gases into samples, or drops them when its temperature or pressure is unusable. */
  function settle(ctx: WorkerContext<ConcentrationState>, stationId: string, station: StationState, uplink: PendingUplink, final: boolean): void {
    const ready = uplink.temperatureK !== undefined && uplink.pressurePa !== undefined;
    if (!ready && !uplink.unusableTp && !final) return;
    const gases = uplink.gases;
    uplink.gases = [];
    for (const [gas, ppm] of gases) {
      if (ready) accept(ctx, stationId, station, gas, ppm, uplink);
      else counters.sample('missing_tp');
    }
  }

  function newStation(profile: StationProfile): StationState {
    // Not -Infinity: the changelog is JSON, which has no infinities.
    return {
      kind: 'station',
      current: null,
      watermark: Number.MIN_SAFE_INTEGER,
      seenAt: 0,
      profile,
      open: [],
      pruneHoursFrom: Number.MIN_SAFE_INTEGER,
      pruneDaysFrom: Number.MIN_SAFE_INTEGER,
    };
  }

  return {
    beginBatch(partition) {
      copies.set(partition, new WeakSet());
    },

    handle({ value: reading }, ctx) {
      if (!reading.deviceId.startsWith(STATION_PREFIX)) return;
      const gas = GAS_OF_QUANTITY[reading.quantity];
      const isT = reading.quantity === 'temperature';
      const isP = reading.quantity === 'pressure';
      if (gas === undefined && !isT && !isP) return;
      const stationId = reading.deviceId.slice(STATION_PREFIX.length);
      const stored = editable<StationState>(ctx, stationId);
      const station = stored ?? created(ctx, stationId, newStation(profileOf(reading, undefined)));
      if (stored !== undefined) station.profile = profileOf(reading, stored.profile);

      if (station.current !== null && station.current.uplinkId !== reading.uplinkId) {
        settle(ctx, stationId, station, station.current, true);
        station.current = null;
      }
      const uplink: PendingUplink = station.current ?? { uplinkId: reading.uplinkId, observedAt: reading.observedAt, gases: [] };
      station.current = uplink;

      if (gas !== undefined) {
        if (hasAny(reading.qualityFlags, BAD_GAS_FLAGS) || !Number.isFinite(reading.value) || reading.value < 0) {
          counters.sample('flagged');
        } else {
          uplink.gases.push([gas, reading.value]);
        }
      } else {
        const usable = !hasAny(reading.qualityFlags, BAD_TP_FLAGS) && Number.isFinite(reading.value);
        const value = isT ? reading.value + ZERO_CELSIUS_K : reading.value;
        if (!usable || value <= 0) uplink.unusableTp = true;
        else if (isT) uplink.temperatureK = value;
        else uplink.pressurePa = value;
      }
      settle(ctx, stationId, station, uplink, false);
      station.seenAt = ctx.now();
    },

    timerOf(value) {
      if (value.kind !== 'station') return undefined;
      let due = Infinity;
      for (const period of value.open) due = Math.min(due, period[2]);
      if (value.current !== null && value.current.gases.length > 0) due = Math.min(due, value.seenAt);
      return due === Infinity ? undefined : Math.max(due, value.seenAt + options.idleCloseMs);
    },

    onTimer(key, ctx) {
      const committed = ctx.get(key);
      if (committed?.kind !== 'station' || ctx.now() < committed.seenAt + options.idleCloseMs) return;
      // Timers run outside batches: start a fresh set of copies.
      copies.set(ctx.partition, new WeakSet());
      const station = editable<StationState>(ctx, key)!;
      const now = ctx.now();
      if (station.current !== null) {
        settle(ctx, key, station, station.current, true);
        station.current = null;
      }
      closeUntil(ctx, key, station, now);
      prune(ctx, key, station);
    },
  };
}
