/**
 * The offline pages in headless Chromium against a real API on the real stack: the GraphQL IDE and
 * the wallboard load with every request outside the API refused (and none attempted), a query and
 * a subscription run in the IDE, and the wallboard shows one organisation's readings, alerts and
 * devices placed by their coordinates, then follows new events. Screenshots go to
 * `var/artifacts/browser/`.
 */
import { createClient, type Client as WsClient } from 'graphql-ws';
import type { Locator, Page, WebSocketRoute } from 'playwright-core';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import { waitFor } from '../../test/support/stack.js';
import { alert, createTestIndices, indexDocuments, reading } from '../testing/fixtures.js';
import { startApiHarness, type ApiHarness } from '../testing/harness.js';
import { ensureUiBuilt, launchOfflineBrowser, type OfflineBrowser, type OfflinePage } from './testing/browser.js';

/** How long the browser may take to show something the stack produced. */
const SHOWN_MS = 60_000;

const T0 = Date.parse('2026-03-01T00:00:00.000Z');

let harness: ApiHarness;
let producer: RecordProducer;
let browser: OfflineBrowser;
const pages: OfflinePage[] = [];
const clients: WsClient[] = [];

interface Tenant {
  name: string;
  org: string;
  read: string;
}
let alpha: Tenant & { meter: string; station: string; meterAlert: string };
let bravo: Tenant & { meter: string };

/** Sites of Alpha: the meter's north-west of the station's. */
const NORTH_WEST = { latitude: 53.95, longitude: 27.5 };
const SOUTH_EAST = { latitude: 53.9, longitude: 27.7 };

async function gql<T = ReturnType<typeof JSON.parse>>(secret: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  const { body } = await harness.query<T>(secret, query, variables);
  if (body.errors) throw new Error(`${body.errors[0]!.extensions?.code}: ${body.errors[0]!.message}`);
  return body.data as T;
}

async function site(admin: string, name: string, at: { latitude: number; longitude: number }): Promise<string> {
  const data = await gql(admin, 'mutation($i: SiteInput!) { saveSite(input: $i) { id } }', { i: { name, address: `1 ${name} street`, timeZone: 'Europe/Minsk', ...at } });
  return data.saveSite.id as string;
}

async function onboard(admin: string, id: string, siteId: string, registerKey: string, unit: string): Promise<void> {
  await gql(admin, 'mutation($i: OnboardDeviceInput!) { onboardDevice(input: $i) { id } }', {
    i: { id, siteId, serialNumber: `SN-${id}`, registers: [{ registerKey, unit, digits: 8, cumulative: registerKey === 'volume' }] },
  });
}

async function open(path: string, token?: string): Promise<OfflinePage> {
  const host = new URL(harness.url).host;
  const offline = await browser.open(host);
  pages.push(offline);
  await offline.page.goto(`http://${host}${path}${token === undefined ? '' : `#token=${token}`}`);
  return offline;
}

/** The attribute of `locator` as a number. */
async function numeric(locator: Locator, name: string): Promise<number> {
  return Number(await locator.getAttribute(name));
}

/**
 * Replaces the text of GraphiQL's query editor, as a person typing it would, and waits until
 * GraphiQL has taken in the edit: it parses the document (and picks the operation to run) 100 ms
 * after the last keystroke, in the same step that saves the query to its `graphiql:query` storage
 * entry; running earlier would send the previous document's operation name.
 */
async function setQuery(page: Page, query: string): Promise<void> {
  await page.locator('.graphiql-query-editor .CodeMirror').click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(query);
  await expect.poll(() => page.evaluate('localStorage.getItem("graphiql:query")'), { timeout: SHOWN_MS }).toBe(query);
}

/** The text of GraphiQL's result pane. */
function resultText(page: Page): Promise<string> {
  return page.locator('.graphiql-response').evaluate((e) => e.textContent ?? '');
}

beforeAll(async () => {
  await ensureUiBuilt();
  harness = await startApiHarness({ label: 'ui' });
  producer = createRecordProducer({ kafka: harness.kernel.kafka, codec: harness.kernel.codec, topics: harness.kernel.catalogue.all });
  await producer.start();
  const es = harness.api.services.elasticsearch;
  await createTestIndices(es, harness.api.services.indices, ['readings', 'alerts']);

  const alphaOrg = await harness.organisation('Alpha Vodokanal');
  const alphaAdmin = (await harness.token(alphaOrg, ['admin'])).secret;
  const meter = 'mbus:00000000000000a1';
  const station = 'station:alpha-ghg-1';
  await onboard(alphaAdmin, meter, await site(alphaAdmin, 'Alpha North', NORTH_WEST), 'volume', 'm3');
  await onboard(alphaAdmin, station, await site(alphaAdmin, 'Alpha East', SOUTH_EAST), 'co2', 'ppm');
  const meterAlert = alert(alphaOrg, meter, T0, { message: 'Volume advanced for 26 h without a pause' });
  alpha = { name: 'Alpha Vodokanal', org: alphaOrg, read: (await harness.token(alphaOrg, ['read'])).secret, meter, station, meterAlert: meterAlert.alertId };

  const bravoOrg = await harness.organisation('Bravo Teploset');
  const bravoAdmin = (await harness.token(bravoOrg, ['admin'])).secret;
  const bravoMeter = 'mbus:00000000000000b2';
  await onboard(bravoAdmin, bravoMeter, await site(bravoAdmin, 'Bravo Depot', { latitude: 53.93, longitude: 27.6 }), 'volume', 'm3');
  bravo = { name: 'Bravo Teploset', org: bravoOrg, read: (await harness.token(bravoOrg, ['read'])).secret, meter: bravoMeter };

  const readings = [
    reading(alphaOrg, meter, T0, 123.5),
    reading(alphaOrg, station, T0, 421.75, { registerKey: 'co2', quantity: 'co2', unit: 'ppm', originalUnit: 'ppm', cumulative: false }),
    reading(bravoOrg, bravoMeter, T0, 987.25),
  ];
  await indexDocuments(es, harness.api.services.indices.readings, readings.map((r) => ({ id: r.readingId, body: r })));
  const alerts = [meterAlert, alert(bravoOrg, bravoMeter, T0, { message: 'Bravo leak' })];
  await indexDocuments(es, harness.api.services.indices.alerts, alerts.map((a) => ({ id: a.alertId, body: a })));

  browser = await launchOfflineBrowser();
}, 300_000);

/** Closes what a test opened; the next one starts with no subscriber attached to the API. */
afterEach(async () => {
  await Promise.all(pages.splice(0).map((p) => p.close()));
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
  await waitFor('every subscription of the test detached', () => harness.api.services.live.subscribers() === 0, { timeoutMs: SHOWN_MS });
});

afterAll(async () => {
  await Promise.all(pages.map((p) => p.close().catch(() => undefined)));
  await browser?.close();
  await Promise.all(clients.map((c) => c.dispose()));
  await producer?.stop();
  await harness?.stop();
});

/** Nothing outside the API was asked for and nothing went wrong on the page. */
function expectOfflineAndClean(offline: OfflinePage): void {
  expect(offline.foreignRequests).toEqual([]);
  expect(offline.consoleErrors).toEqual([]);
}

describe('the offline browser', () => {
  it('records and refuses HTTP and WebSocket requests to any host but the API', async () => {
    const offline = await browser.open(new URL(harness.url).host);
    pages.push(offline);
    const { page } = offline;
    const fetched = await page.evaluate(
      (urls) => Promise.all(urls.map((url) => fetch(url, { mode: 'no-cors' }).then((r) => r.type, () => 'refused'))),
      [harness.url, 'http://example.com/x.js', 'http://10.0.0.1:8080/y.css'],
    );
    expect(fetched).toEqual(['opaque', 'refused', 'refused']);
    // A string, because the test module's own `WebSocket` (from `ws`) must not shadow the page's.
    const socket = await page.evaluate(`new Promise((resolve) => {
      const ws = new WebSocket('ws://cdn.example.net/socket');
      ws.onopen = () => resolve('open');
      ws.onclose = () => resolve('closed');
    })`);
    expect(socket).toBe('closed');
    expect(offline.foreignRequests.sort()).toEqual(['http://10.0.0.1:8080/y.css', 'http://example.com/x.js', 'ws://cdn.example.net/socket']);
  });

  it('keeps both pages from loading a script or opening a connection elsewhere, by their Content-Security-Policy', async () => {
    for (const path of ['/explorer/', '/wallboard/']) {
      const offline = await open(path);
      const { page } = offline;
      await page.locator('body').waitFor();
      const attempts = await page.evaluate(`Promise.all([
        new Promise((resolve) => {
          const script = document.createElement('script');
          script.src = 'https://cdn.jsdelivr.net/npm/graphiql/graphiql.min.js';
          script.onload = () => resolve('loaded');
          script.onerror = () => resolve('refused');
          document.head.append(script);
        }),
        fetch('https://example.com/collect', { mode: 'no-cors' }).then(() => 'sent', () => 'refused'),
      ])`);
      expect(attempts, path).toEqual(['refused', 'refused']);
      // Refused inside the page, before any request was made.
      expect(offline.foreignRequests, path).toEqual([]);
      const refusals = offline.consoleErrors.filter((e) => e.includes('Content Security Policy'));
      expect(refusals.some((e) => e.includes('https://cdn.jsdelivr.net/')), path).toBe(true);
      expect(refusals.some((e) => e.includes('https://example.com/')), path).toBe(true);
    }
  });
});

describe('the GraphQL IDE', () => {
  it('loads with no request outside the API and no console error, and renders the editor', async () => {
    const offline = await open('/explorer/', alpha.read);
    const { page } = offline;
    await page.locator('.graphiql-query-editor .CodeMirror').waitFor({ timeout: SHOWN_MS });
    await page.locator('.graphiql-execute-button').waitFor();
    // The schema arrives by introspection over /graphql: the documentation explorer lists the roots.
    await page.getByRole('button', { name: /show documentation explorer/i }).click();
    await expect.poll(() => page.locator('.graphiql-doc-explorer').evaluate((e) => e.textContent ?? ''), { timeout: SHOWN_MS }).toContain('Subscription');
    expect(page.url()).not.toContain(alpha.read);
    await offline.screenshot('explorer-loaded');
    expectOfflineAndClean(offline);
  });

  it('runs a query with the token from the #token= fragment and shows only the organisation\'s data', async () => {
    const offline = await open('/explorer/', alpha.read);
    const { page } = offline;
    await setQuery(page, '{ viewer { organisation { id name } scopes } devices { totalCount edges { node { id site { name } } } } }');
    await page.locator('.graphiql-execute-button').click();
    await expect.poll(() => resultText(page), { timeout: SHOWN_MS }).toContain('"totalCount"');
    const shown = await resultText(page);
    expect(shown).toContain(alpha.org);
    expect(shown).toContain(alpha.name);
    expect(shown).toContain(alpha.meter);
    expect(shown).toContain(alpha.station);
    expect(shown).toContain('Alpha North');
    expect(shown).not.toContain(bravo.meter);
    expect(shown).not.toContain(bravo.org);
    await offline.screenshot('explorer-query');
    expectOfflineAndClean(offline);
  });

  it('runs a subscription over graphql-ws and shows an event produced to Kafka', async () => {
    const offline = await open('/explorer/', alpha.read);
    const { page } = offline;
    await setQuery(page, 'subscription { readings { cursor reading { deviceId registerKey value unit } } }');
    await page.locator('.graphiql-execute-button').click();
    await waitFor('the IDE\'s subscription attached', () => harness.api.services.live.subscribers() === 1, { timeoutMs: SHOWN_MS });
    await producer.produce(harness.kernel.catalogue.readings, [reading(alpha.org, alpha.meter, T0 + 60_000, 4242.5)]);
    await expect.poll(() => resultText(page), { timeout: SHOWN_MS }).toContain('4242.5');
    const shown = await resultText(page);
    expect(shown).toContain(alpha.meter);
    expect(shown).toContain('"cursor"');
    await offline.screenshot('explorer-subscription');
    // Stopping the subscription in the IDE detaches it from the API.
    await page.locator('.graphiql-execute-button').click();
    await waitFor('the IDE\'s subscription detached', () => harness.api.services.live.subscribers() === 0, { timeoutMs: SHOWN_MS });
    expectOfflineAndClean(offline);
  });
});

describe('the wallboard', () => {
  it('says when a token is refused, and connects with one entered in its form', async () => {
    const offline = await open('/wallboard/', 'mf_not-a-token');
    const { page } = offline;
    await expect.poll(() => page.locator('#status').textContent(), { timeout: SHOWN_MS }).toMatch(/^cannot load: .*UNAUTHENTICATED/);
    expect(await page.locator('#status').getAttribute('data-live')).toBe('false');
    expect(await page.locator('#map [data-device-id]').count()).toBe(0);
    await offline.screenshot('wallboard-refused');

    await page.locator('#token').fill(alpha.read);
    await page.locator('#token-form button').click();
    await expect.poll(() => page.locator('#status').getAttribute('data-live'), { timeout: SHOWN_MS }).toBe('true');
    await expect.poll(() => page.locator('#organisation').textContent(), { timeout: SHOWN_MS }).toBe(alpha.name);
    await page.locator(`#map [data-device-id="${alpha.station}"]`).waitFor({ timeout: SHOWN_MS });
    expect(offline.foreignRequests).toEqual([]);
  });

  it('loads offline and shows the organisation\'s latest readings, open alerts and devices placed by coordinates, then follows new readings and alerts', async () => {
    const offline = await open('/wallboard/', alpha.read);
    const { page } = offline;
    await expect.poll(() => page.locator('#status').getAttribute('data-live'), { timeout: SHOWN_MS }).toBe('true');
    await expect.poll(() => page.locator('#organisation').textContent(), { timeout: SHOWN_MS }).toBe(alpha.name);
    expect(page.url()).not.toContain(alpha.read);

    // Devices of the organisation only, a meter as a circle and a station as a square.
    const meter = page.locator(`#map circle[data-device-id="${alpha.meter}"]`);
    const station = page.locator(`#map rect[data-device-id="${alpha.station}"]`);
    await meter.waitFor({ timeout: SHOWN_MS });
    await station.waitFor();
    expect(await page.locator('#map [data-device-id]').count()).toBe(2);
    expect(await meter.locator('title').textContent()).toContain('volume 123.5 m3');
    expect(await station.locator('title').textContent()).toContain('co2 421.75 ppm');

    // Placed by coordinates: north is up, east is right, and the offsets keep the local scale
    // (a degree of longitude is cos(latitude) of a degree of latitude).
    const [mx, my] = [await numeric(meter, 'cx'), await numeric(meter, 'cy')];
    const [sx, sy] = [(await numeric(station, 'x')) + 6, (await numeric(station, 'y')) + 6];
    expect(sx).toBeGreaterThan(mx);
    expect(sy).toBeGreaterThan(my);
    const midLatitude = ((NORTH_WEST.latitude + SOUTH_EAST.latitude) / 2) * (Math.PI / 180);
    const expectedRatio = ((SOUTH_EAST.longitude - NORTH_WEST.longitude) * Math.cos(midLatitude)) / (NORTH_WEST.latitude - SOUTH_EAST.latitude);
    expect((sx - mx) / (sy - my)).toBeCloseTo(expectedRatio, 2);
    const [width, height] = (await page.locator('#map').getAttribute('viewBox'))!.split(' ').slice(2).map(Number) as [number, number];
    for (const [x, y] of [[mx, my], [sx, sy]] as const) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(width);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(y).toBeLessThanOrEqual(height);
    }

    // Latest readings and open alerts of the organisation only; the meter with an alert is marked.
    await expect.poll(() => page.locator('#readings tbody tr').count()).toBe(2);
    const readingsText = await page.locator('#readings').textContent();
    expect(readingsText).toContain('123.5 m3');
    expect(readingsText).toContain('421.75 ppm');
    expect(readingsText).not.toContain(bravo.meter);
    expect(await page.locator('#alerts li').count()).toBe(1);
    expect(await page.locator(`#alerts li[data-alert-id="${alpha.meterAlert}"]`).textContent()).toContain('Volume advanced for 26 h without a pause');
    expect(await page.locator('#alert-count').textContent()).toBe('1');
    expect(await meter.getAttribute('class')).toContain('alerting');
    expect(await station.getAttribute('class')).not.toContain('alerting');
    await offline.screenshot('wallboard-loaded');

    await waitFor('the wallboard\'s two subscriptions attached', () => harness.api.services.live.subscribers() === 2, { timeoutMs: SHOWN_MS });
    // Another organisation's event reaches its own subscriber but never this wallboard.
    const bravoEvents: unknown[] = [];
    const bravoClient = createClient({ url: harness.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${bravo.read}` }, retryAttempts: 0 });
    clients.push(bravoClient);
    const stopBravo = bravoClient.subscribe({ query: 'subscription { readings { reading { value } } }' }, { next: (r) => void bravoEvents.push(r), error: () => undefined, complete: () => undefined });
    await waitFor('the other organisation\'s subscription attached', () => harness.api.services.live.subscribers() === 3, { timeoutMs: SHOWN_MS });
    await producer.produce(harness.kernel.catalogue.readings, [reading(bravo.org, bravo.meter, T0 + 60_000, 555.5)]);
    await waitFor('the other organisation\'s event at its subscriber', () => bravoEvents.length === 1, { timeoutMs: SHOWN_MS });
    stopBravo();

    // A new reading goes on top of the table and into the meter's latest values.
    await producer.produce(harness.kernel.catalogue.readings, [reading(alpha.org, alpha.meter, T0 + 120_000, 130.25)]);
    await expect.poll(() => page.locator('#readings tbody tr').first().textContent(), { timeout: SHOWN_MS }).toContain('130.25 m3');
    expect(await page.locator('#readings tbody tr').first().getAttribute('data-device-id')).toBe(alpha.meter);
    expect(await meter.locator('title').textContent()).toContain('volume 130.25 m3');
    expect(await page.locator('#event-count').textContent()).toBe('1');
    expect(await page.locator('#readings').textContent()).not.toContain('555.5');

    // A new alert of the station appears, marks it and is counted; clearing the meter's removes it.
    const stationAlert = alert(alpha.org, alpha.station, T0 + 180_000, {
      alertId: `CONCENTRATION_THRESHOLD|${alpha.station}|co2`,
      kind: 'CONCENTRATION_THRESHOLD',
      subject: 'co2',
      severity: 'CRITICAL',
      message: 'CO2 above 1000 ppm',
    });
    await producer.produce(harness.kernel.catalogue.alerts, [stationAlert]);
    await expect.poll(() => page.locator('#alert-count').textContent(), { timeout: SHOWN_MS }).toBe('2');
    const shownAlert = page.locator(`#alerts li[data-alert-id="${stationAlert.alertId}"]`);
    expect(await shownAlert.textContent()).toContain('CO2 above 1000 ppm');
    expect(await shownAlert.getAttribute('class')).toBe('severity-critical');
    expect(await station.getAttribute('class')).toContain('alerting');
    await offline.screenshot('wallboard-live');

    await producer.produce(harness.kernel.catalogue.alerts, [
      alert(alpha.org, alpha.meter, T0 + 240_000, { state: 'CLEARED', clearedAt: T0 + 240_000, revision: 2 }),
    ]);
    await expect.poll(() => page.locator('#alert-count').textContent(), { timeout: SHOWN_MS }).toBe('1');
    expect(await page.locator(`#alerts li[data-alert-id="${alpha.meterAlert}"]`).count()).toBe(0);
    expect(await meter.getAttribute('class')).not.toContain('alerting');
    expect(await page.locator('#event-count').textContent()).toBe('3');
    expectOfflineAndClean(offline);
  });

  it('resumes its subscriptions after the last event it showed when its socket drops, so every reading produced meanwhile appears exactly once', async () => {
    const host = new URL(harness.url).host;
    const offline = await browser.open(host);
    pages.push(offline);
    const { page } = offline;
    // The page's route comes before the browser's: it can cut the socket and refuse new ones for a while.
    const sockets: Array<{ page: WebSocketRoute; server: WebSocketRoute }> = [];
    let refusing = false;
    await page.routeWebSocket(`ws://${host}/graphql`, (ws) => {
      if (refusing) {
        void ws.close({ code: 1013, reason: 'test: try again later' });
        return;
      }
      sockets.push({ page: ws, server: ws.connectToServer() });
    });
    await page.goto(`http://${host}/wallboard/#token=${alpha.read}`);
    await expect.poll(() => page.locator('#status').getAttribute('data-live'), { timeout: SHOWN_MS }).toBe('true');
    await waitFor('the wallboard\'s two subscriptions attached', () => harness.api.services.live.subscribers() === 2, { timeoutMs: SHOWN_MS });

    const value = (i: number) => 700 + i + 0.25;
    const produce = (from: number, to: number) =>
      producer.produce(
        harness.kernel.catalogue.readings,
        Array.from({ length: to - from }, (_, k) => reading(alpha.org, alpha.meter, T0 + 3_600_000 + (from + k) * 60_000, value(from + k))),
      );
    // Before the drop: the page holds the cursor of this event.
    await produce(0, 2);
    await expect.poll(() => page.locator('#event-count').textContent(), { timeout: SHOWN_MS }).toBe('2');

    refusing = true;
    await Promise.all(sockets.splice(0).flatMap((s) => [s.page.close({ code: 1012, reason: 'test: dropped' }), s.server.close()]));
    await waitFor('the dropped subscriptions detached', () => harness.api.services.live.subscribers() === 0, { timeoutMs: SHOWN_MS });
    await expect.poll(() => page.locator('#status').getAttribute('data-live'), { timeout: SHOWN_MS }).toBe('false');
    // Produced while the page has no socket at all.
    await produce(2, 12);
    refusing = false;

    await expect.poll(() => page.locator('#event-count').textContent(), { timeout: SHOWN_MS }).toBe('12');
    expect(sockets).toHaveLength(1);
    await waitFor('the resumed subscriptions live', () => harness.api.services.live.subscribers() === 2, { timeoutMs: SHOWN_MS });
    await produce(12, 14);
    await expect.poll(() => page.locator('#event-count').textContent(), { timeout: SHOWN_MS }).toBe('14');

    const rows = await page.locator('#readings tbody tr td.value').allTextContents();
    for (let i = 0; i < 14; i += 1) expect(rows.filter((r) => r === `${value(i)} m3`), `reading ${value(i)}`).toHaveLength(1);
    // Newest first, in the order they were produced.
    expect(rows.slice(0, 14)).toEqual(Array.from({ length: 14 }, (_, i) => `${value(13 - i)} m3`));
    expect(await page.locator('#status').getAttribute('data-live')).toBe('true');
    await offline.screenshot('wallboard-resumed');
    expectOfflineAndClean(offline);
  });
});
