import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import { waitFor } from '../../test/support/stack.js';
import { startApiHarness, type ApiHarness } from '../testing/harness.js';
import { createOrganisation, startWebhookReceiver, testAlert, type TestOrganisation, type WebhookReceiver } from './testing/fixtures.js';

let api: ApiHarness;
let producer: RecordProducer;
let webhooks: WebhookReceiver;
let north: TestOrganisation;
let south: TestOrganisation;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  // The test receiver listens on the loopback, which webhooks may not reach unless allowed.
  api = await startApiHarness({ label: 'notify-api', webhookAllowHosts: ['127.0.0.1'] });
  producer = createRecordProducer({ kafka: api.kernel.kafka, codec: api.kernel.codec, topics: [api.kernel.catalogue.alerts] });
  await producer.start();
  webhooks = await startWebhookReceiver();
  north = await createOrganisation(api.db, api.kernel.prefix, 'north');
  south = await createOrganisation(api.db, api.kernel.prefix, 'south');
  tokens['northWrite'] = (await api.token(north.id, ['write'])).secret;
  tokens['northRead'] = (await api.token(north.id, ['read'])).secret;
  tokens['southWrite'] = (await api.token(south.id, ['write'])).secret;
  tokens['northGroup'] = (await api.token(north.id, ['write'], { accessGroupIds: [north.groupId] })).secret;
});

afterAll(async () => {
  await producer?.stop();
  await webhooks?.close();
  await api?.stop();
});

const CREATE = `mutation($input: AlertSubscriptionInput!) {
  createAlertSubscription(input: $input) { webhookSecret subscription { id user { id } channel webhookUrl states minSeverity } }
}`;
const HISTORY = `query($filter: DeliveryFilter, $orderBy: DeliveryOrderBy, $order: Order, $first: Int, $after: String) {
  notificationDeliveries(filter: $filter, orderBy: $orderBy, order: $order, first: $first, after: $after) {
    edges { cursor node { id user { id } channel state subject alertId messageId events { state attempt } } }
    pageInfo { hasNextPage endCursor }
  }
}`;
type HistoryPage = { notificationDeliveries: { edges: { node: { id: string; user: { id: string }; state: string; subject: string; alertId: string | null } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };

describe('notifications through the GraphQL API', () => {
  it('manages subscriptions within the organisation only, with the webhook secret shown once', async () => {
    const created = await api.query<{ createAlertSubscription: { webhookSecret: string; subscription: { id: string; user: { id: string } } } }>(
      tokens['northWrite'], CREATE,
      { input: { userId: north.users.ann, channel: 'WEBHOOK', webhookUrl: `${webhooks.url}/200/ann`, minSeverity: 'WARNING', states: ['RAISED', 'CLEARED'] } });
    expect(created.body.errors).toBeUndefined();
    expect(created.body.data!.createAlertSubscription.webhookSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created.body.data!.createAlertSubscription.subscription.user.id).toBe(north.users.ann);

    // Another organisation's person, token or subscription is invisible.
    const foreignUser = await api.query(tokens['southWrite'], CREATE, { input: { userId: north.users.ann, channel: 'IN_APP' } });
    expect(foreignUser.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const listed = await api.query<{ alertSubscriptions: { id: string }[] }>(tokens['southWrite'], '{ alertSubscriptions { id } }');
    expect(listed.body.data!.alertSubscriptions).toEqual([]);
    const deleted = await api.query(tokens['southWrite'], 'mutation($id: ID!) { deleteAlertSubscription(id: $id) }', { id: created.body.data!.createAlertSubscription.subscription.id });
    expect(deleted.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    // A read token cannot change anything; a group-limited token must stay inside its groups.
    const readOnly = await api.query(tokens['northRead'], CREATE, { input: { userId: north.users.ann, channel: 'IN_APP' } });
    expect(readOnly.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const ungrouped = await api.query(tokens['northGroup'], CREATE, { input: { userId: north.users.bob, channel: 'IN_APP' } });
    expect(ungrouped.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const bad = await api.query(tokens['northWrite'], CREATE, { input: { userId: north.users.ann, channel: 'WEBHOOK', webhookUrl: 'ftp://x' } });
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    // Credentials in the URL, and internal addresses the operator did not allow, are refused with the reason.
    for (const [webhookUrl, message] of [
      ['https://user:pw@hooks.example/x', 'webhookUrl: must not carry credentials'],
      ['http://169.254.169.254/latest/meta-data', 'webhookUrl: 169.254.169.254 is a link-local address'],
      ['http://[::ffff:10.0.0.5]:9200/', 'webhookUrl: ::ffff:a00:5 is a private address'],
    ]) {
      const refused = await api.query(tokens['northWrite'], CREATE, { input: { userId: north.users.ann, channel: 'WEBHOOK', webhookUrl } });
      expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'webhookUrl' });
      expect(refused.body.errors?.[0]?.message).toContain(message);
    }
  });

  it('records alert deliveries, lists them searchable and paged, and delivers live over graphql-ws', async () => {
    await api.query(tokens['northWrite'], CREATE, { input: { userId: north.users.bob, channel: 'IN_APP' } });
    await api.query(tokens['southWrite'], CREATE, { input: { userId: south.users.ann, channel: 'IN_APP' } });

    const received: { id: string; state: string; alertId: string | null; user: { id: string } }[] = [];
    const client = createClient({ url: api.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${tokens['northRead']}` } });
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe<{ deliveries: { id: string; state: string; alertId: string | null; user: { id: string } } }>(
        { query: 'subscription { deliveries { id state alertId user { id } } }' },
        { next: ({ data }) => data && received.push(data.deliveries), error: reject, complete: resolve },
      );
    });
    // The subscription is registered once the server acknowledged it; a query on the same socket orders after it.
    await new Promise<void>((resolve, reject) => client.subscribe({ query: '{ viewer { tokenId } }' }, { next: () => undefined, error: reject, complete: resolve }));

    // A new consumer group starts at the end of alert.v1 once it has its partitions: warm up until it hears one.
    let warmUps = 0;
    await waitFor('the recorder to hear a warm-up alert', async () => {
      const warmUp = `LOW_BATTERY|${north.deviceId}|${++warmUps}`;
      await producer.produce(api.kernel.catalogue.alerts, [testAlert(north, { alertId: warmUp, kind: 'LOW_BATTERY', severity: 'INFO' })]);
      return waitFor('', () => received.some((d) => d.alertId === warmUp), { timeoutMs: 1_000 }).catch(() => false);
    }, { timeoutMs: 60_000 });

    const alert = testAlert(north);
    await producer.produce(api.kernel.catalogue.alerts, [alert, testAlert(south)]);
    const live = await waitFor('live deliveries of north', () => {
      const matching = received.filter((d) => d.alertId === alert.alertId);
      return matching.length >= 2 && matching;
    });
    expect(new Set(live.map((d) => d.user.id))).toEqual(new Set([north.users.ann, north.users.bob]));
    expect(received.every((d) => d.user.id.startsWith(north.id))).toBe(true);

    const north1 = await api.query<HistoryPage>(tokens['northRead'], HISTORY, { filter: { search: 'continuous_flow' }, orderBy: 'USER', order: 'ASC', first: 1 });
    expect(north1.body.errors).toBeUndefined();
    const first = north1.body.data!.notificationDeliveries;
    expect(first.edges.map((e) => e.node.user.id)).toEqual([north.users.ann]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const north2 = await api.query<HistoryPage>(tokens['northRead'], HISTORY, { filter: { search: 'continuous_flow' }, orderBy: 'USER', order: 'ASC', first: 1, after: first.pageInfo.endCursor });
    expect(north2.body.data!.notificationDeliveries.edges.map((e) => e.node.user.id)).toEqual([north.users.bob]);

    const southHistory = await api.query<HistoryPage>(tokens['southWrite'], HISTORY, {});
    expect(southHistory.body.data!.notificationDeliveries.edges.map((e) => [e.node.user.id, e.node.alertId])).toEqual([[south.users.ann, alert.alertId.replace(north.id, south.id)]]);
    await client.dispose();
    await done;
  });

  it('pushes an operator message to chosen people, marks it read, and filters by state', async () => {
    const pushed = await api.query<{ pushMessage: { id: string; deliveries: { id: string; user: { id: string }; state: string; channel: string }[] } }>(
      tokens['northWrite'],
      'mutation($input: PushMessageInput!) { pushMessage(input: $input) { id deliveries { id user { id } state channel } } }',
      { input: { userIds: [north.users.ann, north.users.bob], subject: 'Planned outage', body: 'Gas supply stops on Sunday 10:00-12:00.' } },
    );
    expect(pushed.body.errors).toBeUndefined();
    const deliveries = pushed.body.data!.pushMessage.deliveries;
    expect(deliveries.map((d) => [d.user.id, d.channel, d.state]).sort()).toEqual([[north.users.ann, 'IN_APP', 'SENT'], [north.users.bob, 'IN_APP', 'SENT']]);

    const foreign = await api.query(tokens['southWrite'], 'mutation($input: PushMessageInput!) { pushMessage(input: $input) { id } }',
      { input: { userIds: [north.users.ann], subject: 'x', body: 'y' } });
    expect(foreign.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const foreignRead = await api.query<{ markDeliveriesRead: unknown[] }>(tokens['southWrite'], 'mutation($ids: [ID!]!) { markDeliveriesRead(ids: $ids) { id } }', { ids: [deliveries[0]!.id] });
    expect(foreignRead.body.data!.markDeliveriesRead).toEqual([]);

    const read = await api.query<{ markDeliveriesRead: { id: string; state: string }[] }>(tokens['northWrite'],
      'mutation($ids: [ID!]!) { markDeliveriesRead(ids: $ids) { id state } }', { ids: [deliveries[0]!.id] });
    expect(read.body.data!.markDeliveriesRead).toEqual([{ id: deliveries[0]!.id, state: 'READ' }]);
    const onlyRead = await api.query<HistoryPage>(tokens['northRead'], HISTORY, { filter: { states: ['READ'] } });
    expect(onlyRead.body.data!.notificationDeliveries.edges.map((e) => e.node.id)).toEqual([deliveries[0]!.id]);
  });
});
