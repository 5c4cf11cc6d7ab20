import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { partitionOfKey } from '../../core/kafka/murmur2.js';
import { Lifecycle } from '../../core/lifecycle.js';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import type { Consumption, Footprint } from '../../schemas/avro/index.js';
import { deleteTopics, readToEnd, testKernel, waitFor, type TestKernel } from '../../test/support/stack.js';
import { createFootprintProcess } from './main.js';

let kernel: TestKernel;
let producer: RecordProducer;
let db: pg.Pool;
let running: Lifecycle | undefined;
let tag = '';
const devices: string[] = [];
const START = Date.parse('2026-02-28T21:00:00.000Z');
const END = Date.parse('2026-03-31T21:00:00.000Z');

const id = (name: string) => `${tag}-${name}`;

function monthly(registerId: string, deviceId: string, registerKey: string, unit: string, delta: string): Consumption {
  return {
    registerId, deviceId, registerKey, organisationId: id('org'), siteId: id('site'), granularity: 'MONTHLY',
    periodStartAt: START, periodEndAt: END, localPeriod: '2026-03', timeZone: 'Europe/Minsk', billingDayStartHour: 0,
    startValue: '0', endValue: delta, delta, unit, quality: 'MEASURED', status: 'FINAL', open: false, revision: 1,
    rollovers: 0, meterReplacements: 0, computedAt: Date.now(),
  };
}

async function footprints(): Promise<Footprint[]> {
  const out: Footprint[] = [];
  for (const m of await readToEnd(kernel, kernel.catalogue.footprintMonthly.name)) out.push((await kernel.codec.decode('Footprint', m.value)).value);
  return out;
}

const latest = (all: readonly Footprint[], scope: Footprint['scope']) => all.filter((f) => f.scope === scope).at(-1);

beforeAll(async () => {
  kernel = await testKernel('footprint');
  tag = kernel.prefix.replace(/\W/g, '');
  producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: kernel.catalogue.all });
  await producer.start();
  db = new pg.Pool({ connectionString: kernel.config.postgres.url, max: 2 });
  await db.query('INSERT INTO organisations (id, name, region) VALUES ($1, $2, $3)', [id('org'), 'Footprint test', id('GRID')]);
  await db.query(`INSERT INTO sites (id, organisation_id, name, time_zone) VALUES ($1, $2, 'Plant', 'Europe/Minsk')`, [id('site'), id('org')]);
  // The registers the organisation had: every counted one heard before March must report before March is FINAL;
  // a meter retired (last heard) in January and one first heard during March do not hold it.
  const registry = [
    ['el-a', 'electricity', 'energy', 'Wh', 'active', '2026-01-15T10:00:00Z', null],
    ['el-b', 'electricity', 'energy', 'Wh', 'active', '2026-01-15T10:00:00Z', null],
    ['gas', 'gas', 'volume', 'm3', 'active', '2026-01-15T10:00:00Z', null],
    ['gas-late', 'gas', 'volume', 'm3', 'active', '2026-01-15T10:00:00Z', null],
    ['water', 'water', 'volume', 'm3', 'active', '2026-01-15T10:00:00Z', null],
    ['el-retired', 'electricity', 'energy', 'Wh', 'retired', '2025-06-01T10:00:00Z', '2026-01-20T10:00:00Z'],
    ['el-new', 'electricity', 'energy', 'Wh', 'new', '2026-03-10T10:00:00Z', null],
  ] as const;
  for (const [name, medium, registerKey, unit, status, firstSeen, lastSeen] of registry) {
    devices.push(`mbus:${id(name)}`);
    await db.query(
      `INSERT INTO devices (id, organisation_id, site_id, medium, codec, status, first_seen_at, last_seen_at)
       VALUES ($1, $2, $3, $4, 'mbus', $5, $6, coalesce($7, now()))`,
      [`mbus:${id(name)}`, id('org'), id('site'), medium, status, firstSeen, lastSeen],
    );
    await db.query(`INSERT INTO registers (id, device_id, register_key, quantity, unit, cumulative) VALUES ($1, $2, $3, $3, $4, true)`,
      [id(`reg-${name}`), `mbus:${id(name)}`, registerKey, unit]);
  }
  await db.query(
    `INSERT INTO emission_factors (id, resource, region, kg_co2e_per_unit, unit, scope, source, valid_from) VALUES
       ($1, 'electricity', $3, 0.4, 'kWh', 2, 'Test grid 2026', '2026-01-01'),
       ($2, 'gas', $3, 2.0, 'm3', 1, 'Test inventory 2026', '2026-01-01')`,
    [id('ef-el'), id('ef-gas'), id('GRID')],
  );
});

afterAll(async () => {
  await running?.stop();
  await producer?.stop();
  if (db !== undefined) {
    await db.query('DELETE FROM emission_factors WHERE id LIKE $1', [`${tag}-%`]);
    await db.query('DELETE FROM registers WHERE device_id = ANY($1)', [devices]);
    await db.query('DELETE FROM devices WHERE id = ANY($1)', [devices]);
    await db.query('DELETE FROM sites WHERE id = $1', [id('site')]);
    await db.query('DELETE FROM organisations WHERE id = $1', [id('org')]);
    await db.end();
  }
  if (kernel !== undefined) await deleteTopics(kernel);
});

describe('the footprint workers on the local stack', () => {
  it('brings an organisation\'s registers from different partitions together into one footprint per scope, FINAL once every register it had has reported', async () => {
    const records = [
      monthly(id('reg-el-a'), `mbus:${id('el-a')}`, 'energy', 'Wh', '1000000'),
      monthly(id('reg-el-b'), `mbus:${id('el-b')}`, 'energy', 'Wh', '2500000.5'),
      monthly(id('reg-gas'), `mbus:${id('gas')}`, 'volume', 'm3', '100.25'),
      monthly(id('reg-water'), `mbus:${id('water')}`, 'volume', 'm3', '12'),
    ];
    const partitions = new Set(records.map((r) => partitionOfKey(kernel.catalogue.consumptionMonthly.keyOf(r)!, 3)));
    await producer.produce(kernel.catalogue.consumptionMonthly, records);
    const config = loadConfig({ ...process.env, FOOTPRINT_FACTOR_POLL_S: '1' });
    const proc = createFootprintProcess({ config, logger: kernel.logger, catalogue: kernel.catalogue, metrics: new Registry(), prefix: kernel.prefix, timerIntervalMs: 200 });
    running = new Lifecycle(proc.components, { logger: kernel.logger });
    await running.start();

    const all = await waitFor('footprints with both electricity registers and the gas register', async () => {
      const got = await footprints();
      return latest(got, 'SCOPE_2')?.status === 'FINAL' && latest(got, 'SCOPE_1') !== undefined && got;
    }, { timeoutMs: 90_000, intervalMs: 500 });
    expect(partitions.size).toBeGreaterThan(1);
    const scope2 = latest(all, 'SCOPE_2')!;
    expect(scope2).toMatchObject({ organisationId: id('org'), month: '2026-03', periodStartAt: START, periodEndAt: END });
    // FINAL only with both electricity registers (a check between them writes PROVISIONAL): never restated.
    expect(all.filter((f) => f.scope === 'SCOPE_2').map((f) => f.status)).not.toContain('RESTATED');
    // 3,500,000.5 Wh × 0.0004 kg/Wh.
    expect(scope2.emissionsKgCo2e).toBe('1400.000200000');
    expect(scope2.lines.map((l) => [l.registerId, l.factorKgCo2ePerUnit, l.emissionsKgCo2e])).toEqual([
      [id('reg-el-a'), '0.000400000', '400.000000000'],
      [id('reg-el-b'), '0.000400000', '1000.000200000'],
    ]);
    // The second gas register is known in PostgreSQL but has not reported: scope 1 waits for it.
    expect(latest(all, 'SCOPE_1')).toMatchObject({ emissionsKgCo2e: '200.500000000', revision: 1, status: 'PROVISIONAL' });
    expect(all.flatMap((f) => f.lines.map((l) => l.registerId))).not.toContain(id('reg-water'));

    await producer.produce(kernel.catalogue.consumptionMonthly, [monthly(id('reg-gas-late'), `mbus:${id('gas-late')}`, 'volume', 'm3', '50')]);
    const scope1 = await waitFor('scope 1 FINAL with the late gas register', async () => {
      const f = latest(await footprints(), 'SCOPE_1');
      return f?.status === 'FINAL' && f;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(scope1).toMatchObject({ emissionsKgCo2e: '300.500000000', revision: 2 });
    expect(scope1.lines.map((l) => l.registerId)).toEqual([id('reg-gas'), id('reg-gas-late')]);
    expect((await footprints()).map((f) => f.status)).not.toContain('RESTATED');
  });

  it('recomputes the months a factor change touches: an update restates scope 2, an organisation\'s own factor restates scope 1', async () => {
    const before = await footprints();
    const revision2 = latest(before, 'SCOPE_2')!.revision;
    await db.query('UPDATE emission_factors SET kg_co2e_per_unit = 0.35, source = $2 WHERE id = $1', [id('ef-el'), 'Test grid 2026 (revised)']);
    const restated = await waitFor('scope 2 restated with the revised factor', async () => {
      const f = latest(await footprints(), 'SCOPE_2');
      return f !== undefined && f.revision > revision2 && f;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(restated).toMatchObject({ status: 'RESTATED', revision: revision2 + 1, emissionsKgCo2e: '1225.000175000' });
    expect(restated.lines.map((l) => l.factorSource)).toEqual(['Test grid 2026 (revised)', 'Test grid 2026 (revised)']);

    await db.query(
      `INSERT INTO emission_factors (id, resource, region, kg_co2e_per_unit, unit, scope, source, valid_from, organisation_id)
       VALUES ($1, 'gas', $2, 1.9, 'm3', 1, 'Own supplier 2026', '2026-03-01', $3)`,
      [id('ef-gas-own'), id('GRID'), id('org')],
    );
    const own = await waitFor('scope 1 restated with the organisation\'s own factor', async () => {
      const f = latest(await footprints(), 'SCOPE_1');
      return f !== undefined && f.revision === 3 && f;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    // 150.25 m3 × 1.9 kg/m3.
    expect(own).toMatchObject({ status: 'RESTATED', emissionsKgCo2e: '285.475000000' });
    expect(own.lines.map((l) => l.factorId)).toEqual([id('ef-gas-own'), id('ef-gas-own')]);
    expect(own.lines[0]).toMatchObject({ factorSource: 'Own supplier 2026' });
    // Each change wrote one record per scope it touched, nothing more.
    const after = await footprints();
    expect(after.filter((f) => f.scope === 'SCOPE_2').length).toBe(before.filter((f) => f.scope === 'SCOPE_2').length + 1);
  });
});
