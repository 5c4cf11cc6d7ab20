/**
 * Problems that hold exports back, as Alert records on `alert.v1`: RAISED when a problem appears
 * (or reappears), CLEARED when an evaluation no longer finds it. The alert's revision is the
 * problem's `alert_revision`, so a re-sent alert (after a crash before `alerted_revision` was
 * recorded) is one consumers already hold and ignore.
 */
import type { Alert, AlertKind } from '../../schemas/avro/index.js';
import type { UnalertedProblem } from './store.js';

/** The kind of every billing alert; `details.reasonCode` says which problem blocks the export. */
export const BILLING_ALERT_KIND: AlertKind = 'BILLING_BLOCKED';

/** The alert stating `problem`'s current state; undefined when the problem names no device to key it by. */
export function alertFor(problem: UnalertedProblem, now: number): Alert | undefined {
  if (problem.deviceId === null) return undefined;
  const subject = `billing:${problem.id.replaceAll('|', ':')}`;
  const details: Record<string, string> = { reasonCode: problem.reason, period: problem.period, formats: problem.formats.join(',') };
  if (problem.accountId !== null) details['billingAccountId'] = problem.accountId;
  if (problem.registerId !== null) details['registerId'] = problem.registerId;
  if (problem.resource !== null) details['resource'] = problem.resource;
  return {
    alertId: `${BILLING_ALERT_KIND}|${problem.deviceId}|${subject}`,
    deviceId: problem.deviceId,
    organisationId: problem.organisationId,
    siteId: null,
    kind: BILLING_ALERT_KIND,
    subject,
    severity: 'WARNING',
    state: problem.resolvedAt === null ? 'RAISED' : 'CLEARED',
    message: `Billing export held back (${problem.formats.join(', ')}): ${problem.message}`,
    raisedAt: problem.firstSeenAt,
    updatedAt: problem.resolvedAt ?? now,
    clearedAt: problem.resolvedAt,
    acknowledgedAt: null,
    acknowledgedBy: null,
    details,
    revision: problem.alertRevision,
  };
}
