import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import type { Consumer } from '../../core/kafka/client.js';
import { Lifecycle } from '../../core/lifecycle.js';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import type { Alert, Reading } from '../../schemas/avro/index.js';
import { SAMPLE_RECORDS } from '../../schemas/avro/samples.js';
import { deleteTopics, testKernel, waitFor, type TestKernel } from '../../test/support/stack.js';
import { createAlertsProcess, type AlertsProcess } from './main.js';

/** The silence rule's clock: the test moves it, so silence takes no real time. */
let clock = Date.now();
let kernel: TestKernel;
let producer: RecordProducer;
let db: pg.Pool;
let reader: Consumer;
let worker: Lifecycle | undefined;
let current: AlertsProcess | undefined;
const alerts: Alert[] = [];
const tag = randomBytes(4).toString('hex');
const organisation = `org-alerts-${tag}`;
const meter = `mbus:${String(Math.floor(Math.random() * 90_000_000) + 10_000_000)}2c2d1b07`;
const station = `station:alerts-${tag}`;
/** A meter whose uplinks stop yielding readings; decode still records them as devices.last_seen_at. */
const quietMeter = `mbus:${String(Math.floor(Math.random() * 90_000_000) + 10_000_000)}2c2d1b07`;

async function startWorker(): Promise<void> {
  const config = loadConfig({ ...process.env, ALERTS_SILENCE_FACTOR: '3', ALERTS_DEFAULT_INTERVAL_S: '3600' });
  current = createAlertsProcess({
    config,
    logger: kernel.logger,
    catalogue: kernel.catalogue,
    metrics: new Registry(),
    prefix: kernel.prefix,
    now: () => clock,
    timerIntervalMs: 100,
    registryTtlMs: 0,
  });
  worker = new Lifecycle(current.components, { logger: kernel.logger });
  await worker.start();
}

async function stopWorker(): Promise<void> {
  await worker?.stop();
  worker = undefined;
}

let sequence = 0;
function reading(deviceId: string, overrides: Partial<Reading> = {}): Reading {
  const n = ++sequence;
  return {
    ...SAMPLE_RECORDS.Reading,
    readingId: `${tag}-${n}:0`,
    uplinkId: `${tag}-${n}`,
    deviceId,
    organisationId: organisation,
    siteId: null,
    registerKey: 'volume',
    quantity: 'volume',
    unit: 'm3',
    cumulative: true,
    function: 'INSTANTANEOUS',
    storageNumber: 0,
    tariff: 0,
    subunit: 0,
    value: n,
    observedAt: clock,
    receivedAt: clock,
    qualityFlags: [],
    ...overrides,
  };
}

/** What decode writes for an uplink it took (streams/decode/registry-writes.ts): last seen, forward only. */
async function seen(deviceId: string, receivedAt: number): Promise<void> {
  await db.query('UPDATE devices SET last_seen_at = GREATEST(last_seen_at, to_timestamp($2::bigint / 1000.0)) WHERE id = $1', [deviceId, receivedAt]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const of = (deviceId: string, kind: Alert['kind']) => alerts.filter((a) => a.deviceId === deviceId && a.kind === kind);

beforeAll(async () => {
  kernel = await testKernel('alerts');
  producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: kernel.catalogue.all });
  await producer.start();
  db = new pg.Pool({ connectionString: kernel.config.postgres.url, max: 2 });
  await db.query('INSERT INTO organisations (id, name) VALUES ($1, $2)', [organisation, 'Alerts test utility']);
  // Expected every 60 s: silent after 3 × 60 s of the test's clock.
  await db.query(`INSERT INTO devices (id, organisation_id, medium, status, expected_interval_s) VALUES ($1, $2, 'water', 'active', 60)`, [meter, organisation]);
  await db.query(`INSERT INTO devices (id, organisation_id, medium, status, expected_interval_s) VALUES ($1, $2, 'water', 'active', 60)`, [quietMeter, organisation]);
  await db.query(`INSERT INTO devices (id, organisation_id, station_id, medium, status, expected_interval_s) VALUES ($1, $2, $3, 'ghg_station', 'active', 60)`,
    [station, organisation, station.slice('station:'.length)]);
  // The organisation's CH4 levels, and a stricter one of the station's own that replaces them.
  await db.query(
    `INSERT INTO concentration_thresholds (id, organisation_id, station_device_id, gas, threshold_ppm, severity, hysteresis_ppm) VALUES
       ($1, $3, NULL, 'CH4', 10, 'WARNING', 1), ($2, $3, $4, 'CH4', 3, 'CRITICAL', 0.5)`,
    [`thr-org-${tag}`, `thr-station-${tag}`, organisation, station],
  );

  reader = kernel.kafka.consumer({ groupId: `${kernel.prefix}check` });
  await reader.connect();
  await reader.subscribe([kernel.catalogue.alerts.name], { fromBeginning: true });
  await reader.run({
    eachBatch: async (batch) => {
      for (const m of batch.messages) alerts.push((await kernel.codec.decode('Alert', m.value)).value);
    },
  });
});

afterAll(async () => {
  await stopWorker();
  await reader?.disconnect();
  await producer?.stop();
  await db?.query('DELETE FROM concentration_thresholds WHERE organisation_id = $1', [organisation]);
  await db?.query('DELETE FROM devices WHERE organisation_id = $1', [organisation]);
  await db?.query('DELETE FROM organisations WHERE id = $1', [organisation]);
  await db?.end();
  await deleteTopics(kernel);
});

describe('the alerts worker on the local stack', () => {
  it('raises DEVICE_SILENT for a device that went quiet, across a restart, and clears it when the device talks again', async () => {
    await startWorker();
    await producer.produce(kernel.catalogue.readings, [reading(meter)]);
    const heardAt = clock;
    // The state holds the meter and its partition's mark once the reading's batch committed (state follows the commit).
    await waitFor('the meter to be in the worker state', () => current!.worker.stateSize() === 2, { timeoutMs: 60_000 });
    await stopWorker();

    // The silence falls due while no worker runs; the restarted worker finds its timer in the changelog.
    // Its clock moves on while the test waits: a worker that has just taken a partition over counts
    // it as busy for a while (silence.ts, the partition clock) before the wall clock decides.
    clock = heardAt + 3 * 60_000 + 5_000;
    await startWorker();
    const raised = await waitFor('DEVICE_SILENT to be raised', () => {
      clock += 1_000;
      return of(meter, 'DEVICE_SILENT')[0];
    }, { timeoutMs: 60_000 });
    expect(raised).toMatchObject({
      alertId: `DEVICE_SILENT|${meter}|`,
      state: 'RAISED',
      severity: 'WARNING',
      organisationId: organisation,
      raisedAt: heardAt + 3 * 60_000,
      revision: 1,
    });

    clock += 10_000;
    await producer.produce(kernel.catalogue.readings, [reading(meter)]);
    const cleared = await waitFor('DEVICE_SILENT to clear', () => of(meter, 'DEVICE_SILENT')[1], { timeoutMs: 60_000 });
    expect(cleared).toMatchObject({ alertId: raised.alertId, state: 'CLEARED', clearedAt: clock, raisedAt: raised.raisedAt, revision: 2 });
    expect(of(meter, 'DEVICE_SILENT')).toHaveLength(2);
  }, 180_000);

  it('holds a station\'s gas against its own threshold from PostgreSQL rather than its organisation\'s', async () => {
    if (worker === undefined) await startWorker();
    const ch4 = (value: number, offsetMs: number) =>
      reading(station, { registerKey: 'ch4', quantity: 'ch4', unit: 'ppm', cumulative: false, value, observedAt: clock + offsetMs, receivedAt: clock + offsetMs });
    await producer.produce(kernel.catalogue.readings, [ch4(2, 0), ch4(4.2, 60_000), ch4(2.4, 120_000)]);
    const changes = await waitFor('the CH4 alert to be raised and cleared', () => of(station, 'CONCENTRATION_THRESHOLD').length >= 2 && of(station, 'CONCENTRATION_THRESHOLD'), { timeoutMs: 60_000 });
    expect(changes.map((a) => [a.subject, a.state, a.severity, a.details['thresholdPpm'] ?? null, a.revision])).toEqual([
      ['CH4', 'RAISED', 'CRITICAL', '3', 1],
      ['CH4', 'CLEARED', 'INFO', null, 2],
    ]);
  }, 120_000);

  it('takes devices.last_seen_at as contact: a meter whose readings stop but whose uplinks decode records is not raised, and an open silence clears at the next re-check', async () => {
    if (worker === undefined) await startWorker();
    const before = current!.worker.stateSize();
    await producer.produce(kernel.catalogue.readings, [reading(quietMeter)]);
    const readAt = clock;
    await seen(quietMeter, readAt);
    await waitFor('the quiet meter to be in the worker state', () => current!.worker.stateSize() > before, { timeoutMs: 60_000 });

    // No more readings; decode keeps recording the meter's uplinks (status only) in PostgreSQL,
    // every 20 s of the test's clock, over three windows (3 × 3 min).
    let lastSeen = readAt;
    while (clock < readAt + 9 * 60_000) {
      lastSeen = clock + 20_000;
      await seen(quietMeter, lastSeen);
      clock = lastSeen;
      await sleep(200);
    }
    expect(of(quietMeter, 'DEVICE_SILENT')).toEqual([]);

    // Decode records nothing more: silent one window after the last recorded uplink, not after the reading.
    const raised = await waitFor('DEVICE_SILENT of the quiet meter', () => {
      clock += 5_000;
      return of(quietMeter, 'DEVICE_SILENT')[0];
    }, { timeoutMs: 60_000 });
    expect(raised).toMatchObject({ state: 'RAISED', raisedAt: lastSeen + 3 * 60_000, details: expect.objectContaining({ lastHeardAt: new Date(lastSeen).toISOString() }) });

    // An uplink again, without a reading: cleared at the next re-check, at most a window (3 min) later.
    clock += 10_000;
    const talkedAt = clock;
    await seen(quietMeter, talkedAt);
    const cleared = await waitFor('DEVICE_SILENT of the quiet meter to clear', () => {
      const found = of(quietMeter, 'DEVICE_SILENT')[1];
      if (found === undefined) clock += 5_000;
      return found;
    }, { timeoutMs: 60_000 });
    expect(cleared).toMatchObject({
      alertId: raised.alertId,
      state: 'CLEARED',
      clearedAt: talkedAt,
      revision: 2,
      details: expect.objectContaining({ heardVia: 'devices.last_seen_at', lastHeardAt: new Date(lastSeen).toISOString() }),
    });
    expect(cleared.message).toMatch(/^Device sent an uplink again after /);
    // Without re-checks the next look would be the escalation, heardAt + 4 windows (about 8 min after the raise).
    expect(clock - talkedAt).toBeLessThanOrEqual(3 * 60_000 + 60_000);
    expect(of(quietMeter, 'DEVICE_SILENT')).toHaveLength(2);
  }, 180_000);
});
