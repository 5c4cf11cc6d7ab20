import { describe, expect, it } from 'vitest';
import type { Alert } from '../../schemas/avro/index.js';
import { AlertLedger } from '../decode/alerts.js';
import { observeFlow, provesPause, trackContinuousFlow, type FlowObservation, type FlowTrack } from './flow.js';

const MIN = 60_000;
const H = 60 * MIN;
const T0 = Date.UTC(2026, 2, 1, 0);
const target = { deviceId: 'mbus:2002038704771407', organisationId: null, siteId: null };
const rules = { continuousFlowHours: 24 };

/** Feeds observations through the rule as the handler does, one ledger per reading; returns every alert and the final track. */
function run(observations: readonly FlowObservation[], registerKey = 'volume'): { alerts: Alert[]; track: FlowTrack | undefined } {
  let marks = {};
  let track: FlowTrack | undefined;
  const alerts: Alert[] = [];
  for (const obs of observations) {
    const ledger = new AlertLedger(target, marks);
    track = trackContinuousFlow(ledger, registerKey, 'm3', observeFlow(track, obs), rules);
    marks = ledger.marks();
    alerts.push(...ledger.emitted);
  }
  return { alerts, track };
}

/** A cumulative register read every `everyMin` minutes from `fromMs` for `hours`, advancing by `step(i)` each time. */
function register(fromMs: number, hours: number, everyMin: number, step: (i: number) => number, start = 100): FlowObservation[] {
  const out: FlowObservation[] = [];
  let value = start;
  for (let i = 0; i * everyMin * MIN <= hours * H; i++) {
    if (i > 0) value += step(i);
    out.push({ kind: 'cumulative', at: fromMs + i * everyMin * MIN, value, wrapped: false });
  }
  return out;
}

describe('continuous-flow evidence', () => {
  it('proves a run over readings less than an hour apart that all advance', () => {
    const track = run(register(T0, 5, 15, () => 0.001)).track!;
    expect(track.run).toMatchObject({ from: T0, to: T0 + 5 * H });
  });

  it('cannot prove anything from readings half an hour apart: a 60-minute pause fits between them', () => {
    const { alerts, track } = run(register(T0, 30, 30, () => 0.01));
    // Each interval starts a run of its own; none extends the previous one.
    expect(track!.run).toEqual({ from: T0 + 29.5 * H, lastFrom: T0 + 29.5 * H, to: T0 + 30 * H, reported: 0 });
    expect(alerts).toEqual([]);
  });

  it('does not extend a run across a still span that leaves room for an hour without flow', () => {
    // 15-minute readings, but the register stands still for 45 minutes at 10:00.
    const obs = register(T0, 20, 15, (i) => (i >= 41 && i <= 43 ? 0 : 0.002));
    const track = run(obs).track!;
    expect(track.run!.from).toBeGreaterThanOrEqual(T0 + 10 * H);
  });

  it('proves a pause when the register stands still for a whole hour', () => {
    const obs = register(T0, 3, 15, (i) => (i >= 5 && i <= 8 ? 0 : 0.002));
    const ledger = new AlertLedger(target, {});
    let track: FlowTrack | undefined;
    let paused = false;
    for (const o of obs) {
      track = observeFlow(track, o);
      paused ||= provesPause(track);
    }
    expect(paused).toBe(true);
    expect(ledger.emitted).toEqual([]);
  });

  it('takes instantaneous flow above zero as flow at that instant', () => {
    const obs: FlowObservation[] = Array.from({ length: 26 * 2 + 1 }, (_, i) => ({ kind: 'rate', at: T0 + i * 30 * MIN, value: 0.05 }));
    const { alerts, track } = run(obs, 'volume_flow');
    expect(track!.run).toMatchObject({ from: T0, to: T0 + 26 * H });
    expect(alerts.map((a) => [a.state, a.subject, a.message])).toEqual([['RAISED', 'volume_flow', 'Flow advanced for 24 h without a pause']]);
  });

  it('ignores readings not later than the newest one used', () => {
    const first = observeFlow(undefined, { kind: 'cumulative', at: T0 + H, value: 5, wrapped: false });
    expect(observeFlow(first, { kind: 'cumulative', at: T0, value: 4, wrapped: false })).toBe(first);
    expect(observeFlow(first, { kind: 'cumulative', at: T0 + H, value: 5, wrapped: false })).toBe(first);
  });

  it('counts a flagged rollover as an advance, and a register that went back without one as the end of what is known', () => {
    const a = observeFlow(undefined, { kind: 'cumulative', at: T0, value: 99_999.9, wrapped: false });
    const wrapped = observeFlow(a, { kind: 'cumulative', at: T0 + 15 * MIN, value: 0.2, wrapped: true });
    expect(wrapped.run).toEqual({ from: T0, lastFrom: T0, to: T0 + 15 * MIN, reported: 0 });
    const back = observeFlow(wrapped, { kind: 'cumulative', at: T0 + 30 * MIN, value: 0.1, wrapped: false });
    expect(back).toEqual({ at: T0 + 30 * MIN, value: 0.1 });
  });
});

describe('CONTINUOUS_FLOW', () => {
  it('is raised once after 24 hours of proven flow, updated every further 24 hours, and cleared by an hour of stillness', () => {
    const flowing = register(T0, 50, 15, () => 0.004);
    const last = flowing.at(-1) as { at: number; value: number };
    const still: FlowObservation[] = [1, 2, 3, 4].map((i) => ({ kind: 'cumulative', at: last.at + i * 15 * MIN, value: last.value, wrapped: false }));
    const { alerts } = run([...flowing, ...still]);
    expect(alerts.map((a) => [a.state, a.severity, a.revision, a.updatedAt])).toEqual([
      ['RAISED', 'CRITICAL', 1, T0 + 24 * H],
      ['UPDATED', 'CRITICAL', 2, T0 + 48 * H],
      ['CLEARED', 'INFO', 3, last.at + H],
    ]);
    expect(alerts[0]).toMatchObject({ alertId: 'CONTINUOUS_FLOW|mbus:2002038704771407|volume', subject: 'volume', message: 'Register volume advanced for 24 h without a pause' });
    expect(alerts[0]!.details).toMatchObject({ flowingSince: new Date(T0).toISOString(), thresholdHours: '24', unit: 'm3' });
    expect(alerts[2]!.raisedAt).toBe(T0 + 24 * H);
  });

  it('is not raised for 23 hours of flow broken by a whole-hour pause and 23 more', () => {
    const first = register(T0, 23, 15, () => 0.004);
    const pauseStart = first.at(-1)!.at;
    const paused: FlowObservation[] = [1, 2, 3, 4].map((i) => ({ kind: 'cumulative', at: pauseStart + i * 15 * MIN, value: (first.at(-1) as { value: number }).value, wrapped: false }));
    const second = register(pauseStart + H + 15 * MIN, 23, 15, () => 0.004, (first.at(-1) as { value: number }).value + 0.004);
    expect(run([...first, ...paused, ...second]).alerts).toEqual([]);
  });

  it('is not raised from hourly readings however long the register advances: undeterminable', () => {
    expect(run(register(T0, 72, 60, () => 0.05)).alerts).toEqual([]);
  });

  it('stays open while readings become too sparse to tell, and is updated when a new run proves another 24 hours', () => {
    const flowing = register(T0, 25, 15, () => 0.004);
    const lastValue = (flowing.at(-1) as { value: number }).value;
    const sparse = register(T0 + 27 * H, 6, 120, () => 0.1, lastValue + 0.1);
    const again = register(T0 + 34 * H, 25, 15, () => 0.004, lastValue + 1);
    const { alerts } = run([...flowing, ...sparse, ...again]);
    expect(alerts.map((a) => [a.state, a.revision])).toEqual([['RAISED', 1], ['UPDATED', 2]]);
  });
});
