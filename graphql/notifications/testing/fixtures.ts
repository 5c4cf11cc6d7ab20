/**
 * Test support for notifications: registry rows for two organisations under a test prefix, a
 * recording webhook receiver and a real SMTP server (the `smtp-server` package) on free ports.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { SMTPServer } from 'smtp-server';
import type { Alert } from '../../../schemas/avro/index.js';

/** Registry rows of one test organisation. */
export interface TestOrganisation {
  readonly id: string;
  readonly siteId: string;
  readonly groupId: string;
  readonly deviceId: string;
  /** Users: `ann` in no group, `bob` in the organisation's group. */
  readonly users: { readonly ann: string; readonly bob: string };
}

/** Inserts an organisation with a site, an access group, a device in that group and two people. */
export async function createOrganisation(db: pg.Pool, prefix: string, name: string): Promise<TestOrganisation> {
  const id = `${prefix}${name}`;
  const org: TestOrganisation = {
    id,
    siteId: `${id}-site`,
    groupId: `${id}-group`,
    deviceId: `mbus:${id}-meter`,
    users: { ann: `${id}-ann`, bob: `${id}-bob` },
  };
  await db.query('INSERT INTO organisations (id, name) VALUES ($1, $2)', [id, `Utility ${name}`]);
  await db.query(`INSERT INTO sites (id, organisation_id, name, latitude, longitude) VALUES ($1, $2, 'Boiler house', 53.9, 27.56)`, [org.siteId, id]);
  await db.query('INSERT INTO access_groups (id, organisation_id, name) VALUES ($1, $2, $3)', [org.groupId, id, 'North']);
  await db.query(
    `INSERT INTO devices (id, organisation_id, site_id, access_group_id, status) VALUES ($1, $2, $3, $4, 'active')`,
    [org.deviceId, id, org.siteId, org.groupId],
  );
  for (const [person, userId] of Object.entries(org.users)) {
    await db.query('INSERT INTO users (id, organisation_id, email, display_name) VALUES ($1, $2, $3, $4)', [userId, id, `${userId}@example.org`, person]);
  }
  await db.query('INSERT INTO user_access_groups (user_id, access_group_id) VALUES ($1, $2)', [org.users.bob, org.groupId]);
  return org;
}

/** Deletes everything notifications and {@link createOrganisation} wrote for these organisations. */
export async function deleteOrganisations(db: pg.Pool, organisationIds: readonly string[]): Promise<void> {
  const ids = [...organisationIds];
  await db.query('DELETE FROM notification_deliveries WHERE organisation_id = ANY($1)', [ids]);
  await db.query('DELETE FROM operator_messages WHERE organisation_id = ANY($1)', [ids]);
  await db.query('DELETE FROM alert_subscriptions WHERE organisation_id = ANY($1)', [ids]);
  await db.query('DELETE FROM user_access_groups WHERE user_id IN (SELECT id FROM users WHERE organisation_id = ANY($1))', [ids]);
  await db.query('DELETE FROM users WHERE organisation_id = ANY($1)', [ids]);
  await db.query('DELETE FROM devices WHERE organisation_id = ANY($1)', [ids]);
  await db.query('DELETE FROM access_groups WHERE organisation_id = ANY($1)', [ids]);
  await db.query('DELETE FROM sites WHERE organisation_id = ANY($1)', [ids]);
  await db.query('DELETE FROM organisations WHERE id = ANY($1)', [ids]);
}

/** An alert of the organisation's device; `revision` 1 unless told. */
export function testAlert(org: TestOrganisation, overrides: Partial<Alert> = {}): Alert {
  const at = Date.parse('2026-03-29T07:15:02Z');
  return {
    alertId: `CONTINUOUS_FLOW|${org.deviceId}|volume`,
    deviceId: org.deviceId,
    organisationId: org.id,
    siteId: org.siteId,
    kind: 'CONTINUOUS_FLOW',
    subject: 'volume',
    severity: 'CRITICAL',
    state: 'RAISED',
    message: 'Volume advanced for 26 h without a pause',
    raisedAt: at,
    updatedAt: at,
    clearedAt: null,
    acknowledgedAt: null,
    acknowledgedBy: null,
    details: { flowingForMs: '93600000' },
    revision: 1,
    ...overrides,
  };
}

/** A request a {@link WebhookReceiver} got. */
export interface ReceivedWebhook {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** An HTTP server that records every POST and answers with the status its path asks for. */
export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>`; POST to `/<status>/<anything>` to be answered with that status. */
  readonly url: string;
  readonly received: ReceivedWebhook[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '/';
      received.push({ path, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = Number(/^\/(\d{3})\//.exec(path)?.[1] ?? 200);
      response.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A message a {@link TestSmtpServer} accepted. */
export interface ReceivedMail {
  readonly from: string;
  readonly to: readonly string[];
  /** The raw message, headers and body. */
  readonly data: string;
}

/** A real SMTP server on a free port that accepts everything except mail to `refused@…`. */
export interface TestSmtpServer {
  /** `smtp://127.0.0.1:<port>` */
  readonly url: string;
  readonly received: ReceivedMail[];
  close(): Promise<void>;
}

export async function startSmtpServer(): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('refused@')) {
        callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
