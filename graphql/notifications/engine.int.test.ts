import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import { Lifecycle } from '../../core/lifecycle.js';
import { deleteTopics, testKernel, waitFor, type TestKernel } from '../../test/support/stack.js';
import { webhookSignature } from './channels.js';
import { createNotificationEngine, type NotificationEngine } from './engine.js';
import type { DeliveryChange } from './store.js';
import {
  createOrganisation,
  deleteOrganisations,
  startSmtpServer,
  startWebhookReceiver,
  testAlert,
  type TestOrganisation,
  type TestSmtpServer,
  type WebhookReceiver,
} from './testing/fixtures.js';

let kernel: TestKernel;
let db: pg.Pool;
let producer: RecordProducer;
let webhooks: WebhookReceiver;
let smtp: TestSmtpServer;
let north: TestOrganisation;
let south: TestOrganisation;
let running: { lifecycle: Lifecycle; engine: NotificationEngine } | undefined;
const changes: DeliveryChange[] = [];

async function startEngine(groupPrefix: string): Promise<void> {
  const config = loadConfig({
    ...process.env,
    SMTP_URL: smtp.url,
    NOTIFY_MAX_ATTEMPTS: '3',
    NOTIFY_RETRY_BASE_MS: '50',
    NOTIFY_WEBHOOK_TIMEOUT_MS: '2000',
    // The test receiver listens on the loopback, which webhooks may not reach unless allowed.
    NOTIFY_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
  });
  const engine = createNotificationEngine({
    db,
    databaseUrl: config.postgres.url,
    notifications: config.notifications,
    kafka: kernel.kafka,
    codec: kernel.codec,
    catalogue: kernel.catalogue,
    logger: kernel.logger,
    prefix: groupPrefix,
    metrics: new Registry(),
    fromBeginning: true,
    pollIntervalMs: 100,
  });
  engine.listener.subscribe((change) => changes.push(change));
  const lifecycle = new Lifecycle(engine.components, { logger: kernel.logger });
  await lifecycle.start();
  running = { lifecycle, engine };
}

async function stopEngine(): Promise<void> {
  await running?.lifecycle.stop();
  running = undefined;
}

interface SubscriptionInput {
  readonly org: TestOrganisation;
  readonly userId: string;
  readonly channel: 'webhook' | 'email' | 'in_app';
  readonly webhookUrl?: string;
  readonly email?: string;
  readonly minSeverity?: string;
  readonly states?: string[];
}

async function subscribe(input: SubscriptionInput): Promise<{ id: string; secret: string | null }> {
  const id = randomUUID();
  const secret = input.channel === 'webhook' ? randomUUID() : null;
  await db.query(
    `INSERT INTO alert_subscriptions (id, organisation_id, user_id, channel, webhook_url, webhook_secret, email, min_severity, states)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [id, input.org.id, input.userId, input.channel, input.webhookUrl ?? null, secret, input.email ?? null, input.minSeverity ?? 'INFO', input.states ?? ['RAISED']],
  );
  return { id, secret };
}

interface DeliveryRow {
  id: string;
  organisation_id: string;
  user_id: string;
  subscription_id: string;
  channel: string;
  state: string;
  attempts: number;
  last_error: string | null;
  alert_revision: string;
}

async function deliveriesOf(subscriptionId: string): Promise<DeliveryRow[]> {
  const { rows } = await db.query<DeliveryRow>('SELECT * FROM notification_deliveries WHERE subscription_id = $1 ORDER BY alert_revision', [subscriptionId]);
  return rows;
}

async function settled(subscriptionId: string, count: number): Promise<DeliveryRow[]> {
  return waitFor(`${count} settled deliveries of ${subscriptionId}`, async () => {
    const rows = await deliveriesOf(subscriptionId);
    return rows.length === count && rows.every((r) => r.state !== 'queued') && rows;
  });
}

beforeAll(async () => {
  kernel = await testKernel('notify');
  db = new pg.Pool({ connectionString: kernel.config.postgres.url, max: 4 });
  producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: [kernel.catalogue.alerts] });
  await producer.start();
  webhooks = await startWebhookReceiver();
  smtp = await startSmtpServer();
  north = await createOrganisation(db, kernel.prefix, 'north');
  south = await createOrganisation(db, kernel.prefix, 'south');
  await startEngine(kernel.prefix);
});

afterAll(async () => {
  await stopEngine();
  await producer?.stop();
  await webhooks?.close();
  await smtp?.close();
  if (db) {
    await deleteOrganisations(db, [north?.id, south?.id].filter((id) => id !== undefined));
    await db.end();
  }
  if (kernel) await deleteTopics(kernel);
});

describe('the notification engine on the local stack', () => {
  it('delivers an alert to a signed webhook, by e-mail and in-app, once each, and to nobody of another organisation', async () => {
    const hook = await subscribe({ org: north, userId: north.users.ann, channel: 'webhook', webhookUrl: `${webhooks.url}/200/ann` });
    const mail = await subscribe({ org: north, userId: north.users.ann, channel: 'email' });
    const inApp = await subscribe({ org: north, userId: north.users.bob, channel: 'in_app' });
    const otherOrganisation = await subscribe({ org: south, userId: south.users.ann, channel: 'in_app' });

    const alert = testAlert(north);
    await producer.produce(kernel.catalogue.alerts, [alert]);

    const [webhookDelivery] = await settled(hook.id, 1);
    expect(webhookDelivery).toMatchObject({ state: 'sent', attempts: 1, user_id: north.users.ann, organisation_id: north.id });
    const request = webhooks.received.find((r) => r.path === '/200/ann');
    expect(request?.headers['idempotency-key']).toBe(webhookDelivery!.id);
    const body = JSON.parse(request!.body) as { deliveryId: string; type: string; alert: { alertId: string; revision: number } };
    expect(body).toMatchObject({ deliveryId: webhookDelivery!.id, type: 'alert', alert: { alertId: alert.alertId, revision: 1 } });
    const timestamp = Number(/^t=(\d+),/.exec(String(request!.headers['x-meterflux-signature']))?.[1]);
    expect(request!.headers['x-meterflux-signature']).toBe(webhookSignature(hook.secret!, timestamp, request!.body));

    const [mailDelivery] = await settled(mail.id, 1);
    expect(mailDelivery).toMatchObject({ state: 'sent', channel: 'email' });
    const message = smtp.received.find((m) => m.to.includes(`${north.users.ann}@example.org`));
    expect(message?.data).toContain(`Subject: [CRITICAL] CONTINUOUS_FLOW raised: ${north.deviceId}`);
    expect(message?.data).toContain('Volume advanced for 26 h without a pause');

    expect(await settled(inApp.id, 1)).toMatchObject([{ state: 'sent', channel: 'in_app', user_id: north.users.bob, attempts: 0 }]);
    expect(await deliveriesOf(otherOrganisation.id)).toEqual([]);

    const { rows: events } = await db.query<{ state: string; attempt: number }>(
      'SELECT state, attempt FROM notification_delivery_events WHERE delivery_id = $1 ORDER BY id', [webhookDelivery!.id]);
    expect(events).toEqual([{ state: 'queued', attempt: 0 }, { state: 'sent', attempt: 1 }]);
    await waitFor('the sent change to be heard', () => changes.some((c) => c.id === webhookDelivery!.id && c.state === 'sent'));
  });

  it('retries a failing webhook with backoff, then records it failed with the reason', async () => {
    const failing = await subscribe({ org: north, userId: north.users.ann, channel: 'webhook', webhookUrl: `${webhooks.url}/503/down` });
    const refusing = await subscribe({ org: north, userId: north.users.ann, channel: 'webhook', webhookUrl: `${webhooks.url}/404/gone` });
    const refusedMail = await subscribe({ org: north, userId: north.users.ann, channel: 'email', email: 'refused@example.org' });
    await producer.produce(kernel.catalogue.alerts, [testAlert(north, { alertId: `DEVICE_SILENT|${north.deviceId}|`, kind: 'DEVICE_SILENT' })]);

    expect(await settled(failing.id, 1)).toMatchObject([{ state: 'failed', attempts: 3, last_error: 'webhook answered HTTP 503' }]);
    expect(webhooks.received.filter((r) => r.path === '/503/down')).toHaveLength(3);
    const [failed] = await deliveriesOf(failing.id);
    const { rows: events } = await db.query<{ state: string; attempt: number; detail: string | null }>(
      'SELECT state, attempt, detail FROM notification_delivery_events WHERE delivery_id = $1 ORDER BY id', [failed!.id]);
    expect(events).toEqual([
      { state: 'queued', attempt: 0, detail: null },
      { state: 'queued', attempt: 1, detail: 'webhook answered HTTP 503' },
      { state: 'queued', attempt: 2, detail: 'webhook answered HTTP 503' },
      { state: 'failed', attempt: 3, detail: 'webhook answered HTTP 503' },
    ]);

    // A refusal is final at once.
    expect(await settled(refusing.id, 1)).toMatchObject([{ state: 'failed', attempts: 1, last_error: 'webhook answered HTTP 404' }]);
    const [mail] = await settled(refusedMail.id, 1);
    expect(mail).toMatchObject({ state: 'failed', attempts: 1 });
    expect(mail!.last_error).toMatch(/^SMTP: .*mailbox unavailable/);
  });

  it('matches severity, and tells people in access groups only about devices in their groups', async () => {
    const criticalOnly = await subscribe({ org: south, userId: south.users.ann, channel: 'in_app', minSeverity: 'CRITICAL' });
    const inGroup = await subscribe({ org: south, userId: south.users.bob, channel: 'in_app' });
    const ungrouped = `mbus:${south.id}-ungrouped`;
    await db.query(`INSERT INTO devices (id, organisation_id, site_id, status) VALUES ($1, $2, $3, 'active')`, [ungrouped, south.id, south.siteId]);

    await producer.produce(kernel.catalogue.alerts, [
      testAlert(south, { alertId: `LOW_BATTERY|${south.deviceId}|`, kind: 'LOW_BATTERY', severity: 'WARNING' }),
      testAlert(south, { alertId: `LOW_BATTERY|${ungrouped}|`, deviceId: ungrouped, kind: 'LOW_BATTERY', severity: 'CRITICAL' }),
    ]);
    const [critical] = await settled(criticalOnly.id, 1);
    expect(critical).toMatchObject({ state: 'sent' });
    const grouped = await settled(inGroup.id, 1);
    expect(grouped.map((d) => d.user_id)).toEqual([south.users.bob]);
    const { rows } = await db.query<{ device_id: string }>('SELECT device_id FROM notification_deliveries WHERE subscription_id = ANY($1) ORDER BY device_id',
      [[criticalOnly.id, inGroup.id]]);
    expect(rows.map((r) => r.device_id)).toEqual([south.deviceId, ungrouped].sort());
  });

  it('records nothing twice when alert.v1 is read again from the start, and tells new subscriptions only of newer changes', async () => {
    const before = await db.query<{ count: string }>('SELECT count(*) FROM notification_deliveries WHERE organisation_id = ANY($1)', [[north.id, south.id]]);
    const requestsBefore = webhooks.received.length;
    const hook = await subscribe({ org: north, userId: north.users.bob, channel: 'webhook', webhookUrl: `${webhooks.url}/200/bob`, states: ['RAISED', 'CLEARED'] });

    await stopEngine();
    // A new group reads every alert again, as after lost offsets or a replay.
    await startEngine(`${kernel.prefix}again.`);
    const cleared = testAlert(north, { state: 'CLEARED', revision: 2, clearedAt: Date.parse('2026-03-29T09:00:00Z') });
    await producer.produce(kernel.catalogue.alerts, [cleared]);

    // Only the CLEARED was written after the new subscription was created; the re-read RAISED changes are older.
    const deliveries = await settled(hook.id, 1);
    expect(deliveries.map((d) => [d.alert_revision, d.state])).toEqual([['2', 'sent']]);
    // Re-read alerts add nothing for the older subscriptions, none of which asks for CLEARED.
    const after = await db.query<{ count: string }>('SELECT count(*) FROM notification_deliveries WHERE organisation_id = ANY($1)', [[north.id, south.id]]);
    expect(Number(after.rows[0]!.count)).toBe(Number(before.rows[0]!.count) + 1);
    expect(webhooks.received.slice(requestsBefore).map((r) => r.path)).toEqual(['/200/bob']);
  });
});
