import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter, RawUplink } from '../../schemas/avro/index.js';
import type { Consumer } from '../../core/kafka/client.js';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import { deleteTopics, run, testKernel, waitFor, type TestKernel } from '../../test/support/stack.js';
import { createIngest, type Ingest } from '../kit/ingest.js';
import type { AcceptedAnswer } from './app.js';
import type { ErrorBody } from './answers.js';
import { secretHash } from './auth.js';
import { createIdempotencyStore } from './idempotency.js';
import { createHttpSource, type HttpSource } from './source.js';
import { expectedMetadata, expectedViews, loadHttpFixtures, viewOf } from './testing/fixtures.js';

const LIMIT_BYTES = 16 * 1024;

let kernel: TestKernel;
let producer: RecordProducer;
let ingest: Ingest;
let source: HttpSource;
let database: pg.Pool;
let redis: Redis;
let reader: Consumer;
let base: string;
let organisationId: string;
const secrets = { ingest: '', readOnly: '', expired: '', revoked: '', toRevoke: '' };
/** Everything on the raw topic and its DLQ, with the Kafka key, decoded as it arrives. */
const uplinks: Array<{ key: string | null; value: RawUplink }> = [];
const deadLetters: DeadLetter[] = [];

beforeAll(async () => {
  kernel = await testKernel('http');
  const raw = kernel.catalogue.rawUplinks;
  producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: [raw, kernel.catalogue.dlqOf(raw)] });
  await producer.start();
  const metrics = new Registry();
  ingest = createIngest({ producer, catalogue: kernel.catalogue, connector: 'http-it', logger: kernel.logger, metrics });

  // An organisation of its own, with one token of each kind.
  database = new pg.Pool({ connectionString: kernel.config.postgres.url, max: 2 });
  organisationId = `${kernel.prefix}org`;
  await database.query('INSERT INTO organisations (id, name) VALUES ($1, $2)', [organisationId, 'HTTP ingest test']);
  const hour = 3_600_000;
  const tokens = [
    ['ingest', ['ingest', 'read'], null, null],
    ['readOnly', ['read'], null, null],
    ['expired', ['ingest'], new Date(Date.now() - hour), null],
    ['revoked', ['ingest'], null, new Date(Date.now() - hour)],
    ['toRevoke', ['ingest'], new Date(Date.now() + hour), null],
  ] as const;
  for (const [name, scopes, expiresAt, revokedAt] of tokens) {
    secrets[name] = `mf_${randomBytes(24).toString('base64url')}`;
    await database.query(
      'INSERT INTO api_tokens (id, organisation_id, name, secret_sha256, scopes, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [`${organisationId}-${name}`, organisationId, name, secretHash(secrets[name]), scopes, expiresAt, revokedAt],
    );
  }
  redis = new Redis(kernel.config.redis.url);

  reader = kernel.kafka.consumer({ groupId: `${kernel.prefix}reader` });
  await reader.connect();
  await reader.subscribe([raw.name, kernel.catalogue.dlqOf(raw).name], { fromBeginning: true });
  await reader.run({
    eachBatch: async (batch) => {
      for (const message of batch.messages) {
        if (batch.topic === raw.name) {
          uplinks.push({ key: message.key?.toString('utf8') ?? null, value: (await kernel.codec.decode('RawUplink', message.value)).value });
        } else {
          deadLetters.push((await kernel.codec.decode('DeadLetter', message.value)).value);
        }
      }
    },
  });

  source = createHttpSource({
    port: 0,
    host: '127.0.0.1',
    maxBodyBytes: LIMIT_BYTES,
    databaseUrl: kernel.config.postgres.url,
    redisUrl: kernel.config.redis.url,
    redisKeyPrefix: kernel.prefix,
    tokenCacheTtlMs: 1_000,
    metrics,
    logger: kernel.logger,
  });
  await source.start(ingest);
  base = `http://127.0.0.1:${source.port}`;
});

afterAll(async () => {
  await source?.stop();
  await reader?.disconnect();
  await producer?.stop();
  if (database) {
    await database.query('DELETE FROM api_tokens WHERE organisation_id = $1', [organisationId]);
    await database.query('DELETE FROM organisations WHERE id = $1', [organisationId]);
    await database.end();
  }
  if (redis) {
    const keys = await redis.keys(`${kernel.prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
  if (kernel) await deleteTopics(kernel);
});

interface Sent {
  readonly status: number;
  readonly headers: Headers;
  readonly json: unknown;
}

async function post(path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Sent> {
  const response = await fetch(base + path, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${secrets.ingest}`, 'content-type': 'application/json', ...headers },
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text === '' ? undefined : JSON.parse(text) };
}

const accepted = (sent: Sent) => (sent.json as AcceptedAnswer).uplinks;
const errorOf = (sent: Sent) => (sent.json as ErrorBody).error;

function uplinkBody(devEui: string, payloadHex: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ devEui, payloadFormat: 'LORAWAN_PAYLOAD', payloadHex, ...extra });
}

/** The records with these uplink ids, once every one of them arrived. */
function recordsWith(ids: readonly string[]) {
  return waitFor(`${ids.length} uplinks on Kafka`, () => {
    const found = ids.map((id) => uplinks.find((u) => u.value.uplinkId === id));
    return found.every((u) => u !== undefined) ? found.map((u) => u!) : undefined;
  });
}

function deadLetterOf(requestId: string) {
  return waitFor(`the dead letter of request ${requestId}`, () => deadLetters.find((l) => l.details['requestId'] === requestId));
}

/**
 * Every record of `deviceId` once `sentinel` (an uplink id of the same device, sent last) arrived:
 * one device is one key, so one partition in order, and nothing sent before the sentinel is missing.
 */
async function recordsOfDeviceUpTo(deviceId: string, sentinel: string): Promise<RawUplink[]> {
  await recordsWith([sentinel]);
  return uplinks.filter((u) => u.value.deviceId === deviceId).map((u) => u.value);
}

const uniqueEui = () => randomBytes(8).toString('hex');

/** A second source on the same stack, for tests that need their own Ingest or lifecycle. */
function anotherSource(): HttpSource {
  return createHttpSource({
    port: 0, host: '127.0.0.1', maxBodyBytes: LIMIT_BYTES, databaseUrl: kernel.config.postgres.url,
    redisUrl: kernel.config.redis.url, redisKeyPrefix: kernel.prefix, metrics: new Registry(), logger: kernel.logger,
  });
}

async function postTo(source: HttpSource, body: string): Promise<Sent> {
  const response = await fetch(`http://127.0.0.1:${source.port}/v1/uplinks`, {
    method: 'POST', body, headers: { authorization: `Bearer ${secrets.ingest}`, 'content-type': 'application/json' },
  });
  return { status: response.status, headers: response.headers, json: await response.json() };
}

describe('the HTTP ingest against Kafka, PostgreSQL and Redis', () => {
  describe('every request fixture', () => {
    for (const fixture of loadHttpFixtures()) {
      it(`${fixture.name}: ${fixture.description}`, async () => {
        const headers: Record<string, string> = { 'content-type': fixture.request.contentType ?? 'application/json' };
        if (fixture.request.idempotencyKey !== undefined) headers['idempotency-key'] = fixture.request.idempotencyKey;

        const sent = await post(fixture.request.path, fixture.body, headers);

        expect(sent.status).toBe(fixture.status);
        if (fixture.status === 204) return;
        if (fixture.error === undefined) {
          const records = await recordsWith(accepted(sent).map((u) => u.uplinkId));
          const expected = expectedViews(fixture, organisationId, records[0]?.value.metadata['requestId'] ?? '');
          expect(records.map((r) => viewOf(r.value))).toEqual(expected);
          expect(records.map((r) => r.key)).toEqual(expected.map((view) => view.deviceId));
          expectedMetadata(fixture).forEach((metadata, i) => expect(records[i]!.value.metadata).toMatchObject(metadata));
          expect(records.every((r) => r.value.connector === 'http-it' && r.value.metadata['requestId'] === (sent.json as AcceptedAnswer).requestId)).toBe(true);
          return;
        }
        const error = errorOf(sent);
        expect(error.code).toBe(fixture.error.code);
        expect(error.problems?.map((p) => p.field)).toEqual(fixture.error.fields);
        const letter = await deadLetterOf(error.requestId);
        expect(letter).toMatchObject({ reasonCode: fixture.error.code, stage: 'connector', component: 'http-it', transport: 'HTTP' });
        expect(letter.paths).toEqual(fixture.error.fields ?? []);
        expect(letter.originalValue.equals(fixture.body)).toBe(true);
        expect(letter.details).toMatchObject({ organisationId, sourceAddress: fixture.request.path, tokenId: `${organisationId}-ingest` });
      });
    }
  });

  it('writes one valid uplink as exactly one RawUplink keyed by its device, with the organisation of the token', async () => {
    const eui = uniqueEui();
    const sent = await post('/v1/uplinks', uplinkBody(eui, 'c0ffee', { radio: { fCnt: 1 } }));
    const sentinel = await post('/v1/uplinks', uplinkBody(eui, 'c0ffee', { radio: { fCnt: 2 } }));
    expect([sent.status, sentinel.status]).toEqual([202, 202]);

    const records = await recordsOfDeviceUpTo(`lorawan:${eui}`, accepted(sentinel)[0]!.uplinkId);
    const record = records.find((r) => r.uplinkId === accepted(sent)[0]!.uplinkId);
    expect(records).toHaveLength(2);
    expect(record).toMatchObject({ deviceId: `lorawan:${eui}`, organisationId, payloadFormat: 'LORAWAN_PAYLOAD', transport: 'HTTP' });
    expect(record!.payload.toString('hex')).toBe('c0ffee');
    expect(uplinks.find((u) => u.value.uplinkId === record!.uplinkId)!.key).toBe(`lorawan:${eui}`);
  });

  it('writes a batch as one record per uplink, in the order of the answer', async () => {
    const euis = [uniqueEui(), uniqueEui(), uniqueEui()];
    const sent = await post('/v1/uplinks', JSON.stringify({
      uplinks: euis.map((eui, i) => ({ devEui: eui, payloadFormat: 'LORAWAN_PAYLOAD', payloadHex: `0${i}`, radio: { fCnt: i } })),
    }));
    expect(sent.status).toBe(202);
    const records = await recordsWith(accepted(sent).map((u) => u.uplinkId));
    expect(records.map((r) => [r.key, r.value.payload.toString('hex')])).toEqual(euis.map((eui, i) => [`lorawan:${eui}`, `0${i}`]));
  });

  it('takes a ChirpStack up event from curl and keeps the body byte for byte as the payload', async () => {
    const fixture = loadHttpFixtures().find((f) => f.name === 'chirpstack-up')!;
    const event = JSON.parse(fixture.body.toString('utf8')) as { deduplicationId: string; deviceInfo: { devEui: string } };
    const eui = uniqueEui();
    event.deduplicationId = randomUUID();
    event.deviceInfo.devEui = eui;
    const file = join(mkdtempSync(join(tmpdir(), 'meterflux-http-')), 'up.json');
    writeFileSync(file, JSON.stringify(event, null, 2));

    const output = await run('curl', ['-sS', '-X', 'POST', `${base}/v1/chirpstack?event=up`,
      '-H', `Authorization: Bearer ${secrets.ingest}`, '-H', 'Content-Type: application/json',
      '--data-binary', `@${file}`, '-w', '\n%{http_code}']);

    const [body, status] = output.trimEnd().split('\n');
    expect(status).toBe('202');
    const answer = JSON.parse(body!) as AcceptedAnswer;
    const [record] = await recordsWith(answer.uplinks.map((u) => u.uplinkId));
    expect(record!.value).toMatchObject({ deviceId: `lorawan:${eui}`, idempotencyKey: event.deduplicationId, payloadFormat: 'CHIRPSTACK_EVENT', organisationId });
    expect(record!.value.payload.toString('utf8')).toBe(JSON.stringify(event, null, 2));
  });

  it('refuses a body over the limit with 413 before curl sends it (Expect: 100-continue), and dead-letters the fact', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'meterflux-http-')), 'big.json');
    writeFileSync(file, JSON.stringify({ stationId: 'minsk-01', values: { co2: 1 }, padding: 'x'.repeat(LIMIT_BYTES) }));

    const output = await run('curl', ['-sS', '-X', 'POST', `${base}/v1/uplinks`,
      '-H', `Authorization: Bearer ${secrets.ingest}`, '-H', 'Content-Type: application/json', '-H', 'Expect: 100-continue',
      '--data-binary', `@${file}`, '-w', '\n%{http_code}']);

    const [body, status] = output.trimEnd().split('\n');
    expect(status).toBe('413');
    const error = (JSON.parse(body!) as ErrorBody).error;
    expect(error.code).toBe('BODY_TOO_LARGE');
    const letter = await deadLetterOf(error.requestId);
    expect(letter.reasonCode).toBe('BODY_TOO_LARGE');
    expect(letter.originalValue).toHaveLength(0);
    expect(letter.details).toMatchObject({ limitBytes: String(LIMIT_BYTES), organisationId });
  });

  describe('tokens from PostgreSQL', () => {
    const cases = [
      { name: 'no token', secret: () => undefined, status: 401 },
      { name: 'an unknown token', secret: () => `mf_${randomBytes(24).toString('base64url')}`, status: 401 },
      { name: 'an expired token', secret: () => secrets.expired, status: 401, message: 'expired' },
      { name: 'a revoked token', secret: () => secrets.revoked, status: 401, message: 'revoked' },
      { name: 'a token without the ingest scope', secret: () => secrets.readOnly, status: 403 },
    ];
    for (const c of cases) {
      it(`answers ${c.status} to ${c.name}, with WWW-Authenticate`, async () => {
        const secret = c.secret();
        const response = await fetch(`${base}/v1/uplinks`, {
          method: 'POST',
          body: uplinkBody(uniqueEui(), '01'),
          headers: { 'content-type': 'application/json', ...(secret === undefined ? {} : { authorization: `Bearer ${secret}` }) },
        });
        const error = ((await response.json()) as ErrorBody).error;
        expect(response.status).toBe(c.status);
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="meterflux"/);
        expect(error.code).toBe(c.status === 401 ? 'UNAUTHENTICATED' : 'INSUFFICIENT_SCOPE');
        if (c.message !== undefined) expect(error.message).toContain(c.message);
      });
    }

    it('caches a token in Redis and stops accepting it once its revocation outlives the cache', async () => {
      const headers = { authorization: `Bearer ${secrets.toRevoke}` };
      expect((await post('/v1/uplinks', uplinkBody(uniqueEui(), '01'), headers)).status).toBe(202);
      expect(await redis.exists(`${kernel.prefix}token:${secretHash(secrets.toRevoke).toString('hex')}`)).toBe(1);

      await database.query('UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [`${organisationId}-toRevoke`]);

      const refused = await waitFor('the revocation to take effect', async () => {
        const sent = await post('/v1/uplinks', uplinkBody(uniqueEui(), '01'), headers);
        return sent.status === 401 ? sent : undefined;
      }, { timeoutMs: 10_000, intervalMs: 200 });
      expect(errorOf(refused).message).toContain('revoked');
    });
  });

  describe('Idempotency-Key', () => {
    it('answers a retry with the first answer and writes nothing again', async () => {
      const eui = uniqueEui();
      const key = `${kernel.prefix}retry-1`;
      const body = uplinkBody(eui, 'aa', { radio: { fCnt: 7 } });
      const first = await post('/v1/uplinks', body, { 'idempotency-key': key });
      const retries = [await post('/v1/uplinks', body, { 'idempotency-key': key }), await post('/v1/uplinks', body, { 'idempotency-key': key })];
      const sentinel = await post('/v1/uplinks', uplinkBody(eui, 'bb', { radio: { fCnt: 8 } }));

      expect(first.status).toBe(202);
      for (const retry of retries) {
        expect(retry.status).toBe(202);
        expect(retry.json).toEqual(first.json);
        expect(retry.headers.get('idempotent-replayed')).toBe('true');
      }
      const records = await recordsOfDeviceUpTo(`lorawan:${eui}`, accepted(sentinel)[0]!.uplinkId);
      expect(records.filter((r) => r.uplinkId === accepted(first)[0]!.uplinkId)).toHaveLength(1);
      expect(records).toHaveLength(2);
    });

    it('lets one of many concurrent requests with the same key write, and tells the others to retry (409)', async () => {
      const eui = uniqueEui();
      const key = `${kernel.prefix}race-1`;
      const body = uplinkBody(eui, 'cc');
      const answers = await Promise.all(Array.from({ length: 10 }, () => post('/v1/uplinks', body, { 'idempotency-key': key })));
      const sentinel = await post('/v1/uplinks', uplinkBody(eui, 'dd'));

      expect(answers.every((a) => a.status === 202 || a.status === 409)).toBe(true);
      expect(answers.filter((a) => a.status === 409).every((a) => errorOf(a).code === 'IDEMPOTENCY_KEY_IN_USE' && a.headers.get('retry-after') === '1')).toBe(true);
      const ids = new Set(answers.filter((a) => a.status === 202).map((a) => accepted(a)[0]!.uplinkId));
      expect(ids.size).toBe(1);
      const records = await recordsOfDeviceUpTo(`lorawan:${eui}`, accepted(sentinel)[0]!.uplinkId);
      expect(records.filter((r) => ids.has(r.uplinkId))).toHaveLength(1);
    });

    it('answers 422 when a key comes back with another body', async () => {
      const key = `${kernel.prefix}reuse-1`;
      expect((await post('/v1/uplinks', uplinkBody(uniqueEui(), '01'), { 'idempotency-key': key })).status).toBe(202);
      const reused = await post('/v1/uplinks', uplinkBody(uniqueEui(), '02'), { 'idempotency-key': key });
      expect(reused.status).toBe(422);
      expect(errorOf(reused).code).toBe('IDEMPOTENCY_KEY_REUSED');
    });

    it('claims a key in Redis for exactly one of two simultaneous claimants', async () => {
      const store = createIdempotencyStore({ redis, keyPrefix: kernel.prefix, retentionMs: 60_000, claimMs: 60_000 });
      const claims = await Promise.all([store.claim('org', 'same', 'f'), store.claim('org', 'same', 'f'), store.claim('org', 'same', 'g')]);
      expect(claims.map((c) => c.kind).sort()).toEqual(['claimed', 'in-progress', 'mismatch']);
    });
  });

  it('answers 503 OVERLOADED with Retry-After while the ingest is at its limit', async () => {
    const busy = anotherSource();
    await busy.start({ ...ingest, logger: ingest.logger, pressure: () => ({ inFlight: 10_000, limit: 10_000 }) });
    try {
      const sent = await postTo(busy, uplinkBody(uniqueEui(), '01'));
      expect(sent.status).toBe(503);
      expect(sent.headers.get('retry-after')).toBe('1');
      expect(errorOf(sent).code).toBe('OVERLOADED');
    } finally {
      await busy.stop();
    }
  });

  it('never answers 202 when the Kafka write fails: 503 UNAVAILABLE with Retry-After', async () => {
    const raw = kernel.catalogue.rawUplinks;
    const disconnected = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: [raw, kernel.catalogue.dlqOf(raw)] });
    await disconnected.start();
    const failing = createIngest({
      producer: disconnected, catalogue: kernel.catalogue, connector: 'http-it-failing', logger: kernel.logger, metrics: new Registry(),
    });
    // Encoding still works, every write now fails: what a Kafka outage looks like to accept().
    await disconnected.stop();
    const cut = anotherSource();
    await cut.start(failing);
    try {
      const sent = await postTo(cut, uplinkBody(uniqueEui(), '01'));
      expect(sent.status).toBe(503);
      expect(sent.headers.get('retry-after')).toBe('1');
      expect(errorOf(sent).code).toBe('UNAVAILABLE');
    } finally {
      await cut.stop();
    }
  });

  it('loses nothing from many parallel clients: every accepted id is on Kafka exactly once', async () => {
    const clients = 16;
    const requestsPerClient = 12;
    const ids: string[] = [];
    await Promise.all(Array.from({ length: clients }, async (_, client) => {
      const eui = uniqueEui();
      for (let n = 0; n < requestsPerClient; n += 1) {
        // Every third request is a batch of three, so singles and batches interleave on the ingest.
        const count = n % 3 === 2 ? 3 : 1;
        const batch = Array.from({ length: count }, (_, i) => ({
          devEui: eui, payloadFormat: 'LORAWAN_PAYLOAD', payloadHex: '0102', radio: { fCnt: n * 10 + i },
        }));
        const sent = await post('/v1/uplinks', JSON.stringify(count === 1 ? batch[0] : { uplinks: batch }));
        expect(sent.status, `client ${client} request ${n}`).toBe(202);
        ids.push(...accepted(sent).map((u) => u.uplinkId));
      }
    }));

    expect(new Set(ids).size).toBe(ids.length);
    await recordsWith(ids);
    const wanted = new Set(ids);
    expect(uplinks.filter((u) => wanted.has(u.value.uplinkId))).toHaveLength(ids.length);
  });

  it('refuses to start, naming the service, when Redis cannot be reached, and cleans up', async () => {
    const source = createHttpSource({
      port: 0, host: '127.0.0.1', maxBodyBytes: LIMIT_BYTES, databaseUrl: kernel.config.postgres.url,
      redisUrl: 'redis://127.0.0.1:1', metrics: new Registry(), logger: kernel.logger,
    });
    const error = await source.start(ingest).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', service: 'Redis', address: '127.0.0.1:1' });
    await source.stop();
    expect(source.health()).toEqual({ healthy: false, detail: 'stopped' });
  });

  it('serves /healthz, and stops idempotently: the port closes and the source reports itself down', async () => {
    await anotherSource().stop();
    const fresh = anotherSource();
    await fresh.start(ingest);
    const url = `http://127.0.0.1:${fresh.port}/healthz`;
    expect((await fetch(url)).status).toBe(200);
    expect(fresh.health().healthy).toBe(true);

    await Promise.all([fresh.stop(), fresh.stop()]);
    await fresh.stop();

    expect(fresh.health()).toEqual({ healthy: false, detail: 'stopped' });
    await expect(fetch(url)).rejects.toThrow();
  });
});
