import { describe, expect, it } from 'vitest';
import { SAMPLE_RECORDS } from '../../schemas/avro/samples.js';
import type { Alert } from '../../schemas/avro/index.js';
import { deliveriesForAlerts, type CandidateSubscription } from './store.js';

const alert: Alert = SAMPLE_RECORDS.Alert;

function candidate(overrides: Partial<CandidateSubscription>): CandidateSubscription {
  return {
    id: 'sub-1', organisationId: 'org-7', userId: 'user-1', channel: 'email', target: 'ann@example.org',
    siteIds: null, accessGroupIds: null, kinds: null, minSeverity: 'INFO', states: ['RAISED'], personGroupIds: [],
    createdAtMs: 0,
    ...overrides,
  };
}

const written = (a: Alert, writtenAtMs = 1_000) => ({ alert: a, writtenAtMs });

describe('deliveriesForAlerts', () => {
  it('gives each matching subscription of the alert organisation one delivery naming the alert revision', () => {
    const deliveries = deliveriesForAlerts([written(alert)], [candidate({}), candidate({ id: 'sub-2', userId: 'user-2', channel: 'webhook', target: 'http://x' })], new Map());
    expect(deliveries.map((d) => [d.subscriptionId, d.userId, d.channel, d.target, d.alertId, d.alertRevision])).toEqual([
      ['sub-1', 'user-1', 'email', 'ann@example.org', alert.alertId, 1],
      ['sub-2', 'user-2', 'webhook', 'http://x', alert.alertId, 1],
    ]);
  });

  it('never crosses organisations, and an alert without organisation reaches nobody', () => {
    const other = candidate({ organisationId: 'org-8' });
    expect(deliveriesForAlerts([written(alert)], [other], new Map())).toEqual([]);
    expect(deliveriesForAlerts([written({ ...alert, organisationId: null })], [candidate({})], new Map())).toEqual([]);
  });

  it('skips people who may not see the device and filters that do not match', () => {
    const groups = new Map([[alert.deviceId, 'group-north']]);
    const deliveries = deliveriesForAlerts(
      [written(alert)],
      [
        candidate({ id: 'restricted-elsewhere', personGroupIds: ['group-south'] }),
        candidate({ id: 'restricted-here', personGroupIds: ['group-north'] }),
        candidate({ id: 'critical-only', minSeverity: 'CRITICAL' }),
      ],
      groups,
    );
    expect(deliveries.map((d) => [d.subscriptionId, d.accessGroupId])).toEqual([['restricted-here', 'group-north']]);
  });

  it('tells a subscription only of alert changes written after it was created', () => {
    const subscription = candidate({ createdAtMs: 5_000 });
    expect(deliveriesForAlerts([written(alert, 4_999)], [subscription], new Map())).toEqual([]);
    expect(deliveriesForAlerts([written(alert, 5_000)], [subscription], new Map())).toHaveLength(1);
  });
});
