import { describe, expect, it } from 'vitest';
import { createTopicCatalogue, type TopicSpec } from '../../core/topics.js';
import type { IncomingMessage } from '../../core/kafka/client.js';
import type { Alert, Gas, Reading } from '../../schemas/avro/index.js';
import { SAMPLE_RECORDS } from '../../schemas/avro/samples.js';
import type { WorkerContext } from '../runtime/stateful-worker.js';
import type { ConcentrationThreshold } from './concentration.js';
import { createAlertsHandler, flowObservationOf, type AlertsHandler } from './handler.js';
import type { AlertsRegistry, DeviceFacts } from './registry.js';
import type { AlertsState } from './state.js';

const MIN = 60_000;
const H = 60 * MIN;
const T0 = Date.UTC(2026, 2, 1, 0);
const catalogue = createTopicCatalogue();

/** A registry fake over plain rows (our own port, not PostgreSQL). */
function fakeRegistry(rows: DeviceFacts[], thresholds: Record<string, ConcentrationThreshold[]> = {}): AlertsRegistry & { lookups: string[][] } {
  const lookups: string[][] = [];
  return {
    lookups,
    async prefetchDevices(ids) {
      lookups.push([...ids]);
    },
    async prefetchThresholds() {},
    device: (id) => rows.find((r) => r.deviceId === id),
    thresholds: (organisationId, _deviceId, gas: Gas) => (organisationId === null ? [] : (thresholds[`${organisationId}|${gas}`] ?? [])),
  };
}

/** A worker context over a plain map, with a settable clock. */
class FakeContext implements WorkerContext<AlertsState> {
  readonly partition = 0;
  readonly state = new Map<string, AlertsState>();
  readonly alerts: Alert[] = [];
  clock = T0;
  get = (key: string) => this.state.get(key);
  put = (key: string, value: AlertsState) => void this.state.set(key, value);
  delete = (key: string) => void this.state.delete(key);
  emit = (topic: TopicSpec, value: unknown) => {
    expect(topic).toBe(catalogue.alerts);
    this.alerts.push(value as Alert);
  };
  now = () => this.clock;
}

const message = {} as IncomingMessage;
const meter = 'mbus:3002038704771407';
const heatMeter = 'mbus:3002038804771404';
const station = 'station:minsk-01';

function reading(overrides: Partial<Reading>): Reading {
  return {
    ...SAMPLE_RECORDS.Reading,
    deviceId: meter,
    organisationId: 'org-1',
    siteId: 'site-1',
    registerKey: 'volume',
    quantity: 'volume',
    unit: 'm3',
    cumulative: true,
    function: 'INSTANTANEOUS',
    storageNumber: 0,
    tariff: 0,
    subunit: 0,
    qualityFlags: [],
    ...overrides,
  };
}

/** A registry row: an active device of org-1 expected every 15 minutes, never seen by decode unless told. */
function row(deviceId: string, overrides: Partial<DeviceFacts> = {}): DeviceFacts {
  return { deviceId, status: 'active', medium: 'water', expectedIntervalS: 900, organisationId: 'org-1', lastSeenAt: null, ...overrides };
}

/** Runs the device's timer as the runner does (at each due time it asks for) until `until`. */
async function runTimers(h: AlertsHandler, key: string, ctx: FakeContext, until: number): Promise<void> {
  for (let due = h.timerOf(ctx.get(key)!); due !== undefined && due <= until; due = h.timerOf(ctx.get(key)!)) {
    ctx.clock = due;
    await h.onTimer(key, ctx);
  }
  ctx.clock = until;
}

function handler(registry: AlertsRegistry): AlertsHandler {
  return createAlertsHandler({ catalogue, registry, rules: { factor: 3, defaultIntervalS: 3600, continuousFlowHours: 24 } });
}

describe('the alerts handler', () => {
  it('sets the silence timer from receivedAt and the registry interval, raises it with the last reading\'s owner, and clears it on the next reading', async () => {
    const registry = fakeRegistry([row(meter)]);
    const h = handler(registry);
    const ctx = new FakeContext();
    h.handle({ message, value: reading({ receivedAt: T0, observedAt: T0 }) }, ctx);
    expect(h.timerOf(ctx.get(meter)!)).toBe(T0 + 45 * MIN);

    // Alone in its idle partition: raised once the worker has seen the partition idle for busyForMs.
    await runTimers(h, meter, ctx, T0 + 46 * MIN);
    expect(registry.lookups.at(-1)).toEqual([meter]);
    expect(ctx.alerts).toEqual([
      expect.objectContaining({ kind: 'DEVICE_SILENT', state: 'RAISED', deviceId: meter, organisationId: 'org-1', siteId: 'site-1', raisedAt: T0 + 45 * MIN, revision: 1 }),
    ]);

    ctx.clock = T0 + 2 * H;
    h.handle({ message, value: reading({ receivedAt: T0 + 2 * H - 1000, observedAt: T0 + 2 * H - 1000 }) }, ctx);
    expect(ctx.alerts.at(-1)).toMatchObject({ kind: 'DEVICE_SILENT', state: 'CLEARED', clearedAt: T0 + 2 * H - 1000, revision: 2 });
    expect(h.timerOf(ctx.get(meter)!)).toBe(T0 + 2 * H - 1000 + 45 * MIN);
  });

  it('raises no silence while it works off a backlog: the partition\'s newest reading is its clock', async () => {
    const other = 'mbus:3002038904771407';
    const registry = fakeRegistry([meter, other].map((deviceId) => row(deviceId)));
    const h = handler(registry);
    const ctx = new FakeContext();
    // Hours of readings arrive at once, long after they were received: the worker was down.
    ctx.clock = T0 + 10 * H;
    h.handle({ message, value: reading({ receivedAt: T0, observedAt: T0 }) }, ctx);
    for (let i = 0; i <= 2; i++) h.handle({ message, value: reading({ deviceId: other, receivedAt: T0 + i * 15 * MIN, observedAt: T0 + i * 15 * MIN }) }, ctx);
    // The meter's own later readings are further down the backlog: by the partition clock (T0 + 30 min,
    // the newest reading handled) its 45-minute window has not passed, whatever the wall clock says.
    await h.onTimer(meter, ctx);
    expect(ctx.alerts).toEqual([]);
    expect(h.timerOf(ctx.get(meter)!)).toBe(T0 + 10 * H + 15_000);

    // The backlog is worked off and nothing more came: once the partition has been idle for
    // busyForMs (30 s), the wall clock counts.
    ctx.clock = T0 + 10 * H + 15_000;
    await h.onTimer(meter, ctx);
    expect(ctx.alerts).toEqual([]);
    ctx.clock = T0 + 10 * H + 30_000;
    await h.onTimer(meter, ctx);
    expect(ctx.alerts.map((a) => [a.kind, a.state, a.severity, a.updatedAt])).toEqual([
      ['DEVICE_SILENT', 'RAISED', 'WARNING', T0 + 45 * MIN],
      ['DEVICE_SILENT', 'UPDATED', 'CRITICAL', T0 + 3 * H],
    ]);
  });

  it('watches the volume of water and gas meters for continuous flow, not that of heat meters', () => {
    const registry = fakeRegistry([
      row(meter),
      row(heatMeter, { medium: 'heat' }),
    ]);
    const h = handler(registry);
    const ctx = new FakeContext();
    for (let i = 0; i <= 25 * 4; i++) {
      const at = T0 + i * 15 * MIN;
      ctx.clock = at;
      for (const deviceId of [meter, heatMeter]) h.handle({ message, value: reading({ deviceId, receivedAt: at, observedAt: at, value: 10 + i * 0.01 }) }, ctx);
    }
    expect(ctx.alerts.map((a) => [a.kind, a.deviceId, a.state])).toEqual([['CONTINUOUS_FLOW', meter, 'RAISED']]);
  });

  it('holds station gases against the thresholds of the station\'s organisation', () => {
    const levels: ConcentrationThreshold[] = [{ id: 't1', gas: 'CH4', thresholdPpm: 5, severity: 'WARNING', hysteresisPpm: 0.5 }];
    const h = handler(fakeRegistry([row(station, { medium: 'ghg_station', expectedIntervalS: 60 })], { 'org-1|CH4': levels }));
    const ctx = new FakeContext();
    const sample = (i: number, quantity: string, value: number) =>
      reading({ deviceId: station, registerKey: quantity, quantity, unit: 'ppm', cumulative: false, value, receivedAt: T0 + i * MIN, observedAt: T0 + i * MIN });
    h.handle({ message, value: sample(0, 'ch4', 2) }, ctx);
    h.handle({ message, value: sample(1, 'co2', 9000) }, ctx);
    h.handle({ message, value: sample(2, 'ch4', 6.2) }, ctx);
    h.handle({ message, value: sample(3, 'ch4', 4.8) }, ctx);
    h.handle({ message, value: sample(4, 'ch4', 4.2) }, ctx);
    expect(ctx.alerts.map((a) => [a.kind, a.subject, a.state, a.updatedAt])).toEqual([
      ['CONCENTRATION_THRESHOLD', 'CH4', 'RAISED', T0 + 2 * MIN],
      ['CONCENTRATION_THRESHOLD', 'CH4', 'CLEARED', T0 + 4 * MIN],
    ]);
  });

  it('keeps stored values, tariff registers and quarantined readings out of the rules', () => {
    const base = { deviceId: meter, observedAt: T0, receivedAt: T0 } as const;
    expect(flowObservationOf(reading({ ...base }))).toEqual({ kind: 'cumulative', at: T0, value: SAMPLE_RECORDS.Reading.value, wrapped: false });
    expect(flowObservationOf(reading({ ...base, storageNumber: 1, registerKey: 'volume.storage1' }))).toBeUndefined();
    expect(flowObservationOf(reading({ ...base, tariff: 1, registerKey: 'volume.tariff1' }))).toBeUndefined();
    expect(flowObservationOf(reading({ ...base, qualityFlags: ['SUSPECTED_RESET'] }))).toBeUndefined();
    expect(flowObservationOf(reading({ ...base, qualityFlags: ['ROLLOVER'] }))).toMatchObject({ wrapped: true });
    expect(flowObservationOf(reading({ ...base, quantity: 'volume_flow', registerKey: 'volume_flow', unit: 'm3/h', cumulative: false, value: 0.2 }))).toEqual({ kind: 'rate', at: T0, value: 0.2 });
  });

  it('takes a newer last_seen_at of the registry row as contact when the timer is due: the timer moves, nothing is raised', async () => {
    const rows = [row(station, { medium: 'ghg_station' })];
    const registry = fakeRegistry(rows);
    const h = handler(registry);
    const ctx = new FakeContext();
    h.handle({ message, value: reading({ deviceId: station, registerKey: 'co2', quantity: 'co2', unit: 'ppm', cumulative: false, value: 420, receivedAt: T0, observedAt: T0 }) }, ctx);
    expect(h.timerOf(ctx.get(station)!)).toBe(T0 + 45 * MIN);
    // The station's sensor stops; it keeps sending status messages, which decode takes (no reading)
    // and records as last_seen_at, throttled to one write per 5 minutes.
    for (let at = T0 + 5 * MIN; at <= T0 + 3 * H; at += 5 * MIN) {
      rows[0] = { ...rows[0]!, lastSeenAt: at };
      await runTimers(h, station, ctx, at + MIN);
    }
    expect(ctx.alerts).toEqual([]);
    // Each due timer found contact at most 45 minutes old: the timer moved to it plus the window.
    expect(h.timerOf(ctx.get(station)!)).toBeGreaterThan(T0 + 3 * H);
    expect(registry.lookups.every((ids) => ids.length === 1 && ids[0] === station)).toBe(true);

    // The station stops talking altogether: silent 45 minutes after the last uplink decode recorded.
    await runTimers(h, station, ctx, T0 + 5 * H);
    expect(ctx.alerts).toEqual([
      expect.objectContaining({ kind: 'DEVICE_SILENT', state: 'RAISED', deviceId: station, organisationId: 'org-1', siteId: 'site-1', raisedAt: T0 + 3 * H + 45 * MIN }),
    ]);
  });

  it('re-checks an open silence every min(window, 15 min) and clears it once the registry shows a newer last_seen_at', async () => {
    const rows = [row(meter, { expectedIntervalS: 3600 })];
    const h = handler(fakeRegistry(rows));
    const ctx = new FakeContext();
    h.handle({ message, value: reading({ receivedAt: T0, observedAt: T0 }) }, ctx);
    await runTimers(h, meter, ctx, T0 + 3 * H + MIN);
    expect(ctx.alerts.map((a) => [a.kind, a.state, a.raisedAt])).toEqual([['DEVICE_SILENT', 'RAISED', T0 + 3 * H]]);
    // Raised once the partition was seen idle (30 s after the due time); the next look is not the
    // escalation (T0 + 12 h) but the re-check, 15 minutes after that check.
    const checked = T0 + 3 * H + 30_000;
    expect(h.timerOf(ctx.get(meter)!)).toBe(checked + 15 * MIN);
    const raised = ctx.get(meter);

    // An older or equal last_seen_at (the reading's own uplink, written by decode) changes nothing.
    rows[0] = { ...rows[0]!, lastSeenAt: T0 };
    await runTimers(h, meter, ctx, checked + 15 * MIN);
    expect(ctx.alerts).toHaveLength(1);
    expect(ctx.get(meter)).toMatchObject({ silence: { heardAt: T0, level: 1, checkAt: checked + 30 * MIN } });

    // Its uplinks stopped producing readings (encrypted, status only), but decode took one at T0 + 3 h 20 min.
    rows[0] = { ...rows[0]!, lastSeenAt: T0 + 3 * H + 20 * MIN };
    await runTimers(h, meter, ctx, checked + 30 * MIN - 1);
    expect(ctx.alerts).toHaveLength(1);
    await runTimers(h, meter, ctx, checked + 30 * MIN);
    expect(ctx.alerts.at(-1)).toMatchObject({
      kind: 'DEVICE_SILENT',
      state: 'CLEARED',
      clearedAt: T0 + 3 * H + 20 * MIN,
      revision: 2,
      message: 'Device sent an uplink again after 3 h 20 min',
      details: expect.objectContaining({ heardVia: 'devices.last_seen_at', lastHeardAt: new Date(T0).toISOString() }),
    });
    expect(h.timerOf(ctx.get(meter)!)).toBe(T0 + 6 * H + 20 * MIN);
    // The rest of the device's state is kept.
    expect(ctx.get(meter)).toMatchObject({ t: 'device', organisationId: 'org-1', siteId: 'site-1', flows: (raised as { flows: unknown }).flows });
    // Nothing more until the station is silent again by its latest contact.
    await runTimers(h, meter, ctx, T0 + 6 * H);
    expect(ctx.alerts).toHaveLength(2);
  });

  it('keeps re-checking a CRITICAL silence, and leaves it open when the registry\'s contact is itself older than a window', async () => {
    const rows = [row(meter)];
    const h = handler(fakeRegistry(rows));
    const ctx = new FakeContext();
    h.handle({ message, value: reading({ receivedAt: T0, observedAt: T0 }) }, ctx);
    await runTimers(h, meter, ctx, T0 + 4 * H);
    expect(ctx.alerts.map((a) => [a.state, a.severity])).toEqual([['RAISED', 'WARNING'], ['UPDATED', 'CRITICAL']]);
    // Window 45 min: re-checked every 15 min, also once CRITICAL.
    let due = h.timerOf(ctx.get(meter)!)!;
    expect(due).toBeGreaterThan(T0 + 4 * H);
    expect(due).toBeLessThanOrEqual(T0 + 4 * H + 15 * MIN);

    // Contact at T0 + 2 h, seen at the next re-check: more than a window ago, the device is still silent.
    rows[0] = { ...rows[0]!, lastSeenAt: T0 + 2 * H };
    await runTimers(h, meter, ctx, due);
    expect(ctx.alerts).toHaveLength(2);
    expect(ctx.get(meter)).toMatchObject({ silence: { heardAt: T0 + 2 * H, level: 2 } });
    expect(h.timerOf(ctx.get(meter)!)).toBeLessThanOrEqual(due + 15 * MIN);
    due = h.timerOf(ctx.get(meter)!)!;

    rows[0] = { ...rows[0]!, lastSeenAt: due - 5 * MIN };
    await runTimers(h, meter, ctx, due);
    expect(ctx.alerts.map((a) => [a.state, a.updatedAt])).toEqual([['RAISED', T0 + 45 * MIN], ['UPDATED', T0 + 3 * H], ['CLEARED', due - 5 * MIN]]);
    expect(ctx.alerts.at(-1)!.details).toMatchObject({ heardVia: 'devices.last_seen_at', lastHeardAt: new Date(T0 + 2 * H).toISOString() });
  });

  it('takes the registry\'s contact while a backlog is worked off (no alert), without moving the partition clock with it', async () => {
    const other = 'mbus:3002038904771407';
    const rows = [row(meter), row(other)];
    const h = handler(fakeRegistry(rows));
    const ctx = new FakeContext();
    // A backlog: readings received hours ago are handled now; decode, ahead of this worker, has
    // recorded the meter's uplink at T0 + 10 min in the registry.
    ctx.clock = T0 + 10 * H;
    h.handle({ message, value: reading({ receivedAt: T0, observedAt: T0 }) }, ctx);
    h.handle({ message, value: reading({ deviceId: other, receivedAt: T0 + 50 * MIN, observedAt: T0 + 50 * MIN }) }, ctx);
    rows[0] = { ...rows[0]!, lastSeenAt: T0 + 10 * MIN };
    await h.onTimer(meter, ctx);
    expect(ctx.alerts).toEqual([]);
    expect(ctx.get(meter)).toMatchObject({ silence: { heardAt: T0 + 10 * MIN, level: 0 } });
    expect(ctx.get('~partition')).toEqual({ t: 'partition', newestReceivedAt: T0 + 50 * MIN });
  });

  it('stops watching a retired device and clears its open silence', async () => {
    const rows: DeviceFacts[] = [row(meter)];
    const h = handler(fakeRegistry(rows));
    const ctx = new FakeContext();
    h.handle({ message, value: reading({ receivedAt: T0, observedAt: T0 }) }, ctx);
    await runTimers(h, meter, ctx, T0 + H);
    rows[0] = { ...rows[0]!, status: 'retired' };
    ctx.clock = T0 + 2 * H;
    await h.onTimer(meter, ctx);
    expect(ctx.alerts.map((a) => [a.state, a.message])).toEqual([['RAISED', 'No uplink for 45 min (3 × the expected interval)'], ['CLEARED', 'Device retired']]);
    expect(h.timerOf(ctx.get(meter)!)).toBeUndefined();
  });

  it('clears a CRITICAL silence at the next re-check once the device is retired', async () => {
    const rows: DeviceFacts[] = [row(meter)];
    const h = handler(fakeRegistry(rows));
    const ctx = new FakeContext();
    h.handle({ message, value: reading({ receivedAt: T0, observedAt: T0 }) }, ctx);
    await runTimers(h, meter, ctx, T0 + 4 * H);
    expect(ctx.alerts.map((a) => a.severity)).toEqual(['WARNING', 'CRITICAL']);
    rows[0] = { ...rows[0]!, status: 'retired' };
    await runTimers(h, meter, ctx, T0 + 4 * H + 15 * MIN);
    expect(ctx.alerts.at(-1)).toMatchObject({ state: 'CLEARED', message: 'Device retired' });
    expect(h.timerOf(ctx.get(meter)!)).toBeUndefined();
  });
});
