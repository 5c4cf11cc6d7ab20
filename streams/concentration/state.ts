/**
 * The concentration worker's state, per input partition, in `concentration.changelog.v1` (JSON).
 * Three kinds of key, none containing another's form since station ids never contain `|`:
 *
 * | key | value |
 * | --- | --- |
 * | `{stationId}` | {@link StationState}: the uplink being paired, event-time watermark, profile, open periods, prune marks |
 * | `{stationId}\|h\|{start}` | {@link PeriodBucket} of one local hour |
 * | `{stationId}\|d\|{start}` | {@link PeriodBucket} of one local day |
 */
import { jsonStateCodec, type StateCodec } from '../runtime/state-codec.js';
import type { StationGas } from './gases.js';

/**
 * Running statistics of the valid samples of one gas in one period. Mass figures are per sample at
 * that sample's own temperature and pressure.
 */
export interface Aggregate {
  /** Samples. */
  n: number;
  /** Sum, min and max of the mole fraction, ppm. */
  sumPpm: number;
  minPpm: number;
  maxPpm: number;
  /** Sum, min and max of the mass concentration, mg/m³. */
  sumMg: number;
  minMg: number;
  maxMg: number;
  /** Sums of the samples' temperature (K) and pressure (Pa). */
  sumK: number;
  sumPa: number;
}

/** One gas in one period: its statistics, the observedAt of each sample (duplicates are refused), and the last revision emitted. */
export interface GasPeriod {
  a: Aggregate;
  /**
   * observedAt − period start of each accepted sample, ms, in base 36, each followed by a comma
   * (`"0,1ekg,"`): a string is copied and written to the changelog in one piece, where a list of
   * numbers costs per element on every batch.
   */
  t: string;
  /** Revision of the last record emitted; 0 before the period closed. */
  r: number;
}

/** One hour or day of one station. */
export interface PeriodBucket {
  readonly kind: 'period';
  readonly start: number;
  readonly end: number;
  /** Time zone the period was cut in. */
  readonly tz: string;
  gases: Partial<Record<StationGas, GasPeriod>>;
  /** True once the period's records were first emitted; later samples are late and raise revisions. */
  closed: boolean;
}

/** What the registry said about the station when its last reading was processed. */
export interface StationProfile {
  readonly organisationId: string | null;
  readonly siteId: string | null;
  readonly timeZone: string;
  /** Reporting interval, seconds. */
  readonly intervalS: number;
}

/** A gas value waiting for its uplink's temperature and pressure. */
export type PendingGas = readonly [gas: StationGas, ppm: number];

/** The uplink whose readings are being paired: gases with the same uplink's temperature and pressure. */
export interface PendingUplink {
  readonly uplinkId: string;
  readonly observedAt: number;
  temperatureK?: number;
  pressurePa?: number;
  /** True when the uplink's temperature or pressure was unusable (flagged); its gases cannot be converted. */
  unusableTp?: boolean;
  gases: PendingGas[];
}

/** A period with samples whose first records are not written yet: [h(our) or d(ay), start, end]. */
export type OpenPeriod = [kind: 'h' | 'd', start: number, end: number];

/** Per station. */
export interface StationState {
  readonly kind: 'station';
  current: PendingUplink | null;
  /** Latest observedAt of an accepted sample; periods ending at or before it are closed. */
  watermark: number;
  /** Wall-clock time the station's last reading was processed, epoch ms. */
  seenAt: number;
  profile: StationProfile;
  /** Periods not closed yet. */
  open: OpenPeriod[];
  /**
   * Start of the first hour and of the first day that may still be held: everything before was
   * dropped behind the lateness horizon. Unset (MIN_SAFE_INTEGER) until the first prune.
   */
  pruneHoursFrom: number;
  pruneDaysFrom: number;
}

export type ConcentrationState = StationState | PeriodBucket;

export const concentrationStateCodec: StateCodec<ConcentrationState> = jsonStateCodec<ConcentrationState>();

export const hourKey = (stationId: string, start: number): string => `${stationId}|h|${start}`;
export const dayKey = (stationId: string, start: number): string => `${stationId}|d|${start}`;
