// @ts-check
/* global window, document, history, sessionStorage, CloseEvent */
/**
 * The live wallboard page (browser code, bundled by `build.ts`): latest readings, open alerts and
 * the organisation's devices placed by their sites' coordinates on an SVG drawing (no map tiles,
 * nothing from the internet), all updating over graphql-ws subscriptions. The token comes from a
 * `#token=<secret>` fragment or the form on the page, and is kept in the tab's sessionStorage.
 */
import { createClient } from 'graphql-ws';
import { boxAround, graphqlEndpoints, project, tokenFromFragment } from '../page-support.js';

/** @typedef {import('graphql-ws').Client} Client */
/** @typedef {{ deviceId: string, registerKey: string, value: number, unit: string, observedAt: string }} LatestReading */
/** @typedef {{ device: { id: string }, latitude: number, longitude: number, station: boolean, latest: LatestReading[] }} Feature */
/** @typedef {{ id: string, deviceId: string, kind: string, severity: string, state: string, message: string, updatedAt: string }} AlertView */
/** @typedef {{ data?: Record<string, unknown> | null, errors?: readonly { message: string }[] }} Answer */

const WORLD = { south: -90, west: -180, north: 90, east: 180 };
const READINGS_SHOWN = 30;
const SVG_NS = 'http://www.w3.org/2000/svg';
/** Pause before resuming a subscription the server completed without sending anything. */
const RESUME_PAUSE_MS = 2000;

const INITIAL = `query Wallboard($box: BoundingBox!) {
  viewer { organisation { name } }
  mapFeatures(box: $box) {
    device { id } latitude longitude station
    latest { deviceId registerKey value unit observedAt }
  }
  alerts(filter: { open: true }, first: 100) {
    edges { node { id deviceId kind severity state message updatedAt } }
  }
}`;
const READINGS = `subscription Readings($after: String) {
  readings(after: $after) { cursor reading { deviceId registerKey value unit observedAt } }
}`;
const ALERTS = `subscription Alerts($after: String) {
  alerts(after: $after) { cursor alert { id deviceId kind severity state message updatedAt } }
}`;

/**
 * The page's element for `selector`; the page's own markup guarantees it exists.
 * @template {Element} T
 * @param {string} selector
 * @returns {T}
 */
const $ = (selector) => /** @type {T} */ (document.querySelector(selector));

const state = {
  /** @type {Map<string, Feature>} */
  features: new Map(),
  /** @type {LatestReading[]} */
  readings: [],
  /** @type {Map<string, AlertView>} */
  alerts: new Map(),
  events: 0,
};

/** @param {string} text @param {boolean} live */
function setStatus(text, live) {
  /** @type {HTMLElement} */
  const status = $('#status');
  status.textContent = text;
  status.dataset['live'] = String(live);
}

/** @param {string} tag @param {string} content @param {string} [className] @returns {HTMLElement} */
function text(tag, content, className) {
  const element = document.createElement(tag);
  element.textContent = content;
  if (className) element.className = className;
  return element;
}

function renderReadings() {
  /** @type {HTMLTableSectionElement} */
  const body = $('#readings tbody');
  body.replaceChildren(
    ...state.readings.map((r) => {
      const row = document.createElement('tr');
      row.dataset['deviceId'] = r.deviceId;
      row.append(
        text('td', new Date(r.observedAt).toLocaleString()),
        text('td', r.deviceId),
        text('td', r.registerKey),
        text('td', `${Number(r.value.toPrecision(8))} ${r.unit}`, 'value'),
      );
      return row;
    }),
  );
}

function renderAlerts() {
  /** @type {HTMLUListElement} */
  const list = $('#alerts');
  const open = [...state.alerts.values()].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  list.replaceChildren(
    ...open.map((a) => {
      const item = document.createElement('li');
      item.className = `severity-${a.severity.toLowerCase()}`;
      item.dataset['alertId'] = a.id;
      item.append(text('strong', `${a.severity} ${a.kind}`), text('span', ` ${a.deviceId}: ${a.message}`));
      return item;
    }),
  );
  $('#alert-count').textContent = String(open.length);
}

function renderMap() {
  /** @type {SVGSVGElement} */
  const svg = $('#map');
  const width = svg.clientWidth || 640;
  const height = svg.clientHeight || 420;
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const features = [...state.features.values()];
  const box = boxAround(features);
  const alerting = new Set([...state.alerts.values()].map((a) => a.deviceId));
  /** @type {SVGElement[]} */
  const children = [];
  for (const feature of features) {
    const { x, y } = project(box, width, height, feature.latitude, feature.longitude);
    const marker = document.createElementNS(SVG_NS, feature.station ? 'rect' : 'circle');
    if (feature.station) {
      marker.setAttribute('x', String(x - 6));
      marker.setAttribute('y', String(y - 6));
      marker.setAttribute('width', '12');
      marker.setAttribute('height', '12');
    } else {
      marker.setAttribute('cx', String(x));
      marker.setAttribute('cy', String(y));
      marker.setAttribute('r', '6');
    }
    marker.setAttribute('class', `${feature.station ? 'station' : 'meter'}${alerting.has(feature.device.id) ? ' alerting' : ''}`);
    marker.dataset['deviceId'] = feature.device.id;
    const title = document.createElementNS(SVG_NS, 'title');
    const latest = feature.latest.map((r) => `${r.registerKey} ${Number(r.value.toPrecision(8))} ${r.unit}`).join(', ');
    title.textContent = `${feature.device.id}${latest ? ` — ${latest}` : ''}`;
    marker.append(title);
    children.push(marker);
  }
  svg.replaceChildren(...children);
}

/** @param {LatestReading} reading */
function addReading(reading) {
  state.readings.unshift(reading);
  state.readings.length = Math.min(state.readings.length, READINGS_SHOWN);
  const feature = state.features.get(reading.deviceId);
  if (feature) {
    feature.latest = [reading, ...feature.latest.filter((r) => r.registerKey !== reading.registerKey)];
  }
}

/** @param {AlertView} alert */
function applyAlert(alert) {
  if (alert.state === 'CLEARED') state.alerts.delete(alert.id);
  else state.alerts.set(alert.id, alert);
}

function countEvent() {
  state.events += 1;
  $('#event-count').textContent = String(state.events);
}

/** @param {Client} client */
async function load(client) {
  /** @type {Answer} */
  const result = await new Promise((resolve, reject) => {
    /** @type {Answer} */
    let answer = {};
    client.subscribe({ query: INITIAL, variables: { box: WORLD } }, {
      next: (value) => (answer = value),
      error: reject,
      complete: () => resolve(answer),
    });
  });
  if (result.errors?.length) throw new Error(result.errors.map((e) => e.message).join('; '));
  const data = /** @type {{ viewer: { organisation: { name: string } }, mapFeatures: Feature[], alerts: { edges: { node: AlertView }[] } }} */ (
    result.data
  );
  $('#organisation').textContent = data.viewer.organisation.name;
  state.features = new Map(data.mapFeatures.map((f) => [f.device.id, f]));
  state.readings = data.mapFeatures
    .flatMap((f) => f.latest)
    .sort((a, b) => b.observedAt.localeCompare(a.observedAt))
    .slice(0, READINGS_SHOWN);
  state.alerts = new Map(data.alerts.edges.map((e) => [e.node.id, e.node]));
  renderReadings();
  renderAlerts();
  renderMap();
}

/** @param {unknown} error @returns {string} */
function errorText(error) {
  if (error instanceof Error) return error.message;
  if (Array.isArray(error)) return error.map((e) => e?.message ?? String(e)).join('; ');
  if (error instanceof CloseEvent) return `connection closed: ${error.reason || error.code}`;
  return String(error);
}

/**
 * Follows one subscription for as long as the page keeps `client`, resuming after the last event
 * shown. graphql-ws resends an operation's payload object as it stands when it reconnects, so the
 * cursor of each event goes into that object's variables: a dropped socket resumes with
 * `after: cursor` and the server replays what happened meanwhile, once. The variables object is
 * replaced, never shared between operations, so each stream only ever sends its own cursors. The
 * server completes a subscription it detached as slow (error code SLOW_SUBSCRIBER) or when it
 * shuts the operation down; that too resumes from the cursor, as a new operation (after a pause
 * when nothing arrived, so a server that keeps completing is not asked in a loop). Any other
 * error ends the subscription and shows on the page.
 *
 * @param {Client} client
 * @param {string} query
 * @param {string} field the subscription's root field
 * @param {(event: Record<string, unknown>) => void} show
 */
function follow(client, query, field, show) {
  /** @type {{ query: string, variables: { after?: string } }} */
  const payload = { query, variables: {} };
  const run = () => {
    let received = false;
    let resume = true;
    client.subscribe(payload, {
      next: ({ data, errors }) => {
        if (errors?.length) {
          resume = errors.every((e) => e.extensions?.['code'] === 'SLOW_SUBSCRIBER');
          setStatus(`${field} ${resume ? 'interrupted' : 'stopped'}: ${errors.map((e) => e.message).join('; ')}`, false);
          return;
        }
        const event = /** @type {Record<string, { cursor: string } & Record<string, unknown>> | null | undefined} */ (data)?.[field];
        if (!event) return;
        if (!received && /** @type {HTMLElement} */ ($('#status')).dataset['live'] !== 'true') setStatus('live', true);
        received = true;
        payload.variables = { after: event.cursor };
        show(event);
      },
      error: (error) => setStatus(`${field} stopped: ${errorText(error)}`, false),
      complete: () => {
        if (!resume || client !== current) return;
        if (received) run();
        else window.setTimeout(() => client === current && run(), RESUME_PAUSE_MS);
      },
    });
  };
  run();
}

/** @param {Client} client */
function followAll(client) {
  follow(client, READINGS, 'readings', (event) => {
    addReading(/** @type {LatestReading} */ (event['reading']));
    countEvent();
    renderReadings();
    renderMap();
  });
  follow(client, ALERTS, 'alerts', (event) => {
    applyAlert(/** @type {AlertView} */ (event['alert']));
    countEvent();
    renderAlerts();
    renderMap();
  });
}

/** @type {Client | undefined} The page's client; a subscription of an older one never resumes. */
let current;

/** @param {string} token */
async function connect(token) {
  const previous = current;
  current = undefined;
  await previous?.dispose();
  setStatus('connecting…', false);
  const { wsUrl } = graphqlEndpoints(window.location);
  const next = createClient({
    url: wsUrl,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: Infinity,
    shouldRetry: () => true,
    on: {
      connected: () => setStatus('live', true),
      closed: () => setStatus('reconnecting…', false),
    },
  });
  current = next;
  try {
    await load(next);
    followAll(next);
  } catch (error) {
    setStatus(`cannot load: ${errorText(error)}`, false);
  }
}

function start() {
  const fromFragment = tokenFromFragment(window.location.hash);
  if (fromFragment !== undefined) {
    sessionStorage.setItem('meterflux-token', fromFragment);
    history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  /** @type {HTMLFormElement} */
  const form = $('#token-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = /** @type {HTMLInputElement} */ ($('#token')).value.trim();
    if (token === '') return;
    sessionStorage.setItem('meterflux-token', token);
    void connect(token);
  });
  window.addEventListener('resize', renderMap);
  const token = sessionStorage.getItem('meterflux-token');
  if (token) void connect(token);
  else setStatus('enter an API token (scope read)', false);
}

start();
