import { describe, expect, it } from 'vitest';
import { validateRecord } from '../../schemas/avro/index.js';
import { alertFor } from './alerts.js';
import type { UnalertedProblem } from './store.js';

const problem: UnalertedProblem = {
  id: 'ACCOUNT_WITHOUT_TARIFF|acc-1|water|2026-03', reason: 'ACCOUNT_WITHOUT_TARIFF', period: '2026-03', organisationId: 'org-7',
  accountId: 'acc-1', registerId: null, deviceId: 'mbus:1002038704771403', resource: 'water', formats: ['erip'],
  message: 'no tariff for water is in effect in 2026-03', firstSeenAt: Date.UTC(2026, 3, 2), resolvedAt: null, alertRevision: 1,
};

describe('alertFor', () => {
  it('raises a valid Alert keyed by the device, with the reason in the details and a stable id', () => {
    const alert = alertFor(problem, Date.UTC(2026, 3, 3))!;
    expect(validateRecord('Alert', alert)).toEqual({ ok: true });
    expect(alert).toMatchObject({
      alertId: 'BILLING_BLOCKED|mbus:1002038704771403|billing:ACCOUNT_WITHOUT_TARIFF:acc-1:water:2026-03',
      deviceId: 'mbus:1002038704771403', state: 'RAISED', severity: 'WARNING', revision: 1, clearedAt: null,
      details: { reasonCode: 'ACCOUNT_WITHOUT_TARIFF', period: '2026-03', formats: 'erip', billingAccountId: 'acc-1', resource: 'water' },
    });
  });

  it('clears the same alert id with the next revision once the problem is resolved', () => {
    const resolvedAt = Date.UTC(2026, 3, 4);
    const cleared = alertFor({ ...problem, resolvedAt, alertRevision: 2 }, Date.UTC(2026, 3, 5))!;
    expect(cleared).toMatchObject({ state: 'CLEARED', clearedAt: resolvedAt, updatedAt: resolvedAt, revision: 2 });
    expect(cleared.alertId).toBe(alertFor(problem, 0)!.alertId);
  });

  it('sends nothing for a problem without a device to key it by', () => {
    expect(alertFor({ ...problem, deviceId: null }, 0)).toBeUndefined();
  });
});
