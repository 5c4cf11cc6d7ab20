import { describe, expect, it } from 'vitest';
import type { Footprint } from '../../schemas/avro/index.js';
import type { IncomingMessage } from '../../core/kafka/client.js';
import { createTopicCatalogue } from '../../core/topics.js';
import type { WorkerContext } from '../runtime/stateful-worker.js';
import { PartitionState } from '../runtime/state-store.js';
import type { ExpectedRegister } from './compute.js';
import type { FactorTable } from './factors.js';
import { createFootprintHandler, type ConsumptionOutcome, type FootprintTrigger } from './handler.js';
import type { FootprintState } from './state.js';
import { comparable, consumptionOf, factorOf, footprintScenarios, type FootprintScenario, type ScenarioConsumption, type ScenarioFactor } from './testing/scenarios.js';

const catalogue = createTopicCatalogue();
const MESSAGE: IncomingMessage = { topic: 'x', partition: 0, offset: '0', key: null, value: null, headers: {}, timestampMs: 0 };
const CHECK_MS = 60_000;

interface HarnessOptions {
  readonly organisationId: string;
  readonly registry: FootprintScenario['registry'];
  readonly factors: readonly ScenarioFactor[];
  /** The organisation's registers in PostgreSQL; a function is asked at every query, and may throw. @default [] */
  readonly registers?: readonly ExpectedRegister[] | (() => readonly ExpectedRegister[]);
}

/** The handler over an in-memory partition, with the runner's commit after each step. */
function harness(options: HarnessOptions) {
  let table: FactorTable = { version: '', factors: [] };
  const setFactors = (factors: readonly ScenarioFactor[]) => {
    table = { version: JSON.stringify(factors), factors: factors.map(factorOf) };
  };
  setFactors(options.factors);
  const outcomes = new Map<ConsumptionOutcome, number>();
  const triggers: FootprintTrigger[] = [];
  let registryQueries = 0;
  let registryErrors = 0;
  const { registry } = options;
  const handler = createFootprintHandler({
    catalogue,
    factors: { current: () => table, refresh: async () => undefined },
    directory: {
      medium: (id) => registry.devices[id],
      region: (site, org) => (site === null ? null : registry.sites[site] ?? null) ?? registry.organisations[org] ?? null,
      expectedRegisters: async () => {
        registryQueries++;
        const { registers = [] } = options;
        return typeof registers === 'function' ? registers() : registers;
      },
    },
    factorCheckMs: CHECK_MS,
    counters: {
      consumption: (o) => outcomes.set(o, (outcomes.get(o) ?? 0) + 1),
      lineIssue: () => undefined,
      footprint: (t) => void triggers.push(t),
      registryError: () => void registryErrors++,
    },
  });
  const state = new PartitionState<FootprintState>();
  const emitted: Footprint[] = [];
  let clock = Date.parse('2026-04-01T00:00:00Z');
  const ctx: WorkerContext<FootprintState> = {
    partition: 0,
    get: (k) => state.get(k),
    put: (k, v) => state.put(k, v),
    delete: (k) => state.delete(k),
    emit: (_topic, value) => void emitted.push(value as Footprint),
    now: () => clock,
  };
  return {
    emitted,
    outcomes,
    triggers,
    stats: () => ({ registryQueries, registryErrors }),
    state,
    consume(c: ScenarioConsumption) {
      handler.handle({ message: MESSAGE, value: consumptionOf(c, options.organisationId) }, ctx);
      state.commit();
    },
    async tick(factors?: readonly ScenarioFactor[]) {
      if (factors !== undefined) setFactors(factors);
      clock += CHECK_MS;
      for (const [key, value] of [...state.entries()]) {
        const due = handler.timerOf(value);
        if (due !== undefined && due <= clock) await handler.onTimer(key, ctx);
      }
      state.commit();
    },
  };
}

async function run(scenario: FootprintScenario): Promise<{ emitted: Footprint[]; outcomes: Map<ConsumptionOutcome, number> }> {
  const h = harness({ organisationId: scenario.organisationId, registry: scenario.registry, factors: scenario.factors });
  for (const step of scenario.steps) {
    if ('consumption' in step) h.consume(step.consumption);
    else await h.tick('factors' in step ? step.factors : undefined);
  }
  return { emitted: h.emitted, outcomes: h.outcomes };
}

describe('the footprint reference scenarios (test/fixtures/footprint)', () => {
  for (const scenario of footprintScenarios()) {
    it(`${scenario.file}: ${scenario.description}`, async () => {
      const { emitted, outcomes } = await run(scenario);
      expect(emitted.map(comparable)).toEqual(scenario.expected);
      for (const [outcome, count] of Object.entries(scenario.expectedOutcomes ?? {})) expect(outcomes.get(outcome as ConsumptionOutcome) ?? 0, outcome).toBe(count);
    });
  }
});

describe('the footprint handler', () => {
  it('keeps each emitted total equal to the sum of its lines', async () => {
    for (const scenario of footprintScenarios()) {
      for (const record of (await run(scenario)).emitted) {
        const sum = record.lines.reduce((acc, l) => acc + BigInt(l.emissionsKgCo2e.replace('.', '')), 0n);
        expect(BigInt(record.emissionsKgCo2e.replace('.', ''))).toBe(sum);
      }
    }
  });
});

describe('a month is FINAL only when every counted register the organisation had in it has a FINAL line', () => {
  const org = 'org-x';
  const registry = { devices: { 'mbus:a': 'electricity', 'mbus:b': 'electricity', 'mbus:g': 'gas' }, sites: {}, organisations: { [org]: 'BY' } };
  const factors: ScenarioFactor[] = [
    { id: 'ef-el', resource: 'electricity', region: 'BY', kg: '0.4', unit: 'kWh', scope: 2, source: 'grid', validFrom: '2026-01-01', validTo: null, organisationId: null },
    { id: 'ef-gas', resource: 'gas', region: 'BY', kg: '2', unit: 'm3', scope: 1, source: 'inventory', validFrom: '2026-01-01', validTo: null, organisationId: null },
  ];
  const march = (registerId: string, deviceId: string, delta: string, over: Partial<ScenarioConsumption> = {}): ScenarioConsumption => ({
    registerId, deviceId, registerKey: deviceId === 'mbus:g' ? 'volume' : 'energy', unit: deviceId === 'mbus:g' ? 'm3' : 'Wh', siteId: null,
    localPeriod: '2026-03', periodStartAt: '2026-03-01T00:00:00.000Z', periodEndAt: '2026-04-01T00:00:00.000Z',
    delta, open: false, status: 'FINAL', revision: 1, ...over,
  });
  const known = (registerId: string, scope: ExpectedRegister['scope'], after = '2026-01', through: string | null = null): ExpectedRegister =>
    ({ registerId, scope, after, through });
  const statuses = (emitted: readonly Footprint[], scope: Footprint['scope']) =>
    emitted.filter((f) => f.scope === scope).map((f) => [f.revision, f.status, f.emissionsKgCo2e]);

  it('keeps the month PROVISIONAL while a register known in PostgreSQL has not been seen, then writes FINAL once, without a RESTATED', async () => {
    const h = harness({ organisationId: org, registry, factors, registers: [known('reg-a', 'SCOPE_2'), known('reg-b', 'SCOPE_2')] });
    h.consume(march('reg-a', 'mbus:a', '1000000'));
    await h.tick();
    expect(statuses(h.emitted, 'SCOPE_2')).toEqual([[1, 'PROVISIONAL', '400.000000000']]);
    await h.tick();
    expect(h.emitted).toHaveLength(1);
    h.consume(march('reg-b', 'mbus:b', '2000000'));
    await h.tick();
    await h.tick();
    expect(statuses(h.emitted, 'SCOPE_2')).toEqual([[1, 'PROVISIONAL', '400.000000000'], [2, 'FINAL', '1200.000000000']]);
    expect(h.emitted.map((f) => f.status)).not.toContain('RESTATED');
  });

  it('gives the same records in any arrival order of the registers across checks', async () => {
    const records = [march('reg-a', 'mbus:a', '1000000'), march('reg-b', 'mbus:b', '2000000'), march('reg-g', 'mbus:g', '10')];
    const expected = [known('reg-a', 'SCOPE_2'), known('reg-b', 'SCOPE_2'), known('reg-g', 'SCOPE_1')];
    const finals = [];
    for (const order of [[0, 1, 2], [2, 1, 0], [1, 0, 2]]) {
      const h = harness({ organisationId: org, registry, factors, registers: expected });
      for (const i of order) {
        h.consume(records[i]!);
        await h.tick();
      }
      expect(h.emitted.map((f) => f.status)).not.toContain('RESTATED');
      finals.push(h.emitted.filter((f) => f.status === 'FINAL').map((f) => [f.scope, f.emissionsKgCo2e, f.lines.map((l) => l.registerId)]));
    }
    expect(finals[1]).toEqual(expect.arrayContaining(finals[0]!));
    expect(finals[2]).toEqual(expect.arrayContaining(finals[0]!));
    expect(finals[0]).toHaveLength(2);
  });

  it('holds a scope only for its own registers, in the months they existed in', async () => {
    const h = harness({
      organisationId: org, registry, factors,
      registers: [
        known('reg-g', 'SCOPE_1'),
        known('reg-new', 'SCOPE_2', '2026-03'), // first heard during March: consumption has no March record for it
        known('reg-old', 'SCOPE_2', '2025-06', '2026-02'), // retired, last heard in February
      ],
    });
    h.consume(march('reg-a', 'mbus:a', '1000000'));
    await h.tick();
    expect(statuses(h.emitted, 'SCOPE_2')).toEqual([[1, 'FINAL', '400.000000000']]);
    h.consume(march('reg-g', 'mbus:g', '10'));
    await h.tick();
    expect(statuses(h.emitted, 'SCOPE_1')).toEqual([[1, 'FINAL', '20.000000000']]);
  });

  it('releases a waiting month when its register leaves the registry (retired), at the next check without new consumption', async () => {
    let expected = [known('reg-a', 'SCOPE_2'), known('reg-b', 'SCOPE_2')];
    const h = harness({ organisationId: org, registry, factors, registers: () => expected });
    h.consume(march('reg-a', 'mbus:a', '1000000'));
    await h.tick();
    expected = [known('reg-a', 'SCOPE_2'), known('reg-b', 'SCOPE_2', '2026-01', '2026-02')];
    await h.tick();
    expect(statuses(h.emitted, 'SCOPE_2')).toEqual([[1, 'PROVISIONAL', '400.000000000'], [2, 'FINAL', '400.000000000']]);
    expect(h.triggers).toEqual(['consumption', 'registry']);
    // Nothing waits any more: later checks do not ask the registry.
    const { registryQueries } = h.stats();
    await h.tick();
    expect(h.stats().registryQueries).toBe(registryQueries);
  });

  it('asks the registry only for a scope about to be FINAL for the first time', async () => {
    const h = harness({ organisationId: org, registry, factors, registers: [known('reg-a', 'SCOPE_2')] });
    h.consume(march('reg-a', 'mbus:a', '1000000', { status: 'PROVISIONAL' }));
    await h.tick();
    expect(h.stats().registryQueries).toBe(0);
    h.consume(march('reg-a', 'mbus:a', '1000000', { revision: 2 }));
    await h.tick();
    expect(h.stats().registryQueries).toBe(1);
    expect(statuses(h.emitted, 'SCOPE_2')).toEqual([[1, 'PROVISIONAL', '400.000000000'], [2, 'FINAL', '400.000000000']]);
    // A factor change recomputes the month; FINAL already, so the registry is not asked.
    await h.tick([...factors, { ...factors[0]!, id: 'ef-other', region: 'PL' }]);
    expect(h.stats().registryQueries).toBe(1);
  });

  it('decides nothing while the registry does not answer, and at the next check once it does', async () => {
    let down = true;
    const h = harness({
      organisationId: org, registry, factors,
      registers: () => {
        if (down) throw new Error('connection refused');
        return [known('reg-a', 'SCOPE_2')];
      },
    });
    h.consume(march('reg-a', 'mbus:a', '1000000'));
    await h.tick();
    expect(h.emitted).toEqual([]);
    expect(h.stats().registryErrors).toBe(1);
    down = false;
    await h.tick();
    expect(statuses(h.emitted, 'SCOPE_2')).toEqual([[1, 'FINAL', '400.000000000']]);
  });

  it('does not take a FINAL month back to PROVISIONAL when a register appears in PostgreSQL later; its line restates it', async () => {
    let expected = [known('reg-a', 'SCOPE_2')];
    const h = harness({ organisationId: org, registry, factors, registers: () => expected });
    h.consume(march('reg-a', 'mbus:a', '1000000'));
    await h.tick();
    expected = [known('reg-a', 'SCOPE_2'), known('reg-b', 'SCOPE_2')];
    await h.tick([...factors]); // a new table version: every month is recomputed
    h.consume(march('reg-b', 'mbus:b', '2000000'));
    await h.tick();
    expect(statuses(h.emitted, 'SCOPE_2')).toEqual([[1, 'FINAL', '400.000000000'], [2, 'RESTATED', '1200.000000000']]);
  });
});
