/**
 * The pure rules of notifications: which alert changes a subscription asks for, who may see which
 * device, what a delivery says, and how long to wait before the next attempt. No I/O here, so the
 * rules are tested without the stack; `store.ts` and `dispatcher.ts` apply them.
 */
import type { Alert, AlertSeverity, AlertState } from '../../schemas/avro/index.js';

/** Ways a delivery reaches a person, as in the `notification_channel` enum. */
export const CHANNELS = ['webhook', 'email', 'in_app'] as const;
export type Channel = (typeof CHANNELS)[number];

/** States of a delivery, as in the `notification_state` enum. */
export const DELIVERY_STATES = ['queued', 'sent', 'failed', 'read'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** Severities a subscription can ask for at least, lowest first. */
export const SEVERITIES = ['INFO', 'WARNING', 'CRITICAL'] as const satisfies readonly AlertSeverity[];
export type Severity = (typeof SEVERITIES)[number];

/** Alert states a subscription can ask for. */
export const ALERT_STATES = ['RAISED', 'UPDATED', 'CLEARED', 'ACKNOWLEDGED'] as const satisfies readonly AlertState[];

/** The filters of one alert subscription (`alert_subscriptions`); `null` matches everything. */
export interface SubscriptionFilter {
  readonly siteIds: readonly string[] | null;
  readonly accessGroupIds: readonly string[] | null;
  readonly kinds: readonly string[] | null;
  readonly minSeverity: Severity;
  readonly states: readonly string[];
}

/** What the registry says about the device an alert concerns, at matching time. */
export interface DeviceFacts {
  /** `devices.access_group_id`; `null` when the device is in no group (or not in the registry). */
  readonly accessGroupId: string | null;
}

/**
 * Whether a person may be told about a device. A person in no access group sees every device of
 * their organisation; a person in groups sees only devices in one of them — the same rule as for
 * group-limited API tokens (`graphql/server/context.ts`).
 */
export function personMaySee(personGroupIds: readonly string[], device: DeviceFacts): boolean {
  if (personGroupIds.length === 0) return true;
  return device.accessGroupId !== null && personGroupIds.includes(device.accessGroupId);
}

/** How urgent a severity is; UNKNOWN (a symbol this reader does not know) ranks below INFO. */
export function severityRank(severity: AlertSeverity | Severity): number {
  return SEVERITIES.indexOf(severity as Severity);
}

/**
 * Whether `filter` asks for this alert change. The organisation is not checked here: candidates
 * are only ever loaded from the alert's own organisation.
 */
export function filterMatches(filter: SubscriptionFilter, alert: Alert, device: DeviceFacts): boolean {
  if (!filter.states.includes(alert.state)) return false;
  if (severityRank(alert.severity) < severityRank(filter.minSeverity)) return false;
  if (filter.kinds !== null && !filter.kinds.includes(alert.kind)) return false;
  if (filter.siteIds !== null && (alert.siteId === null || !filter.siteIds.includes(alert.siteId))) return false;
  if (filter.accessGroupIds !== null && (device.accessGroupId === null || !filter.accessGroupIds.includes(device.accessGroupId))) {
    return false;
  }
  return true;
}

/** The content of one delivery: a subject and text for people, a JSON payload for webhooks. */
export interface DeliveryContent {
  readonly subject: string;
  readonly body: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

const STATE_WORDS: Readonly<Record<string, string>> = {
  RAISED: 'raised',
  UPDATED: 'updated',
  CLEARED: 'cleared',
  ACKNOWLEDGED: 'acknowledged',
};

/** The content of a delivery for an alert change. */
export function alertContent(alert: Alert): DeliveryContent {
  const word = STATE_WORDS[alert.state] ?? alert.state.toLowerCase();
  const subject = `[${alert.severity}] ${alert.kind} ${word}: ${alert.deviceId}`.slice(0, 200);
  const lines = [
    alert.message,
    '',
    `Device: ${alert.deviceId}`,
    ...(alert.siteId === null ? [] : [`Site: ${alert.siteId}`]),
    ...(alert.subject === null ? [] : [`Subject: ${alert.subject}`]),
    `State: ${alert.state} (revision ${alert.revision})`,
    `Raised at: ${new Date(alert.raisedAt).toISOString()}`,
    `Changed at: ${new Date(alert.updatedAt).toISOString()}`,
    ...(alert.clearedAt === null ? [] : [`Cleared at: ${new Date(alert.clearedAt).toISOString()}`]),
    ...Object.entries(alert.details).sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => `${key}: ${value}`),
  ];
  return {
    subject,
    body: lines.join('\n'),
    payload: {
      type: 'alert',
      alert: {
        alertId: alert.alertId,
        deviceId: alert.deviceId,
        organisationId: alert.organisationId,
        siteId: alert.siteId,
        kind: alert.kind,
        subject: alert.subject,
        severity: alert.severity,
        state: alert.state,
        message: alert.message,
        raisedAt: new Date(alert.raisedAt).toISOString(),
        updatedAt: new Date(alert.updatedAt).toISOString(),
        clearedAt: alert.clearedAt === null ? null : new Date(alert.clearedAt).toISOString(),
        acknowledgedAt: alert.acknowledgedAt === null ? null : new Date(alert.acknowledgedAt).toISOString(),
        details: alert.details,
        revision: alert.revision,
      },
    },
  };
}

/** The content of a delivery for an operator's message. */
export function messageContent(message: { id: string; subject: string; body: string; createdAt: Date }): DeliveryContent {
  return {
    subject: message.subject,
    body: message.body,
    payload: {
      type: 'message',
      message: { id: message.id, subject: message.subject, body: message.body, createdAt: message.createdAt.toISOString() },
    },
  };
}

/** Retry policy of the dispatcher. */
export interface RetryPolicy {
  /** Attempts in all, the first included; after the last failed one the delivery is `failed`. */
  readonly maxAttempts: number;
  /** Wait after the first failed attempt; doubles with each further one. */
  readonly baseDelayMs: number;
  /** Longest wait between attempts. */
  readonly maxDelayMs: number;
}

/**
 * Milliseconds to wait after failed attempt number `attempt` (1-based) before the next, or
 * `undefined` when no attempt is left. Exponential with up to 20 % jitter from `random` (0 to 1),
 * so receivers that come back are not hit by every dispatcher at once.
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number | undefined {
  if (attempt >= policy.maxAttempts) return undefined;
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(exponential * (1 - 0.2 * random()));
}

/** What one attempt to deliver came to. */
export type AttemptOutcome =
  | { readonly ok: true }
  /** `retriable` false: trying again cannot help (a 4xx answer, a refused address). */
  | { readonly ok: false; readonly retriable: boolean; readonly reason: string };

/**
 * The outcome of a webhook answer: 2xx is delivered; 408, 425, 429 and 5xx may pass later; a 3xx
 * redirect is not followed (a webhook URL names its receiver, and a redirect could point inside);
 * any other status is the receiver's refusal. Neither is retried.
 */
export function webhookOutcome(status: number): AttemptOutcome {
  if (status >= 200 && status < 300) return { ok: true };
  if (status >= 300 && status < 400) return { ok: false, retriable: false, reason: `webhook answered HTTP ${status}, a redirect, which is not followed` };
  const retriable = status === 408 || status === 425 || status === 429 || status >= 500;
  return { ok: false, retriable, reason: `webhook answered HTTP ${status}` };
}
