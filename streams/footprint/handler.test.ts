import { describe, expect, it } from 'vitest';
import type { Footprint } from '../../schemas/avro/index.js';
import type { IncomingMessage } from '../../core/kafka/client.js';
import { createTopicCatalogue } from '../../core/topics.js';
import type { WorkerContext } from '../runtime/stateful-worker.js';
import { PartitionState } from '../runtime/state-store.js';
import type { FactorTable } from './factors.js';
import { createFootprintHandler, type ConsumptionOutcome } from './handler.js';
import type { FootprintState } from './state.js';
import { comparable, consumptionOf, factorOf, footprintScenarios, type FootprintScenario, type ScenarioFactor } from './testing/scenarios.js';

const catalogue = createTopicCatalogue();
const MESSAGE: IncomingMessage = { topic: 'x', partition: 0, offset: '0', key: null, value: null, headers: {}, timestampMs: 0 };
const CHECK_MS = 60_000;

function run(scenario: FootprintScenario): { emitted: Footprint[]; outcomes: Map<ConsumptionOutcome, number> } {
  let table: FactorTable = { version: '', factors: [] };
  const setFactors = (factors: readonly ScenarioFactor[]) => {
    table = { version: JSON.stringify(factors), factors: factors.map(factorOf) };
  };
  setFactors(scenario.factors);
  const outcomes = new Map<ConsumptionOutcome, number>();
  const { registry } = scenario;
  const handler = createFootprintHandler({
    catalogue,
    factors: { current: () => table, refresh: async () => undefined },
    directory: {
      medium: (id) => registry.devices[id],
      region: (site, org) => (site === null ? null : registry.sites[site] ?? null) ?? registry.organisations[org] ?? null,
    },
    factorCheckMs: CHECK_MS,
    counters: { consumption: (o) => outcomes.set(o, (outcomes.get(o) ?? 0) + 1), lineIssue: () => undefined, footprint: () => undefined },
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
  for (const step of scenario.steps) {
    if ('consumption' in step) {
      handler.handle({ message: MESSAGE, value: consumptionOf(step.consumption, scenario.organisationId) }, ctx);
    } else {
      if ('factors' in step) setFactors(step.factors);
      clock += CHECK_MS;
      for (const [key, value] of [...state.entries()]) {
        const due = handler.timerOf(value);
        if (due !== undefined && due <= clock) handler.onTimer(key, ctx);
      }
    }
    state.commit();
  }
  return { emitted, outcomes };
}

describe('the footprint reference scenarios (test/fixtures/footprint)', () => {
  for (const scenario of footprintScenarios()) {
    it(`${scenario.file}: ${scenario.description}`, () => {
      const { emitted, outcomes } = run(scenario);
      expect(emitted.map(comparable)).toEqual(scenario.expected);
      for (const [outcome, count] of Object.entries(scenario.expectedOutcomes ?? {})) expect(outcomes.get(outcome as ConsumptionOutcome) ?? 0, outcome).toBe(count);
    });
  }
});

describe('the footprint handler', () => {
  it('keeps each emitted total equal to the sum of its lines', () => {
    for (const scenario of footprintScenarios()) {
      for (const record of run(scenario).emitted) {
        const sum = record.lines.reduce((acc, l) => acc + BigInt(l.emissionsKgCo2e.replace('.', '')), 0n);
        expect(BigInt(record.emissionsKgCo2e.replace('.', ''))).toBe(sum);
      }
    }
  });
});
