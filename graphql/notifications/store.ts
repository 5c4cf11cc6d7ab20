/**
 * PostgreSQL side of notifications (tables of migration 0007): matching candidates for alerts,
 * recording deliveries idempotently, and the dispatcher's claim-and-complete cycle. Every change of
 * a delivery's state appends a row to `notification_delivery_events` and sends a `pg_notify` on
 * {@link DELIVERY_NOTIFY_CHANNEL} in the same statement, so listeners (the live GraphQL feed, idle
 * dispatchers) hear of it exactly when it commits.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Alert } from '../../schemas/avro/index.js';
import {
  alertContent,
  filterMatches,
  personMaySee,
  type Channel,
  type DeliveryContent,
  type DeliveryState,
  type Severity,
  type SubscriptionFilter,
} from './model.js';

/** The `LISTEN` channel of delivery changes; payload: {@link DeliveryChange} as JSON. */
export const DELIVERY_NOTIFY_CHANNEL = 'meterflux_notification_deliveries';

/** What a delivery notification says; listeners load the row when they need more. */
export interface DeliveryChange {
  readonly id: string;
  readonly organisationId: string;
  readonly userId: string;
  readonly state: DeliveryState;
}

/** A pool or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'>;

/** An enabled subscription with what matching needs of its person. */
export interface CandidateSubscription extends SubscriptionFilter {
  readonly id: string;
  readonly organisationId: string;
  readonly userId: string;
  readonly channel: Channel;
  /** Where it goes: the webhook URL, or the address (the subscription's own, else the person's). */
  readonly target: string | null;
  /** Access groups of the person; empty: the person sees every device of the organisation. */
  readonly personGroupIds: readonly string[];
  /** When the subscription was created, epoch ms; it is told only of alert changes written since. */
  readonly createdAtMs: number;
}

/** A delivery to record. */
export interface NewDelivery {
  readonly organisationId: string;
  readonly userId: string;
  readonly channel: Channel;
  readonly target: string | null;
  readonly content: DeliveryContent;
  readonly subscriptionId?: string;
  readonly alertId?: string;
  readonly alertRevision?: number;
  readonly deviceId?: string;
  readonly accessGroupId?: string | null;
  readonly messageId?: string;
}

/** The enabled subscriptions of these organisations, each with its person's groups and address. */
export async function loadCandidates(db: Queryable, organisationIds: readonly string[]): Promise<CandidateSubscription[]> {
  if (organisationIds.length === 0) return [];
  const { rows } = await db.query<{
    id: string; organisation_id: string; user_id: string; site_ids: string[] | null; access_group_ids: string[] | null;
    kinds: string[] | null; min_severity: Severity; states: string[]; channel: Channel; target: string | null; person_groups: string[];
    created_at: Date;
  }>(
    `SELECT s.id, s.organisation_id, s.user_id, s.created_at, s.site_ids, s.access_group_ids, s.kinds, s.min_severity, s.states, s.channel,
            CASE s.channel WHEN 'webhook' THEN s.webhook_url WHEN 'email' THEN coalesce(s.email, u.email) END AS target,
            coalesce((SELECT array_agg(g.access_group_id) FROM user_access_groups g WHERE g.user_id = s.user_id), '{}') AS person_groups
       FROM alert_subscriptions s
       JOIN users u ON u.id = s.user_id AND u.organisation_id = s.organisation_id
      WHERE s.organisation_id = ANY($1) AND s.enabled AND s.deleted_at IS NULL`,
    [organisationIds],
  );
  return rows.map((r) => ({
    id: r.id,
    organisationId: r.organisation_id,
    userId: r.user_id,
    siteIds: r.site_ids,
    accessGroupIds: r.access_group_ids,
    kinds: r.kinds,
    minSeverity: r.min_severity,
    states: r.states,
    channel: r.channel,
    target: r.target,
    personGroupIds: r.person_groups,
    createdAtMs: r.created_at.getTime(),
  }));
}

/** Access group of each device, for the devices the registry knows; others are in no group. */
export async function loadDeviceGroups(db: Queryable, deviceIds: readonly string[]): Promise<Map<string, string | null>> {
  if (deviceIds.length === 0) return new Map();
  const { rows } = await db.query<{ id: string; access_group_id: string | null }>(
    'SELECT id, access_group_id FROM devices WHERE id = ANY($1)',
    [deviceIds],
  );
  return new Map(rows.map((r) => [r.id, r.access_group_id]));
}

/** An alert change as read from `alert.v1`. */
export interface AlertChange {
  readonly alert: Alert;
  /** The Kafka record's timestamp, epoch ms. */
  readonly writtenAtMs: number;
}

/**
 * The deliveries a batch of alert changes asks for: for each alert of an organisation, each
 * candidate of that same organisation whose filter matches and whose person may see the device.
 * Alerts without an organisation reach nobody, and a subscription hears only of changes written
 * after it was created, so re-reading the topic (a replay, lost offsets) never sends history to
 * people who subscribed since.
 */
export function deliveriesForAlerts(
  changes: readonly AlertChange[],
  candidates: readonly CandidateSubscription[],
  deviceGroups: ReadonlyMap<string, string | null>,
): NewDelivery[] {
  const byOrganisation = new Map<string, CandidateSubscription[]>();
  for (const candidate of candidates) {
    const list = byOrganisation.get(candidate.organisationId) ?? [];
    list.push(candidate);
    byOrganisation.set(candidate.organisationId, list);
  }
  const out: NewDelivery[] = [];
  for (const { alert, writtenAtMs } of changes) {
    if (alert.organisationId === null) continue;
    const device = { accessGroupId: deviceGroups.get(alert.deviceId) ?? null };
    for (const candidate of byOrganisation.get(alert.organisationId) ?? []) {
      if (writtenAtMs < candidate.createdAtMs) continue;
      if (!filterMatches(candidate, alert, device) || !personMaySee(candidate.personGroupIds, device)) continue;
      out.push({
        organisationId: alert.organisationId,
        userId: candidate.userId,
        channel: candidate.channel,
        target: candidate.target,
        content: alertContent(alert),
        subscriptionId: candidate.id,
        alertId: alert.alertId,
        alertRevision: alert.revision,
        deviceId: alert.deviceId,
        accessGroupId: device.accessGroupId,
      });
    }
  }
  return out;
}

const NOTIFY_ROW = `pg_notify('${DELIVERY_NOTIFY_CHANNEL}',
  json_build_object('id', id, 'organisationId', organisation_id, 'userId', user_id, 'state', state)::text)`;

/**
 * Records deliveries, skipping any that exist already (the same alert revision for the same
 * subscription, or the same message for the same person and channel); in-app deliveries are `sent`
 * at once, the rest `queued` for the dispatcher. Returns the ids of the rows actually inserted.
 */
export async function recordDeliveries(db: Queryable, deliveries: readonly NewDelivery[]): Promise<string[]> {
  if (deliveries.length === 0) return [];
  const column = <T>(pick: (d: NewDelivery) => T): T[] => deliveries.map(pick);
  const { rows } = await db.query<{ id: string }>(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::notification_channel[], $5::text[], $6::text[], $7::text[],
                            $8::bigint[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
         AS t(id, organisation_id, user_id, channel, target, subscription_id, alert_id, alert_revision, device_id,
              access_group_id, message_id, subject, body, payload)
     ), inserted AS (
       INSERT INTO notification_deliveries (id, organisation_id, user_id, channel, target, subscription_id, alert_id, alert_revision,
                                            device_id, access_group_id, message_id, subject, body, payload, state, sent_at)
       SELECT id, organisation_id, user_id, channel, target, subscription_id, alert_id, alert_revision, device_id, access_group_id,
              message_id, subject, body, payload::jsonb,
              CASE WHEN channel = 'in_app' THEN 'sent' ELSE 'queued' END::notification_state,
              CASE WHEN channel = 'in_app' THEN now() END
         FROM input
       ON CONFLICT DO NOTHING
       RETURNING id, organisation_id, user_id, state
     ), events AS (
       INSERT INTO notification_delivery_events (delivery_id, state, attempt) SELECT id, state, 0 FROM inserted
     )
     SELECT id, ${NOTIFY_ROW} FROM inserted`,
    [
      column(() => randomUUID()),
      column((d) => d.organisationId),
      column((d) => d.userId),
      column((d) => d.channel),
      column((d) => d.target),
      column((d) => d.subscriptionId ?? null),
      column((d) => d.alertId ?? null),
      column((d) => (d.alertRevision === undefined ? null : String(d.alertRevision))),
      column((d) => d.deviceId ?? null),
      column((d) => d.accessGroupId ?? null),
      column((d) => d.messageId ?? null),
      column((d) => d.content.subject),
      column((d) => d.content.body),
      column((d) => JSON.stringify(d.content.payload)),
    ],
  );
  return rows.map((r) => r.id);
}

/** A delivery the dispatcher holds a lease on. */
export interface ClaimedDelivery {
  readonly id: string;
  readonly channel: Exclude<Channel, 'in_app'>;
  readonly target: string;
  readonly subject: string;
  readonly body: string;
  readonly payload: unknown;
  readonly webhookSecret: string | null;
  /** This attempt's number, 1 for the first. */
  readonly attempt: number;
}

/**
 * Leases up to `limit` queued deliveries that are due, counting the attempt. Other dispatchers
 * skip them until the lease ends, so a dispatcher that dies mid-send only delays its deliveries.
 */
export async function claimDue(db: Queryable, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  const { rows } = await db.query<{
    id: string; channel: ClaimedDelivery['channel']; target: string; subject: string; body: string; payload: unknown;
    webhook_secret: string | null; attempts: number;
  }>(
    `UPDATE notification_deliveries d
        SET lease_until = now() + $2 * interval '1 millisecond', attempts = d.attempts + 1, updated_at = now()
       FROM (SELECT id FROM notification_deliveries
              WHERE state = 'queued' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
              ORDER BY next_attempt_at
              LIMIT $1
              FOR UPDATE SKIP LOCKED) due
      WHERE d.id = due.id
      RETURNING d.id, d.channel, d.target, d.subject, d.body, d.payload, d.attempts,
                (SELECT s.webhook_secret FROM alert_subscriptions s WHERE s.id = d.subscription_id) AS webhook_secret`,
    [limit, leaseMs],
  );
  return rows.map((r) => ({
    id: r.id,
    channel: r.channel,
    target: r.target,
    subject: r.subject,
    body: r.body,
    payload: r.payload,
    webhookSecret: r.webhook_secret,
    attempt: r.attempts,
  }));
}

/** How an attempt ended, as the dispatcher decided. */
export type Completion =
  | { readonly kind: 'sent' }
  | { readonly kind: 'retry'; readonly reason: string; readonly delayMs: number }
  | { readonly kind: 'failed'; readonly reason: string };

/** Records the end of a claimed attempt: sent, queued again for later, or failed for good. */
export async function completeAttempt(db: Queryable, delivery: ClaimedDelivery, completion: Completion): Promise<void> {
  const set =
    completion.kind === 'sent'
      ? `state = 'sent', sent_at = now(), last_error = NULL`
      : completion.kind === 'retry'
        ? `last_error = $3, next_attempt_at = now() + $4 * interval '1 millisecond'`
        : `state = 'failed', failed_at = now(), last_error = $3`;
  const params: unknown[] = [delivery.id, delivery.attempt];
  if (completion.kind !== 'sent') params.push(completion.reason);
  if (completion.kind === 'retry') params.push(completion.delayMs);
  await db.query(
    `WITH changed AS (
       UPDATE notification_deliveries SET ${set}, lease_until = NULL, updated_at = now()
        WHERE id = $1 AND state = 'queued' AND attempts = $2
        RETURNING id, organisation_id, user_id, state, last_error
     ), events AS (
       INSERT INTO notification_delivery_events (delivery_id, state, attempt, detail)
       SELECT id, state, $2, last_error FROM changed
     )
     SELECT ${NOTIFY_ROW} FROM changed WHERE state <> 'queued'`,
    params,
  );
}

/**
 * Marks deliveries read, within one organisation only; only `sent` ones change. Returns the ids
 * that changed.
 */
export async function markRead(db: Queryable, organisationId: string, ids: readonly string[]): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `WITH changed AS (
       UPDATE notification_deliveries SET state = 'read', read_at = now(), updated_at = now()
        WHERE id = ANY($1) AND organisation_id = $2 AND state = 'sent'
        RETURNING id, organisation_id, user_id, state, attempts
     ), events AS (
       INSERT INTO notification_delivery_events (delivery_id, state, attempt) SELECT id, state, attempts FROM changed
     )
     SELECT id, ${NOTIFY_ROW} FROM changed`,
    [ids, organisationId],
  );
  return rows.map((r) => r.id);
}
