/**
 * CONCENTRATION_THRESHOLD: a station's mole fraction of a gas at or above a configured threshold
 * (PostgreSQL `concentration_thresholds`). Pure.
 *
 * The thresholds of one station and gas are levels, each with a severity and a hysteresis: those
 * naming the station, else the organisation-wide ones. A level is *held* by a sample at or above
 * its threshold, and stays held while samples stay at or above threshold − hysteresis (only a level
 * no higher than the one held before can be kept this way). The alert follows the highest level
 * held: RAISED when one is first held, UPDATED when the highest held level changes (its severity
 * with it), CLEARED when none is. Samples are taken in `observedAt` order per station and gas; an
 * older or repeated one is ignored.
 */
import type { AlertLedger } from '../decode/alerts.js';
import type { AlertSeverity, Gas } from '../../schemas/avro/index.js';

/** One row of `concentration_thresholds`. */
export interface ConcentrationThreshold {
  readonly id: string;
  readonly gas: Gas;
  readonly thresholdPpm: number;
  readonly severity: AlertSeverity;
  readonly hysteresisPpm: number;
}

/** What the rule keeps of one station and gas. */
export interface GasTrack {
  /** observedAt of the newest sample used, epoch ms. */
  readonly at: number;
  /** Threshold of the highest level held after it, ppm; undefined when none. */
  readonly heldPpm?: number;
}

/** Reading quantities that are gases the rule watches, by their Gas symbol. */
export const GAS_OF_QUANTITY: Readonly<Record<string, Gas>> = { co2: 'CO2', ch4: 'CH4', n2o: 'N2O' };

/** The level held after a sample, given the level held before it. */
export function heldLevel(thresholds: readonly ConcentrationThreshold[], valuePpm: number, previousPpm: number | undefined): ConcentrationThreshold | undefined {
  let held: ConcentrationThreshold | undefined;
  for (const level of thresholds) {
    const entered = valuePpm >= level.thresholdPpm;
    const kept = previousPpm !== undefined && level.thresholdPpm <= previousPpm && valuePpm >= level.thresholdPpm - level.hysteresisPpm;
    if ((entered || kept) && (held === undefined || level.thresholdPpm > held.thresholdPpm)) held = level;
  }
  return held;
}

/**
 * Folds one sample of `gas` into its track and raises, updates or clears the alert. `thresholds`
 * are the levels that apply to the station and gas (empty clears an open alert: its thresholds were
 * removed).
 */
export function trackConcentration(
  ledger: AlertLedger,
  gas: Gas,
  track: GasTrack | undefined,
  sample: { readonly at: number; readonly valuePpm: number },
  thresholds: readonly ConcentrationThreshold[],
): GasTrack {
  if (track !== undefined && sample.at <= track.at) return track;
  const held = heldLevel(thresholds, sample.valuePpm, track?.heldPpm);
  const open = ledger.isOpen('CONCENTRATION_THRESHOLD', gas);
  if (held === undefined) {
    if (open) {
      ledger.clear({
        kind: 'CONCENTRATION_THRESHOLD',
        subject: gas,
        severity: 'INFO',
        message: thresholds.length === 0 ? `${gas} no longer has a threshold` : `${gas} back at ${sample.valuePpm} ppm`,
        at: sample.at,
        details: { valuePpm: String(sample.valuePpm) },
      });
    }
    return { at: sample.at };
  }
  if (!open || held.thresholdPpm !== track?.heldPpm) {
    ledger.raiseOrUpdate({
      kind: 'CONCENTRATION_THRESHOLD',
      subject: gas,
      severity: held.severity,
      message: `${gas} at ${sample.valuePpm} ppm, threshold ${held.thresholdPpm} ppm`,
      at: sample.at,
      details: {
        valuePpm: String(sample.valuePpm),
        thresholdPpm: String(held.thresholdPpm),
        hysteresisPpm: String(held.hysteresisPpm),
        thresholdId: held.id,
      },
    });
  }
  return { at: sample.at, heldPpm: held.thresholdPpm };
}
