import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lifecycle } from '../../core/lifecycle.js';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import type { Concentration } from '../../schemas/avro/index.js';
import { deleteTopics, readToEnd, testKernel, waitFor, type TestKernel } from '../../test/support/stack.js';
import { createConcentrationProcess } from './main.js';
import { concentrationScenarios, stationReadings } from './testing/readings.js';

let kernel: TestKernel;
let producer: RecordProducer;
let db: pg.Pool;
let running: Lifecycle | undefined;
const ids = { organisation: '', site: '', device: '', station: '' };

const minsk = concentrationScenarios().find((s) => s.file.startsWith('minsk'))!;

async function start(): Promise<void> {
  const proc = createConcentrationProcess({
    config: kernel.config,
    logger: kernel.logger,
    catalogue: kernel.catalogue,
    metrics: new Registry(),
    prefix: kernel.prefix,
    // The scenario's hours lie in the past: close them one second after the station falls silent.
    options: { idleCloseMs: 1000 },
    timerIntervalMs: 200,
  });
  running = new Lifecycle(proc.components, { logger: kernel.logger });
  await running.start();
}

async function stop(): Promise<void> {
  await running?.stop();
  running = undefined;
}

async function records(): Promise<Array<{ topic: string; key: string; value: Concentration }>> {
  const out = [];
  for (const topic of [kernel.catalogue.concentrationHourly.name, kernel.catalogue.concentrationDaily.name]) {
    for (const m of await readToEnd(kernel, topic)) {
      out.push({ topic, key: m.key!.toString('utf8'), value: (await kernel.codec.decode('Concentration', m.value)).value });
    }
  }
  return out;
}

beforeAll(async () => {
  kernel = await testKernel('concentration');
  producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: kernel.catalogue.all });
  await producer.start();
  db = new pg.Pool({ connectionString: kernel.config.postgres.url, max: 2 });
  const tag = kernel.prefix.replace(/\W/g, '');
  ids.organisation = `${tag}-org`;
  ids.site = `${tag}-site`;
  ids.station = `${tag}-minsk`;
  ids.device = `station:${ids.station}`;
  await db.query('INSERT INTO organisations (id, name) VALUES ($1, $2)', [ids.organisation, 'Concentration test']);
  await db.query(`INSERT INTO sites (id, organisation_id, name, time_zone) VALUES ($1, $2, 'Mast', 'Europe/Minsk')`, [ids.site, ids.organisation]);
  await db.query(
    `INSERT INTO devices (id, organisation_id, site_id, station_id, medium, codec, status, expected_interval_s)
     VALUES ($1, $2, $3, $4, 'ghg_station', 'station-json', 'active', 60)`,
    [ids.device, ids.organisation, ids.site, ids.station],
  );
});

afterAll(async () => {
  await stop();
  await producer?.stop();
  if (db !== undefined) {
    await db.query('DELETE FROM devices WHERE id = $1', [ids.device]);
    await db.query('DELETE FROM sites WHERE id = $1', [ids.site]);
    await db.query('DELETE FROM organisations WHERE id = $1', [ids.organisation]);
    await db.end();
  }
  if (kernel !== undefined) await deleteTopics(kernel);
});

describe('the concentration worker on the local stack', () => {
  it('writes the reference scenario\'s hourly and daily records, with the site\'s zone and the station\'s interval from PostgreSQL', async () => {
    // Readings carry no organisation: the registry row supplies it.
    const readings = minsk.uplinks.flatMap((u) => stationReadings(ids.device, u));
    await producer.produce(kernel.catalogue.readings, readings);
    await start();
    const expectedKeys = minsk.expected.map((x) => x.key.replace('minsk-01', ids.station)).sort();
    const got = await waitFor('the six concentration records', async () => {
      const all = await records();
      return all.length >= expectedKeys.length && all;
    }, { timeoutMs: 90_000, intervalMs: 500 });
    expect(got.map((r) => r.key).sort()).toEqual(expectedKeys);
    for (const expected of minsk.expected) {
      const record = got.find((r) => r.key === expected.key.replace('minsk-01', ids.station))!.value;
      expect(record.revision).toBe(1);
      expect(record.count).toBe(expected['count']);
      expect(record.expectedCount).toBe(expected['expectedCount']);
      expect(record.meanMgPerM3).toBeCloseTo(expected['meanMgPerM3'] as number, 9);
      expect(record.co2eMgPerM3).toBeCloseTo(expected['co2eMgPerM3'] as number, 9);
      expect(record).toMatchObject({ timeZone: 'Europe/Minsk', organisationId: ids.organisation, siteId: ids.site, gwpSet: 'IPCC-AR6' });
    }
  });

  it('restores its state after a restart and restates the hour and day a late sample falls in (revision 2)', async () => {
    await stop();
    const late = { uplinkId: 'late-1', observedAt: '2026-03-29T09:30:00.000Z', gases: { co2: 500 }, temperatureC: 4, pressurePa: 99_840 };
    await producer.produce(kernel.catalogue.readings, stationReadings(ids.device, late));
    await start();
    const hourKey = `${ids.station}|CO2|2026-03-29T09:00:00.000Z`;
    const dayKey = `${ids.station}|CO2|2026-03-28T21:00:00.000Z`;
    const got = await waitFor('the restated CO2 hour and day', async () => {
      const all = await records();
      const revised = all.filter((r) => (r.key === hourKey || r.key === dayKey) && r.value.revision === 2);
      return revised.length === 2 && all;
    }, { timeoutMs: 90_000, intervalMs: 500 });
    const hour = got.filter((r) => r.key === hourKey).map((r) => [r.value.revision, r.value.count]);
    const day = got.filter((r) => r.key === dayKey).map((r) => [r.value.revision, r.value.count]);
    expect(hour).toEqual([[1, 3], [2, 4]]);
    expect(day).toEqual([[1, 4], [2, 5]]);
    // Nothing else changed: CH4 and the second hour keep revision 1.
    expect(got.filter((r) => r.value.revision > 1).length).toBe(2);
  });
});
