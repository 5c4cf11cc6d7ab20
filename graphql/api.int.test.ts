/**
 * The API end to end against the real stack: two organisations that never see each other's
 * devices, readings, alerts or events; scopes; access groups; mutations; Elasticsearch queries
 * with paging; subscriptions with tenant filters and cursor resume.
 */
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecordProducer, type RecordProducer } from '../core/kafka/record-producer.js';
import { readToEnd, waitFor } from '../test/support/stack.js';
import { startApiHarness, type ApiHarness } from './testing/harness.js';
import { alert, consumption, createTestIndices, indexDocuments, reading } from './testing/fixtures.js';

let harness: ApiHarness;
let producer: RecordProducer;
const clients: WsClient[] = [];

interface Tenant {
  org: string;
  read: string;
  write: string;
  admin: string;
  device: string;
  site: string;
}
let a: Tenant;
let b: Tenant;

const T0 = Date.parse('2026-03-01T00:00:00.000Z');

/** Answers as parsed JSON; the tests compare them by value. */
type Json = ReturnType<typeof JSON.parse>;

async function gql<T = Json>(secret: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  const { body } = await harness.query<T>(secret, query, variables);
  if (body.errors) throw new Error(`${body.errors[0]!.extensions?.code}: ${body.errors[0]!.message}`);
  return body.data as T;
}

async function code(secret: string, query: string, variables?: Record<string, unknown>): Promise<string | undefined> {
  const { body } = await harness.query(secret, query, variables);
  return body.errors?.[0]?.extensions?.code;
}

function ws(secret: string): WsClient {
  const client = createClient({ url: harness.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${secret}` }, retryAttempts: 0 });
  clients.push(client);
  return client;
}

/** Collects a subscription's results until disposed. */
function collect(client: WsClient, query: string, variables: Record<string, unknown> = {}) {
  const results: Json[] = [];
  const errors: unknown[] = [];
  let completed = false;
  const dispose = client.subscribe({ query, variables }, { next: (r) => void results.push(r), error: (e) => void errors.push(e), complete: () => void (completed = true) });
  return { results, errors, dispose, completed: () => completed };
}

async function tenant(name: string, deviceHex: string): Promise<Tenant> {
  const org = await harness.organisation(name);
  const admin = (await harness.token(org, ['admin'])).secret;
  const site = await gql(admin, 'mutation($i: SiteInput!) { saveSite(input: $i) { id } }', { i: { name: `${name} HQ`, address: `1 ${name} street`, timeZone: 'Europe/Minsk', latitude: 53.9, longitude: 27.56 } });
  const device = `mbus:${deviceHex}`;
  await gql(admin, 'mutation($i: OnboardDeviceInput!) { onboardDevice(input: $i) { id } }', {
    i: { id: device, siteId: site.saveSite.id, serialNumber: `SN-${name}`, registers: [{ registerKey: 'volume', unit: 'm3', digits: 8, cumulative: true }] },
  });
  return {
    org,
    admin,
    read: (await harness.token(org, ['read'])).secret,
    write: (await harness.token(org, ['write'])).secret,
    device,
    site: site.saveSite.id,
  };
}

beforeAll(async () => {
  harness = await startApiHarness({ label: 'api' });
  producer = createRecordProducer({ kafka: harness.kernel.kafka, codec: harness.kernel.codec, topics: harness.kernel.catalogue.all });
  await producer.start();
  await createTestIndices(harness.api.services.elasticsearch, harness.api.services.indices, ['readings', 'alerts', 'consumption', 'rejects']);
  a = await tenant('Alpha', '00000000000000a1');
  b = await tenant('Bravo', '00000000000000b2');
  const readings = [
    ...Array.from({ length: 30 }, (_, i) => reading(a.org, a.device, T0 + i * 3_600_000, 100 + i)),
    ...Array.from({ length: 5 }, (_, i) => reading(b.org, b.device, T0 + i * 3_600_000, 900 + i)),
  ];
  await indexDocuments(harness.api.services.elasticsearch, harness.api.services.indices.readings, readings.map((r) => ({ id: r.readingId, body: r })));
  await indexDocuments(harness.api.services.elasticsearch, harness.api.services.indices.alerts, [a, b].map((t) => {
    const doc = alert(t.org, t.device, T0);
    return { id: doc.alertId, body: doc };
  }));
  await indexDocuments(harness.api.services.elasticsearch, harness.api.services.indices.consumption, [
    ...[0, 1, 2].map((d) => consumption(a.org, a.device, T0 + d * 86_400_000, '1.500000000')),
    consumption(b.org, b.device, T0, '7.000000000'),
  ].map((c) => ({ id: `${c.registerId}|${c.periodStartAt}|DAILY`, body: c })));
}, 300_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await producer?.stop();
  await harness?.stop();
});

describe('organisation isolation', () => {
  it('lists only the caller organisation\'s devices, and answers null for the other\'s', async () => {
    const mine = await gql(a.read, '{ devices { totalCount edges { node { id serialNumber site { name } registers { registerKey digits } } } } }');
    expect(mine.devices.totalCount).toBe(1);
    expect(mine.devices.edges[0].node).toEqual({ id: a.device, serialNumber: 'SN-Alpha', site: { name: 'Alpha HQ' }, registers: [{ registerKey: 'volume', digits: 8 }] });
    expect((await gql(a.read, '{ device(id: $id) { id } }'.replace('$id', JSON.stringify(b.device)))).device).toBeNull();
    expect((await gql(b.read, `{ devices(filter: { search: "alpha" }) { totalCount } }`)).devices.totalCount).toBe(0);
  });

  it('returns only the caller organisation\'s readings, alerts and consumption, even when asked for the other\'s device', async () => {
    const own = await gql(a.read, `{ readings(filter: { deviceId: "${a.device}" }, first: 5) { edges { node { deviceId value } } } }`);
    expect(own.readings.edges).toHaveLength(5);
    const other = await gql(a.read, `{ readings(filter: { deviceId: "${b.device}" }) { edges { node { id } } } }`);
    expect(other.readings.edges).toEqual([]);
    const alerts = await gql(b.read, '{ alerts { edges { node { deviceId } } } }');
    expect(alerts.alerts.edges.map((e: Json) => e.node.deviceId)).toEqual([b.device]);
    const totals = await gql(a.read, '{ consumptionTotals(filter: { granularity: DAILY }, groupBy: ORGANISATION) { key unit delta periods } }');
    expect(totals.consumptionTotals).toEqual([{ key: a.org, unit: 'm3', delta: 4.5, periods: 3 }]);
  });

  it('refuses to change the other organisation\'s device, or to claim it by onboarding', async () => {
    expect(await code(a.write, `mutation { updateDevice(id: "${b.device}", input: { model: "x" }) { id } }`)).toBe('NOT_FOUND');
    expect(await code(a.write, `mutation { onboardDevice(input: { id: "${b.device}" }) { id } }`)).toBe('BAD_USER_INPUT');
    expect(await code(a.write, `mutation { setDeviceKey(deviceId: "${b.device}", keyHex: "000102030405060708090a0b0c0d0e0f") { deviceId } }`)).toBe('NOT_FOUND');
  });
});

describe('scopes and tokens', () => {
  it('lets read tokens query but not write, write tokens edit but not manage tokens', async () => {
    expect(await code(a.read, `mutation { updateDevice(id: "${a.device}", input: { model: "M1" }) { id } }`)).toBe('FORBIDDEN');
    expect((await gql(a.write, `mutation { updateDevice(id: "${a.device}", input: { model: "M1" }) { model } }`)).updateDevice.model).toBe('M1');
    expect(await code(a.write, 'mutation { createApiToken(input: { name: "x", scopes: [READ] }) { secret } }')).toBe('FORBIDDEN');
  });

  it('creates a token whose secret is shown once and works, and revokes it at once', async () => {
    const created = await gql(a.admin, 'mutation { createApiToken(input: { name: "wallboard", scopes: [READ] }) { secret token { id scopes } } }');
    const { secret, token } = created.createApiToken;
    expect(token.scopes).toEqual(['READ']);
    expect((await gql(secret, '{ viewer { tokenId } }')).viewer.tokenId).toBe(token.id);
    const listed = await gql(a.admin, '{ apiTokens { id name } }');
    expect(JSON.stringify(listed)).not.toContain(secret);
    await gql(a.admin, `mutation { revokeApiToken(id: "${token.id}") { revokedAt } }`);
    expect((await harness.query(secret, '{ viewer { tokenId } }')).status).toBe(401);
    expect(await code(b.admin, `mutation { revokeApiToken(id: "${token.id}") { id } }`)).toBe('NOT_FOUND');
  });

  it('confines a token limited to an access group to that group\'s devices', async () => {
    const group = (await gql(a.admin, 'mutation { createAccessGroup(name: "district 1") { id } }')).createAccessGroup.id;
    const second = 'mbus:00000000000000a3';
    await gql(a.admin, `mutation { onboardDevice(input: { id: "${second}", accessGroupId: "${group}" }) { id } }`);
    const limited = (await gql(a.admin, `mutation { createApiToken(input: { name: "d1", scopes: [READ], accessGroupIds: ["${group}"] }) { secret } }`)).createApiToken.secret;
    const seen = await gql(limited, '{ devices { edges { node { id } } } }');
    expect(seen.devices.edges.map((e: Json) => e.node.id)).toEqual([second]);
    expect((await gql(limited, `{ readings(filter: { deviceId: "${a.device}" }) { edges { node { id } } } }`)).readings.edges).toEqual([]);
    expect(await code(limited, '{ footprint(filter: { from: "2026-01", to: "2026-03" }) { month } }')).toBe('FORBIDDEN');
  });
});

describe('queries', () => {
  it('pages through readings with cursors, without gaps or repeats, and caps the page size', async () => {
    const ids: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: Json = await gql(a.read, 'query($after: String) { readings(filter: { deviceId: "' + a.device + '" }, order: ASC, first: 7, after: $after) { edges { node { id value } } pageInfo { hasNextPage endCursor } } }', { after });
      ids.push(...page.readings.edges.map((e: Json) => e.node.id));
      if (!page.readings.pageInfo.hasNextPage) break;
      after = page.readings.pageInfo.endCursor;
    }
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
    expect(await code(a.read, '{ readings(filter: {}, first: 5000) { pageInfo { hasNextPage } } }')).toBe('BAD_USER_INPUT');
  });

  it('returns a histogram of readings by interval', async () => {
    const result = await gql(a.read, `{ readingHistogram(filter: { deviceId: "${a.device}", from: "2026-03-01T00:00:00Z", to: "2026-03-02T06:00:00Z" }, interval: DAY) { start count min max last } }`);
    expect(result.readingHistogram).toEqual([
      { start: '2026-03-01T00:00:00.000Z', count: 24, min: 100, max: 123, last: 123 },
      { start: '2026-03-02T00:00:00.000Z', count: 6, min: 124, max: 129, last: 129 },
    ]);
  });

  it('finds devices by text in their serial number or site address, and places them on the map', async () => {
    expect((await gql(a.read, '{ devices(filter: { search: "alpha street" }) { totalCount } }')).devices.totalCount).toBe(1);
    const map = await gql(a.read, '{ mapFeatures(box: { south: 53, west: 27, north: 54, east: 28 }) { device { id } latitude latest { registerKey value } } }');
    expect(map.mapFeatures).toEqual([{ device: { id: a.device }, latitude: 53.9, latest: [{ registerKey: 'volume', value: 129 }] }]);
  });
});

describe('alerts', () => {
  it('acknowledges an alert, merges the acknowledgement into reads and produces ACKNOWLEDGED to alert.v1', async () => {
    const id = `CONTINUOUS_FLOW|${a.device}|volume`;
    expect(await code(b.write, `mutation { acknowledgeAlert(id: "${id}") { id } }`)).toBe('NOT_FOUND');
    const acked = await gql(a.write, `mutation { acknowledgeAlert(id: "${id}", note: "crew sent") { state acknowledgedAt revision } }`);
    expect(acked.acknowledgeAlert).toMatchObject({ state: 'ACKNOWLEDGED', revision: 1 });
    const read = await gql(a.read, '{ alerts(filter: { open: true }) { edges { node { id state acknowledgedAt } } } }');
    expect(read.alerts.edges[0].node).toMatchObject({ id, state: 'ACKNOWLEDGED' });
    const records = await waitFor('the acknowledgement on alert.v1', async () => {
      const messages = await readToEnd(harness.kernel, harness.kernel.catalogue.alerts.name);
      return messages.length > 0 ? messages : undefined;
    });
    const decoded = await harness.kernel.codec.decode('Alert', records[0]!.value);
    expect(decoded.value).toMatchObject({ alertId: id, state: 'ACKNOWLEDGED', organisationId: a.org, revision: 1 });
  });
});

describe('subscriptions', () => {
  const READINGS = 'subscription($after: String) { readings(after: $after) { cursor reading { deviceId value } } }';

  it('delivers only the subscriber organisation\'s events', async () => {
    const subA = collect(ws(a.read), READINGS);
    const subB = collect(ws(b.read), READINGS);
    await waitFor('both subscriptions attached', () => harness.api.services.live.subscribers() >= 2);
    await producer.produce(harness.kernel.catalogue.readings, [reading(b.org, b.device, T0, 1), reading(a.org, a.device, T0, 2), reading(b.org, b.device, T0 + 1, 3)]);
    await waitFor('events delivered', () => subA.results.length >= 1 && subB.results.length >= 2);
    expect(subA.results.map((r) => r.data.readings.reading)).toEqual([{ deviceId: a.device, value: 2 }]);
    expect(subB.results.map((r) => r.data.readings.reading.value).sort()).toEqual([1, 3]);
    subA.dispose();
    subB.dispose();
    await waitFor('both subscriptions detached', () => harness.api.services.live.subscribers() === 0);
  });

  it('resumes from a cursor: a subscriber that missed 100 events receives exactly those, in order, then live ones', async () => {
    const first = collect(ws(a.read), READINGS);
    await waitFor('subscription attached', () => harness.api.services.live.subscribers() === 1);
    await producer.produce(harness.kernel.catalogue.readings, [reading(a.org, a.device, T0, -1)]);
    await waitFor('the first event', () => first.results.length === 1);
    const cursor = first.results[0].data.readings.cursor;
    first.dispose();

    const missed = Array.from({ length: 100 }, (_, i) => reading(a.org, a.device, T0 + i, i));
    const noise = Array.from({ length: 20 }, (_, i) => reading(b.org, b.device, T0 + i, 1000 + i));
    await producer.produce(harness.kernel.catalogue.readings, [...missed.slice(0, 50), ...noise, ...missed.slice(50)]);

    const resumed = collect(ws(a.read), READINGS, { after: cursor });
    await waitFor('the 100 missed events', () => resumed.results.length >= 100, { timeoutMs: 60_000 });
    await producer.produce(harness.kernel.catalogue.readings, [reading(a.org, a.device, T0, 555)]);
    await waitFor('the live event', () => resumed.results.length >= 101, { timeoutMs: 60_000 });
    const values = resumed.results.map((r) => r.data.readings.reading.value);
    expect(values).toEqual([...missed.map((r) => r.value), 555]);
    resumed.dispose();
  });

  it('refuses a malformed cursor with BAD_USER_INPUT', async () => {
    const sub = collect(ws(a.read), READINGS, { after: 'readings:not-base64-json' });
    await waitFor('an answer', () => sub.results.length > 0 || sub.errors.length > 0);
    const errors = sub.results[0]?.errors ?? (sub.errors[0] as Json[]);
    expect(errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});
