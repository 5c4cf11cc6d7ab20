/**
 * Plausibility of one value: the range table per quantity, the clock checks, and the order quality
 * flags are written in. Pure; the worker applies it to every reading. A failed check flags the
 * reading and never changes or drops it.
 */
import type { QualityFlag } from '../../schemas/avro/index.js';

/** A closed interval of plausible values in the quantity's canonical unit (decoders/UNITS.md). */
export interface PlausibleRange {
  readonly min: number;
  readonly max: number;
}

const METER_INDEX: PlausibleRange = { min: 0, max: 1e15 };
const TEN_YEARS_S = 10 * 365.25 * 86_400;

/**
 * Plausible values per quantity, in canonical units. Generous on purpose: they catch broken
 * sensors, wrong scales and sign errors, not unusual consumption. Cumulative registers are also
 * bounded by their digit count (registers.ts). A quantity missing here is not range-checked.
 */
export const PLAUSIBLE_RANGES: Readonly<Record<string, PlausibleRange>> = {
  energy: METER_INDEX,
  energy_reverse: METER_INDEX,
  energy_uncorrected: METER_INDEX,
  energy_base: METER_INDEX,
  volume: METER_INDEX,
  volume_reverse: METER_INDEX,
  volume_uncorrected: METER_INDEX,
  volume_base: METER_INDEX,
  mass: METER_INDEX,
  mass_reverse: METER_INDEX,
  mass_uncorrected: METER_INDEX,
  mass_base: METER_INDEX,
  hca: METER_INDEX,
  on_time: { min: 0, max: 10 * TEN_YEARS_S },
  operating_time: { min: 0, max: 10 * TEN_YEARS_S },
  power: { min: -1e9, max: 1e9 }, // W: up to a gigawatt either way (export counts negative)
  volume_flow: { min: -1e5, max: 1e5 }, // m3/h
  mass_flow: { min: -1e6, max: 1e6 }, // kg/h
  temperature: { min: -60, max: 85 }, // degC
  flow_temperature: { min: -40, max: 200 },
  return_temperature: { min: -40, max: 200 },
  external_temperature: { min: -60, max: 70 },
  temperature_difference: { min: -100, max: 200 }, // K
  pressure: { min: 0, max: 1e8 }, // Pa: vacuum to 1000 bar
  relative_humidity: { min: 0, max: 100 }, // %
  co2: { min: 150, max: 10_000 }, // ppm: never below ~150 near the ground; indoor air tops out in the thousands
  ch4: { min: 0.5, max: 1000 },
  n2o: { min: 0.1, max: 100 },
  h2o: { min: 0, max: 100_000 },
  wind_speed: { min: 0, max: 100 }, // m/s
  wind_direction: { min: 0, max: 360 }, // deg
  voltage: { min: 0, max: 1e6 }, // V
  current: { min: -1e5, max: 1e5 }, // A
};

/** Whether `value` is not a finite number inside the quantity's plausible range. */
export function outOfRange(quantity: string, value: number): boolean {
  if (!Number.isFinite(value)) return true;
  const range = PLAUSIBLE_RANGES[quantity];
  return range !== undefined && (value < range.min || value > range.max);
}

/** How far a device clock may be from the receipt time. */
export interface ClockLimits {
  /**
   * A value stamped later than receipt by more than this is `CLOCK_IN_FUTURE`.
   * @default 300000 (5 min)
   */
  readonly futureSkewMs?: number;
  /**
   * A value stamped earlier than receipt by more than this is `CLOCK_TOO_OLD`: older than
   * `reading.v1` keeps readings, which is also how far back a replay of raw uplinks is expected to reach.
   * @default 7776000000 (90 days)
   */
  readonly maxAgeMs?: number;
}

const DEFAULT_FUTURE_SKEW_MS = 5 * 60_000;
const DEFAULT_MAX_AGE_MS = 90 * 86_400_000;

/** The clock flags of a value observed at `observedAt` and received at `receivedAt` (both epoch ms). */
export function clockFlags(observedAt: number, receivedAt: number, limits: ClockLimits = {}): QualityFlag[] {
  if (observedAt - receivedAt > (limits.futureSkewMs ?? DEFAULT_FUTURE_SKEW_MS)) return ['CLOCK_IN_FUTURE'];
  if (receivedAt - observedAt > (limits.maxAgeMs ?? DEFAULT_MAX_AGE_MS)) return ['CLOCK_TOO_OLD'];
  return [];
}

const FLAG_ORDER: readonly QualityFlag[] = [
  'UNKNOWN',
  'CLOCK_IN_FUTURE',
  'CLOCK_TOO_OLD',
  'TIME_FROM_RECEIPT',
  'OUT_OF_RANGE',
  'ROLLOVER',
  'SUSPECTED_RESET',
  'DEVICE_ERROR',
  'LOW_BATTERY',
  'ESTIMATED',
];

/** Flags as `Reading.qualityFlags` wants them: each once, in symbol order. */
export function orderFlags(flags: ReadonlySet<QualityFlag>): QualityFlag[] {
  return FLAG_ORDER.filter((flag) => flags.has(flag));
}
