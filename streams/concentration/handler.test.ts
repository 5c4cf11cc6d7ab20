import { describe, expect, it } from 'vitest';
import type { Concentration, Reading } from '../../schemas/avro/index.js';
import { createTopicCatalogue, type TopicSpec } from '../../core/topics.js';
import type { IncomingMessage } from '../../core/kafka/client.js';
import type { WorkerContext } from '../runtime/stateful-worker.js';
import { PartitionState } from '../runtime/state-store.js';
import { GWP_SETS, type GwpSetName } from './gases.js';
import { createConcentrationHandler, type ConcentrationHandler, type SampleOutcome, type StationRegistryEntry } from './handler.js';
import type { ConcentrationState } from './state.js';
import { concentrationScenarios, stationReadings, type ConcentrationScenario } from './testing/readings.js';

const catalogue = createTopicCatalogue();
const MESSAGE: IncomingMessage = { topic: 'reading.v1', partition: 0, offset: '0', key: null, value: null, headers: {}, timestampMs: 0 };
const FAR_FUTURE = Date.parse('2100-01-01T00:00:00Z');

interface Harness {
  readonly handler: ConcentrationHandler;
  readonly state: PartitionState<ConcentrationState>;
  readonly emitted: Array<{ topic: string; value: Concentration }>;
  readonly outcomes: Map<SampleOutcome, number>;
  clock: number;
  /** Handles readings as one batch and commits it (or rolls it back). */
  batch(readings: readonly Reading[], commit?: boolean): void;
  /** Runs the due timers of every station key at the clock's time. */
  timers(): void;
}

function harness(gwpSet: GwpSetName, entries: ReadonlyMap<string, StationRegistryEntry>): Harness {
  const outcomes = new Map<SampleOutcome, number>();
  const handler = createConcentrationHandler({
    catalogue,
    options: { gwpSet: GWP_SETS[gwpSet], defaultIntervalS: 60, latenessMs: 48 * 3_600_000, idleCloseMs: 600_000 },
    stations: { get: (id) => entries.get(id) },
    counters: { sample: (o) => outcomes.set(o, (outcomes.get(o) ?? 0) + 1), record: () => undefined },
  });
  const state = new PartitionState<ConcentrationState>();
  let staged: Array<{ topic: string; value: Concentration }> = [];
  const h: Harness = {
    handler,
    state,
    emitted: [],
    outcomes,
    clock: Date.parse('2026-01-01T00:00:00Z'),
    batch(readings, commit = true) {
      handler.beginBatch(0);
      for (const value of readings) handler.handle({ message: MESSAGE, value }, ctx);
      settle(commit);
    },
    timers() {
      for (const [key, value] of [...state.entries()]) {
        const due = handler.timerOf(value);
        if (due !== undefined && due <= h.clock) handler.onTimer(key, ctx);
      }
      settle(true);
    },
  };
  const settle = (commit: boolean) => {
    if (commit) {
      state.commit();
      h.emitted.push(...staged);
    } else {
      state.rollback();
    }
    staged = [];
  };
  const ctx: WorkerContext<ConcentrationState> = {
    partition: 0,
    get: (k) => state.get(k),
    put: (k, v) => state.put(k, v),
    delete: (k) => state.delete(k),
    emit: (topic: TopicSpec, value: unknown) => void staged.push({ topic: topic.name, value: value as Concentration }),
    now: () => h.clock,
  };
  return h;
}

function run(scenario: ConcentrationScenario, split = false): Harness {
  const { station } = scenario;
  const h = harness(scenario.gwpSet as GwpSetName, new Map([[station.deviceId, {
    organisationId: station.organisationId, siteId: station.siteId, timeZone: station.timeZone, intervalS: station.intervalS,
  }]]));
  for (const uplink of scenario.uplinks) {
    const readings = stationReadings(station.deviceId, uplink, station.organisationId, station.siteId);
    h.clock += 1000;
    if (split) {
      // Every reading in a batch of its own: an uplink's readings split across batches pair all the same.
      for (const r of readings) h.batch([r]);
    } else {
      h.batch(readings);
    }
  }
  h.clock = FAR_FUTURE;
  h.timers();
  return h;
}

const keyOf = (e: { topic: string; value: Concentration }) => catalogue.byName(e.topic)!.keyOf(e.value as never);

function expectMatches(h: Harness, scenario: ConcentrationScenario): void {
  const topicOf = { hourly: catalogue.concentrationHourly.name, daily: catalogue.concentrationDaily.name };
  const got = h.emitted.map((e) => `${e.topic} ${keyOf(e)} r${e.value.revision}`).sort();
  const want = scenario.expected.map((x) => `${topicOf[x.topic]} ${x.key} r${x.revision}`).sort();
  expect(got).toEqual(want);
  for (const expected of scenario.expected) {
    const record = h.emitted.find((e) => e.topic === topicOf[expected.topic] && keyOf(e) === expected.key && e.value.revision === expected.revision)!;
    for (const [field, value] of Object.entries(expected)) {
      if (field === 'topic' || field === 'key') continue;
      const actual = (record.value as unknown as Record<string, unknown>)[field];
      if (field === 'periodStartAt' || field === 'periodEndAt') expect(new Date(actual as number).toISOString(), field).toBe(value);
      else if (typeof value === 'number' && !Number.isInteger(value)) expect(Math.abs((actual as number) - value), `${field} ${String(actual)} vs ${value}`).toBeLessThanOrEqual(Math.abs(value) * 1e-12);
      else expect(actual, field).toEqual(value);
    }
    expect(record.value.stationId).toBe(scenario.station.deviceId.slice('station:'.length));
    expect(record.value.organisationId).toBe(scenario.station.organisationId);
    expect(record.value.timeZone).toBe(scenario.station.timeZone ?? 'UTC');
  }
  for (const [outcome, count] of Object.entries(scenario.expectedOutcomes ?? {})) expect(h.outcomes.get(outcome as SampleOutcome) ?? 0, outcome).toBe(count);
}

describe('the concentration reference scenarios (test/fixtures/concentration)', () => {
  for (const scenario of concentrationScenarios()) {
    it(`${scenario.file}: ${scenario.description}`, () => expectMatches(run(scenario), scenario));
    it(`${scenario.file}: gives the same records when every reading comes in a batch of its own`, () => expectMatches(run(scenario, true), scenario));
  }
});

describe('the concentration handler', () => {
  const [minsk] = concentrationScenarios().filter((s) => s.file.startsWith('minsk'));
  const station = minsk!.station;
  const entries = new Map([[station.deviceId, { organisationId: 'org-1', siteId: 'site-1', timeZone: 'Europe/Minsk', intervalS: 60 }]]);

  it('leaves committed state untouched when a batch rolls back, and the retried batch gives the same records', () => {
    const h = harness('IPCC-AR6', entries);
    const [u1, u2, u3, u4] = minsk!.uplinks.map((u) => stationReadings(station.deviceId, u));
    h.batch([...u1!, ...u2!]);
    const before = JSON.stringify([...h.state.entries()]);
    h.batch([...u3!, ...u4!], false);
    expect(JSON.stringify([...h.state.entries()])).toBe(before);
    expect(h.emitted).toEqual([]);
    h.batch([...u3!, ...u4!]);
    // u4 starts the next hour: the first hour's CO2 and CH4 records are out.
    expect(h.emitted.map((e) => [e.value.gas, e.value.granularity, e.value.count, e.value.revision])).toEqual([
      ['CO2', 'HOURLY', 3, 1],
      ['CH4', 'HOURLY', 3, 1],
    ]);
  });

  it('ignores meters and the quantities it does not use', () => {
    const h = harness('IPCC-AR6', entries);
    const readings = stationReadings('mbus:1002038704771403', { uplinkId: 'x', observedAt: '2026-03-29T09:00:00Z', gases: { co2: 400 }, temperatureC: 1, pressurePa: 100000 });
    h.batch(readings);
    expect([...h.state.entries()]).toEqual([]);
  });

  it('waits for the station to be silent before closing its current period by the wall clock', () => {
    const h = harness('IPCC-AR6', entries);
    h.clock = Date.parse('2026-03-29T09:30:00Z');
    h.batch(stationReadings(station.deviceId, minsk!.uplinks[0]!));
    h.clock = Date.parse('2026-03-29T09:35:00Z');
    h.timers();
    expect(h.emitted).toEqual([]);
    h.clock = Date.parse('2026-03-29T10:05:00Z');
    h.timers();
    // The hour has ended and the station has been silent for 35 min (closing needs 10): the hour is out without a next sample.
    const co2 = () => h.emitted.filter((e) => e.value.gas === 'CO2');
    expect(co2().map((e) => e.value.granularity)).toEqual(['HOURLY']);
    h.batch(stationReadings(station.deviceId, { ...minsk!.uplinks[1]!, uplinkId: 'late', observedAt: '2026-03-29T09:45:00Z' }));
    expect(co2().map((e) => [e.value.count, e.value.revision])).toEqual([[1, 1], [2, 2]]);
  });

  it('drops hours and days that ended behind the lateness window, so a station\'s state stays bounded', () => {
    const h = harness('IPCC-AR6', entries);
    const start = Date.parse('2026-03-01T00:30:00Z');
    for (let hour = 0; hour < 24 * 5; hour++) {
      h.batch(stationReadings(station.deviceId, { uplinkId: `p${hour}`, observedAt: new Date(start + hour * 3_600_000).toISOString(), gases: { co2: 400 }, temperatureC: 1, pressurePa: 100000 }));
    }
    const keys = [...h.state.entries()].map(([key]) => key);
    // The station, the hours within 48 h of its newest sample (and the open one), and the days they touch.
    expect(keys.filter((k) => k.includes('|h|')).length).toBeLessThanOrEqual(50);
    expect(keys.filter((k) => k.includes('|d|')).length).toBeLessThanOrEqual(4);
    expect(h.emitted.filter((e) => e.value.granularity === 'HOURLY')).toHaveLength(24 * 5 - 1);
    // A sample 47 h late still restates its hour.
    h.batch(stationReadings(station.deviceId, { uplinkId: 'late', observedAt: new Date(start + (24 * 5 - 48) * 3_600_000 + 60_000).toISOString(), gases: { co2: 500 }, temperatureC: 1, pressurePa: 100000 }));
    expect(h.emitted.at(-2)?.value).toMatchObject({ granularity: 'HOURLY', count: 2, revision: 2 });
  });

  it('refuses samples older than the lateness window behind the station\'s newest sample', () => {
    const h = harness('IPCC-AR6', entries);
    h.batch(stationReadings(station.deviceId, { uplinkId: 'new', observedAt: '2026-03-29T09:00:00Z', gases: { co2: 400 }, temperatureC: 1, pressurePa: 100000 }));
    h.batch(stationReadings(station.deviceId, { uplinkId: 'old', observedAt: '2026-03-27T08:59:59Z', gases: { co2: 400 }, temperatureC: 1, pressurePa: 100000 }));
    expect(h.outcomes.get('too_late')).toBe(1);
  });
});
