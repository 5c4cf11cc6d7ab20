/**
 * Test support: the readings decode makes of one station telemetry uplink (gases first, then
 * temperature and pressure, as streams/decode/decoders/station.ts emits them), and the reference
 * scenarios under test/fixtures/concentration. Used by tests and the benchmark only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { QualityFlag, Reading } from '../../../schemas/avro/index.js';
import { REPO_ROOT } from '../../../test/support/stack.js';

/** One station uplink as a scenario states it. */
export interface StationUplink {
  readonly uplinkId: string;
  /** ISO-8601 instant. */
  readonly observedAt: string;
  /** Quantity (`co2`, `ch4`, `n2o`) → ppm. */
  readonly gases: Readonly<Record<string, number>>;
  readonly temperatureC?: number;
  readonly pressurePa?: number;
  /** Quantity → quality flags of that reading. */
  readonly flags?: Readonly<Record<string, readonly QualityFlag[]>>;
  /** Put a meter's reading between each of this uplink's readings. */
  readonly interleave?: boolean;
}

/** A reference scenario: a station, its uplinks, and the records expected once everything closed. */
export interface ConcentrationScenario {
  readonly file: string;
  readonly description: string;
  readonly gwpSet: string;
  readonly station: {
    readonly deviceId: string;
    readonly timeZone: string | null;
    readonly intervalS: number | null;
    readonly organisationId: string | null;
    readonly siteId: string | null;
  };
  readonly uplinks: readonly StationUplink[];
  readonly expectedOutcomes?: Readonly<Record<string, number>>;
  /** Expected records: `topic` hourly or daily, `key`, and the fields to compare. */
  readonly expected: ReadonlyArray<Readonly<Record<string, unknown>> & { topic: 'hourly' | 'daily'; key: string; revision: number }>;
}

const FIXTURES = `${REPO_ROOT}test/fixtures/concentration/`;

/** Every scenario under test/fixtures/concentration, by file name. */
export function concentrationScenarios(): ConcentrationScenario[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, ...(JSON.parse(readFileSync(FIXTURES + file, 'utf8')) as Omit<ConcentrationScenario, 'file'>) }));
}

function reading(deviceId: string, uplinkId: string, index: number, quantity: string, value: number, unit: string, observedAt: number,
  flags: readonly QualityFlag[], organisationId: string | null, siteId: string | null): Reading {
  return {
    readingId: `${uplinkId}:${index}`,
    uplinkId,
    deviceId,
    registerKey: quantity,
    organisationId,
    siteId,
    quantity,
    value,
    unit,
    originalValue: value,
    originalUnit: unit,
    function: 'INSTANTANEOUS',
    storageNumber: 0,
    tariff: 0,
    subunit: 0,
    cumulative: false,
    observedAt,
    receivedAt: observedAt,
    qualityFlags: [...flags],
    decoderVersion: 'station@1.0.0',
  };
}

/** The readings of `uplink` in decode's order, with a meter reading between each when the uplink asks for it. */
export function stationReadings(deviceId: string, uplink: StationUplink, organisationId: string | null = null, siteId: string | null = null): Reading[] {
  const at = Date.parse(uplink.observedAt);
  const values: Array<[string, number, string]> = Object.entries(uplink.gases).map(([q, v]) => [q, v, 'ppm']);
  if (uplink.temperatureC !== undefined) values.push(['temperature', uplink.temperatureC, 'degC']);
  if (uplink.pressurePa !== undefined) values.push(['pressure', uplink.pressurePa, 'Pa']);
  values.push(['relative_humidity', 71, '%']);
  const out: Reading[] = [];
  values.forEach(([quantity, value, unit], index) => {
    out.push(reading(deviceId, uplink.uplinkId, index, quantity, value, unit, at, uplink.flags?.[quantity] ?? [], organisationId, siteId));
    if (uplink.interleave) {
      out.push({ ...reading('mbus:1002038704771403', `${uplink.uplinkId}-meter`, index, 'volume', 12.5 + index, 'm3', at, [], null, null), cumulative: true });
    }
  });
  return out;
}
