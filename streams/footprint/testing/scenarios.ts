/**
 * Test support: the reference scenarios under test/fixtures/footprint (consumption records and
 * factor table changes, with the Footprint records expected in order), and Consumption records
 * built from their short form. Used by tests only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Consumption, Footprint } from '../../../schemas/avro/index.js';
import { REPO_ROOT } from '../../../test/support/stack.js';
import type { EmissionFactor } from '../factors.js';

/** A factor row as a scenario states it. */
export interface ScenarioFactor extends Omit<EmissionFactor, 'kgCo2ePerUnit'> {
  readonly kg: string;
}

/** A consumption record as a scenario states it (times as ISO-8601). */
export interface ScenarioConsumption {
  readonly registerId: string;
  readonly deviceId: string;
  readonly registerKey: string;
  readonly unit: string;
  readonly siteId: string | null;
  readonly localPeriod: string;
  readonly periodStartAt: string;
  readonly periodEndAt: string;
  readonly delta: string | null;
  readonly open: boolean;
  readonly status: Consumption['status'];
  readonly revision: number;
}

export interface FootprintScenario {
  readonly file: string;
  readonly description: string;
  readonly organisationId: string;
  readonly registry: {
    readonly devices: Readonly<Record<string, string>>;
    readonly sites: Readonly<Record<string, string | null>>;
    readonly organisations: Readonly<Record<string, string | null>>;
  };
  readonly factors: readonly ScenarioFactor[];
  /**
   * In order: a consumption record arrives; the organisation's check runs (`tick`); or the factor
   * table becomes the one given, and the check runs.
   */
  readonly steps: ReadonlyArray<{ readonly consumption: ScenarioConsumption } | { readonly factors: readonly ScenarioFactor[] } | { readonly tick: true }>;
  /** Records in the order they are written; times as ISO-8601, computedAt left out. */
  readonly expected: ReadonlyArray<Omit<Footprint, 'periodStartAt' | 'periodEndAt' | 'computedAt'> & { periodStartAt: string; periodEndAt: string }>;
  readonly expectedOutcomes?: Readonly<Record<string, number>>;
}

const FIXTURES = `${REPO_ROOT}test/fixtures/footprint/`;

export function footprintScenarios(): FootprintScenario[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, ...(JSON.parse(readFileSync(FIXTURES + file, 'utf8')) as Omit<FootprintScenario, 'file'>) }));
}

export function factorOf(f: ScenarioFactor): EmissionFactor {
  const { kg, ...rest } = f;
  return { ...rest, kgCo2ePerUnit: kg };
}

/** The Consumption record a scenario step stands for. */
export function consumptionOf(c: ScenarioConsumption, organisationId: string): Consumption {
  return {
    registerId: c.registerId,
    deviceId: c.deviceId,
    registerKey: c.registerKey,
    organisationId,
    siteId: c.siteId,
    granularity: 'MONTHLY',
    periodStartAt: Date.parse(c.periodStartAt),
    periodEndAt: Date.parse(c.periodEndAt),
    localPeriod: c.localPeriod,
    timeZone: 'Europe/Minsk',
    billingDayStartHour: 0,
    startValue: '0',
    endValue: c.delta,
    delta: c.delta,
    unit: c.unit,
    quality: 'MEASURED',
    status: c.status,
    open: c.open,
    revision: c.revision,
    rollovers: 0,
    meterReplacements: 0,
    computedAt: 0,
  };
}

/** A Footprint as the scenarios state it: ISO times, no computedAt. */
export function comparable(f: Footprint): Record<string, unknown> {
  const { computedAt: _computedAt, ...rest } = f;
  return { ...rest, periodStartAt: new Date(f.periodStartAt).toISOString(), periodEndAt: new Date(f.periodEndAt).toISOString() };
}
