import { describe, expect, it } from 'vitest';
import type { Alert } from '../../schemas/avro/index.js';
import { AlertLedger } from '../decode/alerts.js';
import { heldLevel, trackConcentration, type ConcentrationThreshold, type GasTrack } from './concentration.js';

const T0 = Date.UTC(2026, 5, 1, 9);
const target = { deviceId: 'station:minsk-01', organisationId: 'org-1', siteId: 'site-1' };
const warning: ConcentrationThreshold = { id: 'thr-w', gas: 'CO2', thresholdPpm: 1000, severity: 'WARNING', hysteresisPpm: 50 };
const critical: ConcentrationThreshold = { id: 'thr-c', gas: 'CO2', thresholdPpm: 5000, severity: 'CRITICAL', hysteresisPpm: 200 };
const levels = [warning, critical];

/** Feeds samples (ppm, one a minute) through the rule; returns every alert record. */
function samples(values: readonly number[], thresholds: readonly ConcentrationThreshold[] = levels): Alert[] {
  let marks = {};
  let track: GasTrack | undefined;
  const alerts: Alert[] = [];
  values.forEach((valuePpm, i) => {
    const ledger = new AlertLedger(target, marks);
    track = trackConcentration(ledger, 'CO2', track, { at: T0 + i * 60_000, valuePpm }, thresholds);
    marks = ledger.marks();
    alerts.push(...ledger.emitted);
  });
  return alerts;
}

describe('threshold levels', () => {
  it('are entered at the threshold and kept down to threshold minus hysteresis', () => {
    expect(heldLevel(levels, 999, undefined)).toBeUndefined();
    expect(heldLevel(levels, 1000, undefined)).toBe(warning);
    expect(heldLevel(levels, 960, 1000)).toBe(warning);
    expect(heldLevel(levels, 949, 1000)).toBeUndefined();
    expect(heldLevel(levels, 4900, 5000)).toBe(critical);
    expect(heldLevel(levels, 4900, 1000)).toBe(warning);
  });
});

describe('CONCENTRATION_THRESHOLD', () => {
  it('is raised, escalated, de-escalated and cleared with hysteresis, one alert id per station and gas', () => {
    const alerts = samples([900, 1010, 980, 1020, 5100, 4850, 4790, 1100, 960, 940, 990]);
    expect(alerts.map((a) => [a.state, a.severity, a.details['valuePpm'], a.revision])).toEqual([
      ['RAISED', 'WARNING', '1010', 1],
      ['UPDATED', 'CRITICAL', '5100', 2],
      ['UPDATED', 'WARNING', '4790', 3],
      ['CLEARED', 'INFO', '940', 4],
    ]);
    expect(new Set(alerts.map((a) => a.alertId))).toEqual(new Set(['CONCENTRATION_THRESHOLD|station:minsk-01|CO2']));
    expect(alerts[0]).toMatchObject({ subject: 'CO2', message: 'CO2 at 1010 ppm, threshold 1000 ppm', raisedAt: T0 + 60_000 });
    expect(alerts[3]).toMatchObject({ raisedAt: T0 + 60_000, clearedAt: T0 + 9 * 60_000 });
  });

  it('is raised again, with the next revision, when the gas comes back above the threshold', () => {
    const alerts = samples([1200, 800, 1300]);
    expect(alerts.map((a) => [a.state, a.revision])).toEqual([['RAISED', 1], ['CLEARED', 2], ['RAISED', 3]]);
  });

  it('clears an open alert when its thresholds were removed', () => {
    let marks = {};
    const ledger = new AlertLedger(target, marks);
    const track = trackConcentration(ledger, 'CO2', undefined, { at: T0, valuePpm: 1500 }, levels);
    marks = ledger.marks();
    const after = new AlertLedger(target, marks);
    trackConcentration(after, 'CO2', track, { at: T0 + 60_000, valuePpm: 1500 }, []);
    expect(after.emitted).toEqual([expect.objectContaining({ state: 'CLEARED', message: 'CO2 no longer has a threshold' })]);
  });

  it('ignores a sample not later than the newest one used', () => {
    const ledger = new AlertLedger(target, {});
    const track: GasTrack = { at: T0 };
    expect(trackConcentration(ledger, 'CO2', track, { at: T0 - 1, valuePpm: 9000 }, levels)).toBe(track);
    expect(ledger.emitted).toEqual([]);
  });
});
