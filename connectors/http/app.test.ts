import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { validateRecord, type RawUplink } from '../../schemas/avro/index.js';
import { ServiceUnavailableError, type BadInputError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import type { RejectedInput } from '../../core/kafka/dead-letter.js';
import { uplinkIdFor, type Ingest, type UplinkDraft } from '../kit/ingest.js';
import { createIngestApp, type AcceptedAnswer } from './app.js';
import type { ErrorBody } from './answers.js';
import { secretHash, type TokenLookup, type TokenRecord } from './auth.js';
import type { Claim, IdempotencyStore, StoredAnswer } from './idempotency.js';
import { httpMetrics } from './metrics.js';
import { expectedMetadata, expectedViews, loadHttpFixtures, viewOf } from './testing/fixtures.js';

const ORGANISATION = 'org-unit';
const NOW = Date.parse('2026-03-29T10:00:00Z');
const LIMIT_BYTES = 64 * 1024;
const TOKENS: Record<string, TokenRecord> = {
  'ingest-secret': { id: 'tok-ingest', organisationId: ORGANISATION, scopes: ['ingest'], expiresAt: null, revokedAt: null },
  'read-secret': { id: 'tok-read', organisationId: ORGANISATION, scopes: ['read'], expiresAt: null, revokedAt: null },
  'expired-secret': { id: 'tok-old', organisationId: ORGANISATION, scopes: ['ingest'], expiresAt: NOW - 1, revokedAt: null },
  'revoked-secret': { id: 'tok-gone', organisationId: ORGANISATION, scopes: ['ingest'], expiresAt: null, revokedAt: NOW - 1 },
};

/** An Ingest that validates drafts as RawUplinks like the real one and remembers what it was given. */
class FakeIngest implements Omit<Ingest, 'logger'> {
  readonly accepted: RawUplink[] = [];
  readonly rejected: Array<{ input: RejectedInput; error: BadInputError }> = [];
  inFlight = 0;
  acceptFailure: unknown;
  rejectFailure: unknown;
  /** When set, accept waits for it: a slow Kafka. */
  gate: Promise<void> | undefined;

  pressure() {
    return { inFlight: this.inFlight, limit: 10 };
  }

  async accept(drafts: readonly UplinkDraft[]) {
    const records = drafts.map((draft): RawUplink => ({
      deviceTimeAt: null, organisationId: null, radio: null, metadata: {}, receivedAt: NOW, ...draft,
      uplinkId: uplinkIdFor(draft.idempotencyKey), connector: 'http-unit',
    }));
    for (const record of records) {
      const result = validateRecord('RawUplink', record);
      if (!result.ok) throw new Error(`draft is not a RawUplink: ${result.problems.join('; ')}`);
    }
    await this.gate;
    if (this.acceptFailure !== undefined) throw this.acceptFailure;
    this.accepted.push(...records);
    return records.map(({ uplinkId, idempotencyKey }) => ({ uplinkId, idempotencyKey }));
  }

  async reject(input: RejectedInput, error: BadInputError) {
    if (this.rejectFailure !== undefined) throw this.rejectFailure;
    this.rejected.push({ input, error });
  }
}

/** The Redis store's semantics in memory (the real one is exercised in http.int.test.ts). */
class MemoryIdempotency implements IdempotencyStore {
  readonly entries = new Map<string, { fingerprint: string; answer?: StoredAnswer }>();

  async claim(scope: string, key: string, fingerprint: string): Promise<Claim> {
    const id = `${scope}|${key}`;
    const entry = this.entries.get(id);
    if (entry === undefined) {
      this.entries.set(id, { fingerprint });
      return {
        kind: 'claimed',
        complete: async (answer) => void this.entries.set(id, { fingerprint, answer }),
        release: async () => void this.entries.delete(id),
      };
    }
    if (entry.fingerprint !== fingerprint) return { kind: 'mismatch' };
    return entry.answer === undefined ? { kind: 'in-progress' } : { kind: 'replay', answer: entry.answer };
  }
}

let ingest: FakeIngest;
let idempotency: MemoryIdempotency;
let tokenFailure: unknown;
let server: Server;
let base: string;

beforeAll(async () => {
  const tokens: TokenLookup = {
    async find(hash) {
      if (tokenFailure !== undefined) throw tokenFailure;
      return Object.entries(TOKENS).find(([secret]) => secretHash(secret).equals(hash))?.[1];
    },
  };
  // The fakes are replaced before each test; the app keeps these forwarders.
  const app = createIngestApp({
    ingest: {
      logger: createLogger({ level: 'silent', name: 'test' }),
      pressure: () => ingest.pressure(),
      accept: (drafts) => ingest.accept(drafts),
      reject: (input, error) => ingest.reject(input, error),
    },
    tokens,
    idempotency: { claim: (scope, key, fingerprint) => idempotency.claim(scope, key, fingerprint) },
    maxBodyBytes: LIMIT_BYTES,
    maxUplinksPerRequest: 5,
    retryAfterSeconds: 2,
    metrics: httpMetrics(new Registry()),
    logger: createLogger({ level: 'silent', name: 'test' }),
    health: () => ({ healthy: true, detail: 'unit' }),
    now: () => NOW,
  });
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  ingest = new FakeIngest();
  idempotency = new MemoryIdempotency();
  tokenFailure = undefined;
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
    headers: { authorization: 'Bearer ingest-secret', 'content-type': 'application/json', ...headers },
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text === '' ? undefined : JSON.parse(text) };
}

const errorOf = (sent: Sent) => (sent.json as ErrorBody).error;
const VALID = JSON.stringify({ devEui: '70b3d5e75e001234', payloadFormat: 'LORAWAN_PAYLOAD', payloadHex: '0102' });

describe('every request fixture', () => {
  for (const fixture of loadHttpFixtures()) {
    it(`${fixture.name}: ${fixture.description}`, async () => {
      const headers: Record<string, string> = { 'content-type': fixture.request.contentType ?? 'application/json' };
      if (fixture.request.idempotencyKey !== undefined) headers['idempotency-key'] = fixture.request.idempotencyKey;

      const sent = await post(fixture.request.path, fixture.body, headers);

      expect(sent.status).toBe(fixture.status);
      if (fixture.error === undefined) {
        expect(ingest.rejected).toEqual([]);
        expect(ingest.accepted.map(viewOf)).toEqual(expectedViews(fixture, ORGANISATION, ingest.accepted[0]?.metadata['requestId'] ?? ''));
        expectedMetadata(fixture).forEach((metadata, i) => expect(ingest.accepted[i]!.metadata).toMatchObject(metadata));
        if (fixture.status === 202) {
          const answer = sent.json as AcceptedAnswer;
          expect(answer.uplinks).toEqual(ingest.accepted.map(({ uplinkId, deviceId, idempotencyKey }) => ({ uplinkId, deviceId, idempotencyKey })));
        }
        return;
      }
      const error = errorOf(sent);
      expect(error.code).toBe(fixture.error.code);
      expect(error.problems?.map((problem) => problem.field)).toEqual(fixture.error.fields);
      expect(error.field).toBe(fixture.error.fields?.[0]);
      expect(error.message.length).toBeGreaterThan(0);
      expect(ingest.accepted).toEqual([]);
      // The refused bytes are kept exactly, with the reason and the request's coordinates.
      expect(ingest.rejected).toHaveLength(1);
      const [{ input, error: reason }] = ingest.rejected as [{ input: RejectedInput; error: BadInputError }];
      expect(reason.reason).toBe(fixture.error.code);
      expect(input.bytes.equals(fixture.body)).toBe(true);
      expect(input.details).toMatchObject({ organisationId: ORGANISATION, requestId: error.requestId, sourceAddress: fixture.request.path });
    });
  }
});

describe('authentication', () => {
  const cases = [
    { name: 'no Authorization header', authorization: undefined, status: 401, challenge: 'Bearer realm="meterflux"' },
    { name: 'another scheme', authorization: 'Basic dXNlcjpwYXNz', status: 401, challenge: 'invalid_token' },
    { name: 'an unknown token', authorization: 'Bearer nobody-knows-me', status: 401, challenge: 'invalid_token' },
    { name: 'an expired token', authorization: 'Bearer expired-secret', status: 401, challenge: 'invalid_token', message: 'expired' },
    { name: 'a revoked token', authorization: 'Bearer revoked-secret', status: 401, challenge: 'invalid_token', message: 'revoked' },
    { name: 'a token without the ingest scope', authorization: 'Bearer read-secret', status: 403, challenge: 'insufficient_scope' },
  ];
  for (const c of cases) {
    it(`answers ${c.status} to ${c.name}, with a WWW-Authenticate challenge, and keeps nothing`, async () => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      const response = await fetch(`${base}/v1/uplinks`, {
        method: 'POST', body: VALID, headers: c.authorization === undefined ? headers : { ...headers, authorization: c.authorization },
      });
      const body = (await response.json()) as ErrorBody;
      expect(response.status).toBe(c.status);
      expect(response.headers.get('www-authenticate')).toContain(c.challenge);
      expect(body.error.code).toBe(c.status === 401 ? 'UNAUTHENTICATED' : 'INSUFFICIENT_SCOPE');
      if (c.message !== undefined) expect(body.error.message).toContain(c.message);
      expect(ingest.accepted).toEqual([]);
      expect(ingest.rejected).toEqual([]);
    });
  }

  it('answers 503 with Retry-After when the token registry cannot be asked', async () => {
    tokenFailure = new ServiceUnavailableError({ service: 'PostgreSQL', address: '127.0.0.1:5432', detail: 'connect ECONNREFUSED' });
    const sent = await post('/v1/uplinks', VALID);
    expect(sent.status).toBe(503);
    expect(sent.headers.get('retry-after')).toBe('2');
    expect(errorOf(sent).code).toBe('UNAVAILABLE');
  });
});

describe('Kafka and load', () => {
  it('never answers 202 when Kafka does not acknowledge: 503 with Retry-After, and nothing is dead-lettered', async () => {
    ingest.acceptFailure = Object.assign(new Error('KafkaJSNumberOfRetriesExceeded'), { retriable: false });
    const sent = await post('/v1/uplinks', VALID);
    expect(sent.status).toBe(503);
    expect(sent.headers.get('retry-after')).toBe('2');
    expect(errorOf(sent)).toMatchObject({ code: 'UNAVAILABLE' });
    expect(ingest.rejected).toEqual([]);
  });

  it('answers 503 OVERLOADED with Retry-After while the ingest is at its in-flight limit, before reading the body', async () => {
    ingest.inFlight = 10;
    const sent = await post('/v1/uplinks', VALID);
    expect(sent.status).toBe(503);
    expect(sent.headers.get('retry-after')).toBe('2');
    expect(errorOf(sent).code).toBe('OVERLOADED');
    expect(ingest.accepted).toEqual([]);
  });

  it('answers 503 instead of 400 when the dead letter cannot be written, so the client retries and nothing is lost', async () => {
    ingest.rejectFailure = new Error('broker down');
    const sent = await post('/v1/uplinks', '{"devEui": ');
    expect(sent.status).toBe(503);
    expect(errorOf(sent).code).toBe('UNAVAILABLE');
  });
});

describe('Idempotency-Key', () => {
  it('replays the first answer to a retry with the same key and body, without writing again', async () => {
    const first = await post('/v1/uplinks', VALID, { 'idempotency-key': 'k-1' });
    const retry = await post('/v1/uplinks', VALID, { 'idempotency-key': 'k-1' });
    expect(first.status).toBe(202);
    expect(retry.status).toBe(202);
    expect(retry.json).toEqual(first.json);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(ingest.accepted).toHaveLength(1);
  });

  it('answers 422 when the key was used for another body', async () => {
    await post('/v1/uplinks', VALID, { 'idempotency-key': 'k-2' });
    const other = await post('/v1/uplinks', VALID.replace('0102', '0103'), { 'idempotency-key': 'k-2' });
    expect(other.status).toBe(422);
    expect(errorOf(other).code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(ingest.accepted).toHaveLength(1);
  });

  it('answers 409 with Retry-After to a second request while the first with the same key waits for Kafka', async () => {
    let open!: () => void;
    ingest.gate = new Promise((resolve) => (open = resolve));
    const first = post('/v1/uplinks', VALID, { 'idempotency-key': 'k-3' });
    await expect.poll(() => idempotency.entries.size).toBe(1);
    const second = await post('/v1/uplinks', VALID, { 'idempotency-key': 'k-3' });
    open();
    expect(second.status).toBe(409);
    expect(second.headers.get('retry-after')).toBe('2');
    expect(errorOf(second).code).toBe('IDEMPOTENCY_KEY_IN_USE');
    expect((await first).status).toBe(202);
    expect(ingest.accepted).toHaveLength(1);
  });

  it('gives the same untimed uplink sent twice without a key two keys, so a meter\'s unchanged value is not taken for a retry', async () => {
    const untimed = JSON.stringify({ mbusAddress: '0901152304771407', payloadFormat: 'MBUS_LONG_FRAME', payloadHex: '0102' });
    const timed = JSON.stringify({ mbusAddress: '0901152304771407', payloadFormat: 'MBUS_LONG_FRAME', payloadHex: '0102', time: '2026-03-29T09:00:00Z' });
    for (const body of [untimed, untimed, timed, timed]) expect((await post('/v1/uplinks', body)).status).toBe(202);
    const keys = ingest.accepted.map((uplink) => uplink.idempotencyKey);
    expect(keys[0]).toMatch(/^http:org-unit:mbus:0901152304771407:request=[0-9a-f-]{36}:0$/);
    expect(keys[1]).not.toBe(keys[0]);
    // With a time (or a frame counter) the same content is the same uplink: a retry.
    expect(keys[3]).toBe(keys[2]);
  });

  it('forgets the key when the write failed, so the retry is processed', async () => {
    ingest.acceptFailure = new Error('broker down');
    expect((await post('/v1/uplinks', VALID, { 'idempotency-key': 'k-4' })).status).toBe(503);
    ingest.acceptFailure = undefined;
    expect((await post('/v1/uplinks', VALID, { 'idempotency-key': 'k-4' })).status).toBe(202);
    expect(ingest.accepted).toHaveLength(1);
  });
});

describe('body size', () => {
  const oversize = JSON.stringify({ stationId: 'minsk-01', values: { co2: 1 }, padding: 'x'.repeat(LIMIT_BYTES) });

  it('answers 413 to a body whose Content-Length is over the limit, closes the connection, and dead-letters the fact without the bytes', async () => {
    const sent = await post('/v1/uplinks', oversize);
    expect(sent.status).toBe(413);
    expect(sent.headers.get('connection')).toBe('close');
    expect(errorOf(sent).code).toBe('BODY_TOO_LARGE');
    expect(ingest.rejected).toHaveLength(1);
    expect(ingest.rejected[0]!.input.bytes).toHaveLength(0);
    expect(ingest.rejected[0]!.input.details).toMatchObject({ contentLength: String(Buffer.byteLength(oversize)), limitBytes: String(LIMIT_BYTES) });
  });

  it('answers 413 to a chunked body as soon as it crosses the limit', async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(`${base}/v1/uplinks`, {
        method: 'POST',
        headers: { authorization: 'Bearer ingest-secret', 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      }, (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      });
      request.on('error', reject);
      // Never ends: the server must answer from what crossed the limit.
      request.write(oversize);
    });
    expect(status).toBe(413);
    expect((JSON.parse(body) as ErrorBody).error.code).toBe('BODY_TOO_LARGE');
    expect(ingest.rejected[0]!.input.details).toMatchObject({ limitBytes: String(LIMIT_BYTES) });
  });

  it('refuses a batch with more uplinks than allowed per request', async () => {
    const uplinks = Array.from({ length: 6 }, () => JSON.parse(VALID) as unknown);
    const sent = await post('/v1/uplinks', JSON.stringify({ uplinks }));
    expect(sent.status).toBe(400);
    expect(errorOf(sent)).toMatchObject({ code: 'INVALID_FIELD', field: 'uplinks' });
  });
});

describe('routing', () => {
  it('answers 404 with the error body for an unknown path, and 405 with Allow for a GET on an ingest path', async () => {
    const missing = await post('/v2/uplinks', VALID);
    const get = await fetch(`${base}/v1/uplinks`);
    expect(missing.status).toBe(404);
    expect(errorOf(missing).code).toBe('NOT_FOUND');
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(((await get.json()) as ErrorBody).error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('serves its health at GET /healthz', async () => {
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ healthy: true, detail: 'unit' });
  });
});
