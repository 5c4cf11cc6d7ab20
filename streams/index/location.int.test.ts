/**
 * A GHG station's reported position, through the real decode and index workers on the local stack:
 * station telemetry with coordinates → device.v1 with latitudeDeg/longitudeDeg (and the registry
 * row) → a devices document whose `location` geo_point a `geo_distance` query finds.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@elastic/elasticsearch';
import { loadConfig } from '../../core/config.js';
import { Lifecycle } from '../../core/lifecycle.js';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import type { RawUplink } from '../../schemas/avro/index.js';
import { deleteTopics, testKernel, waitFor, type TestKernel } from '../../test/support/stack.js';
import { createDecodeProcess } from '../decode/main.js';
import { createElasticsearchClient } from './elasticsearch.js';
import { kernelIndexWorker } from './testing/kernel-worker.js';
import type { IndexWorker } from './worker.js';

let kernel: TestKernel;
let producer: RecordProducer;
let elasticsearch: Client;
let db: pg.Pool;
let decode: Lifecycle | undefined;
let worker: IndexWorker | undefined;
const stations: string[] = [];

/** Minsk and Sydney: a station near a point, and one half a world away. */
const MINSK = { lat: 53.9045, lon: 27.5615 };
const SYDNEY = { lat: -33.8688, lon: 151.2093 };

function station(name: string): string {
  const id = `station:${kernel.prefix}${name}`;
  stations.push(id);
  return id;
}

function telemetry(deviceId: string, at: number, fields: object): RawUplink {
  return {
    uplinkId: randomUUID(),
    idempotencyKey: randomUUID(),
    deviceId,
    transport: 'MQTT',
    payloadFormat: 'STATION_TELEMETRY',
    payload: Buffer.from(JSON.stringify({ time: new Date(at).toISOString(), co2Ppm: 421.37, temperatureC: 4.2, pressurePa: 99870, intervalS: 60, ...fields })),
    receivedAt: at,
    deviceTimeAt: null,
    organisationId: null,
    connector: 'location.int.test',
    sourceAddress: 'test',
    radio: null,
    metadata: {},
  };
}

function status(deviceId: string, at: number, fields: object): RawUplink {
  return { ...telemetry(deviceId, at, {}), payloadFormat: 'STATION_STATUS', payload: Buffer.from(JSON.stringify({ time: new Date(at).toISOString(), ...fields })) };
}

/** Ids of the devices documents within `distance` of `point`. */
async function near(point: { lat: number; lon: number }, distance: string): Promise<string[]> {
  const index = `${kernel.prefix}devices`;
  await elasticsearch.indices.refresh({ index });
  const result = await elasticsearch.search({ index, query: { bool: { filter: { geo_distance: { distance, location: point } } } }, size: 100 });
  return result.hits.hits.map((hit) => hit._id!).sort();
}

beforeAll(async () => {
  kernel = await testKernel('location');
  producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: kernel.catalogue.all });
  await producer.start();
  db = new pg.Pool({ connectionString: kernel.config.postgres.url, max: 2 });
  elasticsearch = createElasticsearchClient({ url: kernel.config.elasticsearch.url });

  const config = loadConfig(process.env);
  const decodeProcess = createDecodeProcess({ config, logger: kernel.logger, catalogue: kernel.catalogue, metrics: new Registry(), prefix: kernel.prefix });
  decode = new Lifecycle(decodeProcess.components, { logger: kernel.logger });
  await decode.start();
  worker = kernelIndexWorker(kernel, elasticsearch, { types: ['devices'] });
  await worker.start();
});

afterAll(async () => {
  await worker?.stop();
  await decode?.stop();
  await producer?.stop();
  if (db !== undefined) {
    await db.query('DELETE FROM registers WHERE device_id = ANY($1)', [stations]);
    await db.query('DELETE FROM devices WHERE id = ANY($1)', [stations]);
    await db.end();
  }
  if (elasticsearch !== undefined) {
    await elasticsearch.indices.delete({ index: `${kernel.prefix}*`, expand_wildcards: 'all' });
    await elasticsearch.indices.deleteIndexTemplate({ name: `${kernel.prefix}*` }, { ignore: [404] });
    await elasticsearch.close();
  }
  const redis = new Redis(kernel.config.redis.url);
  const keys = await redis.keys(`${kernel.prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await deleteTopics(kernel);
});

describe('a station position on the local stack', () => {
  it('goes from station telemetry to a devices geo_point that geo_distance finds, and stays while later uplinks omit it', async () => {
    const minsk = station('minsk');
    const sydney = station('sydney');
    const unplaced = station('unplaced');
    const t0 = Date.now() - 60_000;
    await producer.produce(kernel.catalogue.rawUplinks, [
      telemetry(minsk, t0, { latitudeDeg: MINSK.lat, longitudeDeg: MINSK.lon, altitudeM: 220 }),
      telemetry(sydney, t0, { latitudeDeg: SYDNEY.lat, longitudeDeg: SYDNEY.lon }),
      telemetry(unplaced, t0, {}),
      // Heard again without a position but with its firmware: the position stays, the firmware is written at once.
      status(minsk, t0 + 1_000, { firmwareVersion: '2.4.1' }),
    ]);

    const index = `${kernel.prefix}devices`;
    const source = async (id: string) => {
      await elasticsearch.indices.refresh({ index });
      return (await elasticsearch.get<Record<string, unknown>>({ index, id }, { ignore: [404] }))._source;
    };
    const minskDocument = await waitFor('the Minsk station document with its firmware', async () => {
      const document = await source(minsk);
      return document?.['firmwareVersion'] === '2.4.1' && document;
    }, { timeoutMs: 60_000 });
    expect(minskDocument).toMatchObject({ deviceId: minsk, medium: 'ghg_station', latitudeDeg: MINSK.lat, longitudeDeg: MINSK.lon, location: MINSK, revision: 2 });
    await waitFor('the other two station documents', async () => (await source(sydney)) !== undefined && (await source(unplaced)) !== undefined, { timeoutMs: 60_000 });
    expect(await source(unplaced)).not.toHaveProperty('location');

    expect(await near({ lat: 53.9, lon: 27.56 }, '5km')).toEqual([minsk]);
    expect(await near(SYDNEY, '1km')).toEqual([sydney]);
    expect(await near({ lat: 0, lon: 0 }, '20000km')).toEqual([minsk, sydney].sort());

    const { rows } = await db.query('SELECT id, latitude, longitude, firmware_version FROM devices WHERE id = ANY($1) ORDER BY id', [stations]);
    expect(rows).toEqual(
      expect.arrayContaining([
        { id: minsk, latitude: MINSK.lat, longitude: MINSK.lon, firmware_version: '2.4.1' },
        { id: sydney, latitude: SYDNEY.lat, longitude: SYDNEY.lon, firmware_version: null },
        { id: unplaced, latitude: null, longitude: null, firmware_version: null },
      ]),
    );
  });
});
