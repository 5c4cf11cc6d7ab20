import { describe, expect, it } from 'vitest';
import { SAMPLE_RECORDS } from '../../schemas/avro/samples.js';
import type { Alert } from '../../schemas/avro/index.js';
import { alertContent, filterMatches, personMaySee, retryDelayMs, webhookOutcome, type SubscriptionFilter } from './model.js';

const alert: Alert = SAMPLE_RECORDS.Alert;
const everything: SubscriptionFilter = { siteIds: null, accessGroupIds: null, kinds: null, minSeverity: 'INFO', states: ['RAISED'] };
const inGroup = { accessGroupId: 'group-north' };

describe('filterMatches', () => {
  it('matches a raised alert when no filter narrows it', () => {
    expect(filterMatches(everything, alert, { accessGroupId: null })).toBe(true);
  });

  it.each<[string, Partial<SubscriptionFilter>, Partial<Alert>, boolean]>([
    ['another state', {}, { state: 'CLEARED' }, false],
    ['a state asked for', { states: ['RAISED', 'CLEARED'] }, { state: 'CLEARED' }, true],
    ['a severity below the minimum', { minSeverity: 'CRITICAL' }, {}, false],
    ['a severity at the minimum', { minSeverity: 'WARNING' }, {}, true],
    ['a severity the reader does not know', { minSeverity: 'INFO' }, { severity: 'UNKNOWN' }, false],
    ['another kind', { kinds: ['DEVICE_SILENT'] }, {}, false],
    ['one of the kinds', { kinds: ['DEVICE_SILENT', 'CONTINUOUS_FLOW'] }, {}, true],
    ['another site', { siteIds: ['site-1'] }, {}, false],
    ['its site', { siteIds: ['site-1', 'site-12'] }, {}, true],
    ['no site when sites are asked for', { siteIds: ['site-12'] }, { siteId: null }, false],
  ])('with %s gives %s', (_what, filter, change, expected) => {
    expect(filterMatches({ ...everything, ...filter }, { ...alert, ...change }, inGroup)).toBe(expected);
  });

  it('matches access groups against the device, and a device in no group against none', () => {
    const filter = { ...everything, accessGroupIds: ['group-north'] };
    expect(filterMatches(filter, alert, inGroup)).toBe(true);
    expect(filterMatches(filter, alert, { accessGroupId: 'group-south' })).toBe(false);
    expect(filterMatches(filter, alert, { accessGroupId: null })).toBe(false);
  });
});

describe('personMaySee', () => {
  it('lets a person in no group see every device, and a person in groups only their groups', () => {
    expect(personMaySee([], { accessGroupId: null })).toBe(true);
    expect(personMaySee([], inGroup)).toBe(true);
    expect(personMaySee(['group-north'], inGroup)).toBe(true);
    expect(personMaySee(['group-south'], inGroup)).toBe(false);
    expect(personMaySee(['group-south'], { accessGroupId: null })).toBe(false);
  });
});

describe('retryDelayMs', () => {
  const policy = { maxAttempts: 4, baseDelayMs: 1_000, maxDelayMs: 3_000 };

  it('doubles from the base up to the maximum, and gives up after the last attempt', () => {
    const noJitter = () => 0;
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(policy, attempt, noJitter))).toEqual([1_000, 2_000, 3_000, undefined]);
  });

  it('takes off at most a fifth as jitter', () => {
    expect(retryDelayMs(policy, 2, () => 1)).toBe(1_600);
    expect(retryDelayMs(policy, 2, () => 0.5)).toBe(1_800);
  });
});

describe('webhookOutcome', () => {
  it.each([
    [200, true, undefined],
    [204, true, undefined],
    [500, false, true],
    [503, false, true],
    [429, false, true],
    [408, false, true],
    [404, false, false],
    [410, false, false],
  ])('HTTP %i: delivered %s, retriable %s', (status, ok, retriable) => {
    const outcome = webhookOutcome(status);
    expect(outcome.ok).toBe(ok);
    if (!outcome.ok) {
      expect(outcome.retriable).toBe(retriable);
      expect(outcome.reason).toBe(`webhook answered HTTP ${status}`);
    }
  });

  it.each([301, 302, 307, 308])('HTTP %i: a redirect, not followed and not retried', (status) => {
    expect(webhookOutcome(status)).toEqual({ ok: false, retriable: false, reason: `webhook answered HTTP ${status}, a redirect, which is not followed` });
  });
});

describe('alertContent', () => {
  it('names severity, kind, state and device in the subject, and the facts in the body and payload', () => {
    const content = alertContent(alert);
    expect(content.subject).toBe(`[WARNING] CONTINUOUS_FLOW raised: ${alert.deviceId}`);
    expect(content.body.split('\n')).toEqual([
      'Volume advanced for 26 h without a pause',
      '',
      `Device: ${alert.deviceId}`,
      'Site: site-12',
      'Subject: volume',
      'State: RAISED (revision 1)',
      'Raised at: 2026-03-29T07:15:02.318Z',
      'Changed at: 2026-03-29T07:15:02.318Z',
      'flowingForMs: 93600000',
      'thresholdMs: 86400000',
    ]);
    expect(content.payload).toMatchObject({
      type: 'alert',
      alert: { alertId: alert.alertId, state: 'RAISED', revision: 1, raisedAt: '2026-03-29T07:15:02.318Z', clearedAt: null },
    });
  });
});
