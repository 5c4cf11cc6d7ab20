import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { storeDeviceKey } from '../../core/device-keys.js';
import type { Consumer } from '../../core/kafka/client.js';
import { Lifecycle } from '../../core/lifecycle.js';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import type { Alert, DeadLetter, Device, RawUplink, Reading } from '../../schemas/avro/index.js';
import { deleteTopics, testKernel, waitFor, type TestKernel } from '../../test/support/stack.js';
import { createDecodeProcess } from './main.js';
import { redrive } from './redrive.js';
import { deviceIdOf, mbusUplink, wmbusUplink, type TestMeter } from './testing/uplinks.js';

const MASTER_KEY = randomBytes(32);
const OMS_KEY = Uint8Array.from(randomBytes(16));
/** Meter ids unique to this run: PostgreSQL is shared with other test files and runs. */
const BASE_ID = 20_000_000 + Math.floor(Math.random() * 70_000_000);
const meter = (n: number): TestMeter => ({ id: BASE_ID + n, manufacturer: 'KAM', version: 0x1b, medium: 0x07 });

let kernel: TestKernel;
let producer: RecordProducer;
let db: pg.Pool;
let redis: Redis;
let reader: Consumer;
let decode: Lifecycle | undefined;
const created = { devices: new Set<string>(), organisation: '', site: '' };
const out = { readings: [] as Reading[], devices: [] as Device[], alerts: [] as Alert[], deadLetters: [] as DeadLetter[], raw: new Map<string, Buffer>() };

async function startDecode(): Promise<void> {
  const config = loadConfig({ ...process.env, DEVICE_KEY_ENCRYPTION_KEY: MASTER_KEY.toString('hex') });
  const process_ = createDecodeProcess({ config, logger: kernel.logger, catalogue: kernel.catalogue, metrics: new Registry(), prefix: kernel.prefix });
  decode = new Lifecycle(process_.components, { logger: kernel.logger });
  await decode.start();
}

async function stopDecode(): Promise<void> {
  await decode?.stop();
  decode = undefined;
}

async function send(...uplinks: RawUplink[]): Promise<void> {
  for (const uplink of uplinks) created.devices.add(uplink.deviceId);
  await producer.produce(kernel.catalogue.rawUplinks, uplinks);
}

const readingsOf = (uplink: RawUplink): Reading[] => out.readings.filter((r) => r.uplinkId === uplink.uplinkId);
const forDevice = <T extends { deviceId: string | null }>(list: readonly T[], deviceId: string): T[] => list.filter((x) => x.deviceId === deviceId);

/** Waits for the readings of `uplink`; per-device order means everything sent before it for that device was processed. */
function readingsAppear(uplink: RawUplink, count = 1): Promise<Reading[]> {
  return waitFor(`${count} reading(s) of uplink ${uplink.uplinkId}`, () => readingsOf(uplink).length >= count && readingsOf(uplink), { timeoutMs: 60_000 });
}

beforeAll(async () => {
  kernel = await testKernel('decode');
  producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: kernel.catalogue.all });
  await producer.start();
  db = new pg.Pool({ connectionString: kernel.config.postgres.url, max: 2 });
  redis = new Redis(kernel.config.redis.url);

  created.organisation = `${kernel.prefix}org`;
  created.site = `${kernel.prefix}site`;
  await db.query('INSERT INTO organisations (id, name) VALUES ($1, $2)', [created.organisation, 'Decode test utility']);
  await db.query(`INSERT INTO sites (id, organisation_id, name, time_zone) VALUES ($1, $2, 'Boiler house', 'Europe/Minsk')`, [created.site, created.organisation]);

  const { catalogue } = kernel;
  const dlq = catalogue.dlqOf(catalogue.rawUplinks);
  reader = kernel.kafka.consumer({ groupId: `${kernel.prefix}check` });
  await reader.connect();
  await reader.subscribe([catalogue.readings.name, catalogue.devices.name, catalogue.alerts.name, dlq.name, catalogue.rawUplinks.name], { fromBeginning: true });
  await reader.run({
    eachBatch: async (batch) => {
      for (const m of batch.messages) {
        if (batch.topic === catalogue.readings.name) out.readings.push((await kernel.codec.decode('Reading', m.value)).value);
        else if (batch.topic === catalogue.devices.name) out.devices.push((await kernel.codec.decode('Device', m.value)).value);
        else if (batch.topic === catalogue.alerts.name) out.alerts.push((await kernel.codec.decode('Alert', m.value)).value);
        else if (batch.topic === dlq.name) out.deadLetters.push((await kernel.codec.decode('DeadLetter', m.value)).value);
        else out.raw.set((await kernel.codec.decode('RawUplink', m.value)).value.uplinkId, m.value!);
      }
    },
  });
  await startDecode();
});

afterAll(async () => {
  await stopDecode();
  await reader?.disconnect();
  await producer?.stop();
  if (db === undefined) return;
  const ids = [...created.devices];
  await db.query('DELETE FROM device_keys WHERE device_id = ANY($1)', [ids]);
  await db.query('DELETE FROM registers WHERE device_id = ANY($1)', [ids]);
  await db.query('DELETE FROM devices WHERE id = ANY($1)', [ids]);
  await db.query('DELETE FROM sites WHERE id = $1', [created.site]);
  await db.query('DELETE FROM organisations WHERE id = $1', [created.organisation]);
  await db.query('DELETE FROM redriven_dead_letters WHERE original_topic LIKE $1', [`${kernel.prefix}%`]);
  await db.end();
  const keys = await redis.keys(`${kernel.prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await deleteTopics(kernel);
});

/** Onboards a device as an operator does, before it sends: a registry row, installed at the test site unless told otherwise. */
async function onboard(m: TestMeter, { installed = true } = {}): Promise<string> {
  const deviceId = deviceIdOf(m);
  created.devices.add(deviceId);
  await db.query(
    `INSERT INTO devices (id, organisation_id, site_id, mbus_secondary_address, manufacturer, device_version, medium, codec, status)
     VALUES ($1, $2, $3, $4, $5, $6, 'water', 'mbus', 'active')`,
    [deviceId, installed ? created.organisation : null, installed ? created.site : null, deviceId.slice('mbus:'.length), m.manufacturer, m.version],
  );
  return deviceId;
}

describe('the decode worker on the local stack', () => {
  it('turns an M-Bus frame uplink into readings with the right ids, units, site and meter time', async () => {
    const m = meter(1);
    const deviceId = await onboard(m);
    const uplink = mbusUplink(m, { litres: 123_456, meterTime: new Date('2026-03-29T09:15:00Z') }, { receivedAt: Date.parse('2026-03-29T06:16:10Z') });
    await send(uplink);

    const [reading] = await readingsAppear(uplink);
    expect(reading).toMatchObject({
      readingId: `${uplink.uplinkId}:0`,
      deviceId,
      organisationId: created.organisation,
      siteId: created.site,
      registerKey: 'volume',
      quantity: 'volume',
      value: 123.456,
      unit: 'm3',
      cumulative: true,
      observedAt: Date.parse('2026-03-29T06:15:00Z'),
      qualityFlags: [],
      decoderVersion: 'mbus@1.0.0',
    });
    // First contact with an onboarded device: a SEEN record, no registration.
    await waitFor('device.v1 SEEN', () => forDevice(out.devices, deviceId).length === 1);
    expect(forDevice(out.devices, deviceId)[0]).toMatchObject({ change: 'SEEN', status: 'ACTIVE', siteId: created.site, revision: 1 });
    const { rows } = await db.query('SELECT last_seen_at, revision FROM devices WHERE id = $1', [deviceId]);
    expect(rows[0]).toMatchObject({ last_seen_at: new Date(uplink.receivedAt), revision: '1' });
  });

  it('registers an unknown device with its registers, FIRST_SEEN and NEW_DEVICE exactly once, though its uplink arrives twice', async () => {
    const m = meter(2);
    const deviceId = deviceIdOf(m);
    const uplink = mbusUplink(m, { litres: 5_000 });
    const redelivered = { ...uplink, uplinkId: randomUUID(), receivedAt: uplink.receivedAt + 1000 };
    const marker = mbusUplink(m, { litres: 5_001 });
    await send(uplink, uplink, redelivered, marker);
    await readingsAppear(marker);

    expect(forDevice(out.readings, deviceId).map((r) => r.uplinkId)).toEqual([uplink.uplinkId, marker.uplinkId]);
    expect(forDevice(out.devices, deviceId).map((d) => [d.change, d.revision, d.status])).toEqual([['FIRST_SEEN', 1, 'NEW']]);
    expect(forDevice(out.alerts, deviceId).map((a) => [a.alertId, a.state])).toEqual([[`NEW_DEVICE|${deviceId}|`, 'RAISED']]);

    const device = await db.query('SELECT * FROM devices WHERE id = $1', [deviceId]);
    expect(device.rows).toEqual([
      expect.objectContaining({
        status: 'new',
        manufacturer: 'KAM',
        medium: 'water',
        device_version: 0x1b,
        mbus_secondary_address: deviceId.slice('mbus:'.length),
        organisation_id: null,
        first_seen_at: new Date(uplink.receivedAt),
        first_uplink_id: uplink.uplinkId,
      }),
    ]);
    const registers = await db.query('SELECT id, register_key, quantity, unit, cumulative, resolution::text AS resolution FROM registers WHERE device_id = $1', [deviceId]);
    // The test meter counts litres (VIF 0x13): one step is 0.001 m3.
    expect(registers.rows).toEqual([{ id: `${deviceId}/volume`, register_key: 'volume', quantity: 'volume', unit: 'm3', cumulative: true, resolution: '0.001000000000' }]);
  });

  it('dead-letters a wM-Bus telegram without a key as KEY_MISSING with its original bytes, and re-drives it once the key is stored', async () => {
    const m = meter(3);
    const deviceId = await onboard(m);
    const uplink = wmbusUplink(m, { litres: 777_000 }, OMS_KEY);
    await send(uplink);

    const [deadLetter] = await waitFor('a dead letter', () => forDevice(out.deadLetters, deviceId).length === 1 && forDevice(out.deadLetters, deviceId));
    expect(deadLetter).toMatchObject({ reasonCode: 'KEY_MISSING', stage: 'decode', originalTopic: kernel.catalogue.rawUplinks.name });
    expect(deadLetter!.originalKey?.toString('utf8')).toBe(deviceId);
    const raw = await waitFor('the raw record', () => out.raw.get(uplink.uplinkId));
    expect(deadLetter!.originalValue.equals(raw)).toBe(true);
    expect(readingsOf(uplink)).toEqual([]);

    await storeDeviceKey(db, MASTER_KEY, deviceId, OMS_KEY);
    const options = { kafka: kernel.kafka, codec: kernel.codec, catalogue: kernel.catalogue, db, logger: kernel.logger, reasons: ['KEY_MISSING'], deviceId };
    const dry = await redrive({ ...options, dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, matched: 1, redriven: 1, devices: [deviceId] });

    const report = await redrive(options);
    expect(report).toEqual({ dryRun: false, scanned: expect.any(Number), matched: 1, alreadyRedriven: 0, redriven: 1, byReason: { KEY_MISSING: 1 }, devices: [deviceId] });
    const [reading] = await readingsAppear(uplink);
    expect(reading).toMatchObject({ readingId: `${uplink.uplinkId}:0`, value: 777, unit: 'm3', organisationId: created.organisation });

    const again = await redrive(options);
    expect(again).toMatchObject({ matched: 1, alreadyRedriven: 1, redriven: 0 });
  });

  it('flags a suspected reset with an alert, and a rollover without one', async () => {
    const m = meter(4);
    const deviceId = deviceIdOf(m);
    const start = Date.now();
    const uplinks = [50_000_000, 2_000, 99_999_990, 5].map((litres, i) => mbusUplink(m, { litres }, { receivedAt: start + i * 60_000 }));
    await send(...uplinks);
    await readingsAppear(uplinks[3]!);

    const flags = uplinks.map((u) => readingsOf(u)[0]!.qualityFlags.filter((f) => f !== 'TIME_FROM_RECEIPT'));
    expect(flags).toEqual([[], ['SUSPECTED_RESET'], [], ['ROLLOVER']]);
    expect(forDevice(out.alerts, deviceId).map((a) => [a.kind, a.subject, a.state])).toEqual([
      ['NEW_DEVICE', null, 'RAISED'],
      ['SUSPECTED_RESET', 'volume', 'RAISED'],
    ]);
  });

  it('serves the registry from its cache until device.v1 announces an operator change, then reads the change', async () => {
    const m = meter(5);
    const deviceId = await onboard(m, { installed: false });
    const first = mbusUplink(m, { litres: 10 });
    await send(first);
    expect((await readingsAppear(first))[0]).toMatchObject({ organisationId: null, siteId: null });
    const cacheKey = `${kernel.prefix}meterflux:registry:device:${deviceId}`;
    expect(await redis.exists(cacheKey)).toBe(1);

    await db.query('UPDATE devices SET organisation_id = $2, site_id = $3 WHERE id = $1', [deviceId, created.organisation, created.site]);
    const unannounced = mbusUplink(m, { litres: 11 });
    await send(unannounced);
    expect((await readingsAppear(unannounced))[0]).toMatchObject({ siteId: null });

    const seen = forDevice(out.devices, deviceId)[0]!;
    await producer.produce(kernel.catalogue.devices, [{ ...seen, change: 'UPDATED', organisationId: created.organisation, siteId: created.site, revision: seen.revision + 1 }]);
    await waitFor('the cached entry dropped', async () => (await redis.exists(cacheKey)) === 0);
    const announced = mbusUplink(m, { litres: 12 });
    await send(announced);
    expect((await readingsAppear(announced))[0]).toMatchObject({ organisationId: created.organisation, siteId: created.site });
  });

  it('suppresses a duplicate across a worker restart, from the state restored out of the changelog', async () => {
    const m = meter(6);
    const uplink = mbusUplink(m, { litres: 42 }, { idempotencyKey: `lns-${randomUUID()}` });
    await send(uplink);
    await readingsAppear(uplink);

    await stopDecode();
    await startDecode();
    const redelivered = { ...uplink, uplinkId: randomUUID(), receivedAt: uplink.receivedAt + 5_000 };
    const marker = mbusUplink(m, { litres: 43 }, { receivedAt: uplink.receivedAt + 6_000 });
    await send(redelivered, marker);
    await readingsAppear(marker);
    expect(readingsOf(redelivered)).toEqual([]);
    expect(forDevice(out.readings, deviceIdOf(m)).map((r) => r.uplinkId)).toEqual([uplink.uplinkId, marker.uplinkId]);
  });
});
