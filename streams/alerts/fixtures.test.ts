/**
 * Hand-computed scenarios in test/fixtures/alerts/: each file holds readings (as series) and the
 * alert changes they must produce, with the reasoning in its `description`. Readings go through the
 * handler in order, each handled at its own receipt time, so no device falls silent.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createTopicCatalogue, type TopicSpec } from '../../core/topics.js';
import type { IncomingMessage } from '../../core/kafka/client.js';
import type { Alert, QualityFlag, Reading } from '../../schemas/avro/index.js';
import { SAMPLE_RECORDS } from '../../schemas/avro/samples.js';
import type { WorkerContext } from '../runtime/stateful-worker.js';
import type { ConcentrationThreshold } from './concentration.js';
import { createAlertsHandler } from './handler.js';
import type { AlertsRegistry } from './registry.js';
import type { AlertsState } from './state.js';

const DIR = fileURLToPath(new URL('../../test/fixtures/alerts/', import.meta.url));

interface Series {
  readonly registerKey: string;
  readonly quantity: string;
  readonly unit: string;
  readonly from: string;
  readonly everyMin: number;
  /** Either `count` values from `start` by `step`, or the `values` themselves. */
  readonly count?: number;
  readonly start?: number;
  readonly step?: number;
  readonly values?: readonly number[];
  readonly qualityFlags?: readonly QualityFlag[];
}

interface Scenario {
  readonly description: string;
  readonly device: { readonly medium: string; readonly deviceId?: string };
  readonly thresholds?: readonly ConcentrationThreshold[];
  readonly series: readonly Series[];
  readonly expected: ReadonlyArray<Pick<Alert, 'kind' | 'subject' | 'state' | 'severity' | 'revision'> & { readonly raisedAt: string; readonly updatedAt: string }>;
}

const catalogue = createTopicCatalogue();

function readingsOf(scenario: Scenario, deviceId: string): Reading[] {
  return scenario.series.flatMap((s) => {
    const values = s.values ?? Array.from({ length: s.count ?? 0 }, (_, i) => Number(((s.start ?? 0) + i * (s.step ?? 0)).toFixed(9)));
    return values.map((value, i): Reading => {
      const at = Date.parse(s.from) + i * s.everyMin * 60_000;
      return {
        ...SAMPLE_RECORDS.Reading,
        readingId: `${s.registerKey}-${at}`,
        deviceId,
        organisationId: 'org-fixture',
        siteId: null,
        registerKey: s.registerKey,
        quantity: s.quantity,
        unit: s.unit,
        value,
        cumulative: s.unit !== 'ppm',
        function: 'INSTANTANEOUS',
        storageNumber: 0,
        tariff: 0,
        subunit: 0,
        observedAt: at,
        receivedAt: at,
        qualityFlags: [...(s.qualityFlags ?? [])],
      };
    });
  });
}

function run(scenario: Scenario): Alert[] {
  const deviceId = scenario.device.deviceId ?? 'mbus:1234567804771407';
  const registry: AlertsRegistry = {
    prefetchDevices: async () => undefined,
    prefetchThresholds: async () => undefined,
    device: (id) => (id === deviceId ? { deviceId, status: 'active', medium: scenario.device.medium, expectedIntervalS: 900, organisationId: 'org-fixture', lastSeenAt: null } : undefined),
    thresholds: () => scenario.thresholds ?? [],
  };
  const handler = createAlertsHandler({ catalogue, registry, rules: { factor: 3, defaultIntervalS: 3600, continuousFlowHours: 24 } });
  const state = new Map<string, AlertsState>();
  const alerts: Alert[] = [];
  let now = 0;
  const ctx: WorkerContext<AlertsState> = {
    partition: 0,
    get: (key) => state.get(key),
    put: (key, value) => void state.set(key, value),
    delete: (key) => void state.delete(key),
    emit: (topic: TopicSpec, value: unknown) => void alerts.push(value as Alert),
    now: () => now,
  };
  for (const reading of readingsOf(scenario, deviceId)) {
    now = reading.receivedAt;
    handler.handle({ message: {} as IncomingMessage, value: reading }, ctx);
  }
  return alerts;
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

describe('alert scenarios (test/fixtures/alerts)', () => {
  it('has scenarios', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    const scenario = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Scenario;
    it(`${file}: ${scenario.description.split('. ')[0]}`, () => {
      const alerts = run(scenario).map((a) => ({
        kind: a.kind,
        subject: a.subject,
        state: a.state,
        severity: a.severity,
        raisedAt: new Date(a.raisedAt).toISOString(),
        updatedAt: new Date(a.updatedAt).toISOString(),
        revision: a.revision,
      }));
      expect(alerts).toEqual(scenario.expected);
    });
  }
});
