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
    const registry = fakeRegistry([{ deviceId: meter, status: 'active', medium: 'water', expectedIntervalS: 900, organisationId: 'org-1' }]);
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
    const registry = fakeRegistry([meter, other].map((deviceId) => ({ deviceId, status: 'active', medium: 'water', expectedIntervalS: 900, organisationId: 'org-1' })));
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
      { deviceId: meter, status: 'active', medium: 'water', expectedIntervalS: 900, organisationId: 'org-1' },
      { deviceId: heatMeter, status: 'active', medium: 'heat', expectedIntervalS: 900, organisationId: 'org-1' },
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
    const h = handler(fakeRegistry([{ deviceId: station, status: 'active', medium: 'ghg_station', expectedIntervalS: 60, organisationId: 'org-1' }], { 'org-1|CH4': levels }));
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

  it('stops watching a retired device and clears its open silence', async () => {
    const rows: DeviceFacts[] = [{ deviceId: meter, status: 'active', medium: 'water', expectedIntervalS: 900, organisationId: 'org-1' }];
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
});
