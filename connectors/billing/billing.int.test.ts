import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import { migrate } from '../../infra/postgres/migrate.js';
import type { Alert, Consumption } from '../../schemas/avro/index.js';
import { deleteTopics, readToEnd, testKernel, waitFor, type TestKernel } from '../../test/support/stack.js';
import { createTokenLookup } from '../http/auth.js';
import { startPullApi, type PullApi } from './api.js';
import { createDirectoryDestination, type Destination } from './destination.js';
import { createExporter } from './exporter.js';
import { createBillingSink, type BillingSink } from './sink.js';
import { upsertConsumption } from './store.js';

const MARCH_START = Date.UTC(2026, 1, 28, 21);
const MARCH_END = Date.UTC(2026, 2, 31, 21);

let kernel: TestKernel;
let pool: pg.Pool;
let redis: Redis;
let producer: RecordProducer;
let directory: string;
let database: string;
let adminUrl: string;

function monthly(registerId: string, delta: string, over: Partial<Consumption> = {}): Consumption {
  return {
    registerId, deviceId: `mbus:${registerId.replace(/\W/g, '')}`, registerKey: 'volume', organisationId: null, siteId: null,
    granularity: 'MONTHLY', periodStartAt: MARCH_START, periodEndAt: MARCH_END, localPeriod: '2026-03', timeZone: 'Europe/Minsk',
    billingDayStartHour: 0, startValue: '100.000000000', endValue: (100 + Number(delta)).toFixed(9), delta, unit: 'm3', quality: 'MEASURED',
    status: 'FINAL', open: false, revision: 2, rollovers: 0, meterReplacements: 0, computedAt: Date.UTC(2026, 3, 2), ...over,
  };
}

/** An organisation with accounts, registers, mappings and a gas tariff; ids start with `scope`. */
async function seed(scope: string, accounts: ReadonlyArray<{ number: string; registers: ReadonlyArray<{ id: string; resource: string | null }> }>): Promise<string> {
  const org = `${scope}org`;
  await pool.query('INSERT INTO organisations (id, name) VALUES ($1, $1)', [org]);
  await pool.query(`INSERT INTO tariffs (id, organisation_id, resource, price_per_unit, unit, currency, valid_from)
    VALUES ($1, $2, 'gas', 1.234567, 'm3', 'BYN', '2026-01-01')`, [`${scope}gas`, org]);
  for (const account of accounts) {
    const accountId = `${scope}acc-${account.number}`;
    await pool.query('INSERT INTO billing_accounts (id, organisation_id, account_number, address) VALUES ($1, $2, $3, $4)',
      [accountId, org, account.number, `г. Минск, ул. Кирова, ${account.number}`]);
    for (const register of account.registers) {
      const device = `mbus:${register.id.replace(/\W/g, '')}`;
      await pool.query('INSERT INTO devices (id, organisation_id, serial_number, status) VALUES ($1, $2, $3, $4)', [device, org, `SN-${register.id.slice(-3)}`, 'active']);
      await pool.query(`INSERT INTO registers (id, device_id, register_key, quantity, unit, cumulative) VALUES ($1, $2, 'volume', 'volume', 'm3', true)`, [register.id, device]);
      await pool.query('INSERT INTO billing_account_registers (billing_account_id, register_id, valid_from, resource) VALUES ($1, $2, $3, $4)',
        [accountId, register.id, '2025-01-01', register.resource]);
    }
  }
  return org;
}

beforeAll(async () => {
  kernel = await testKernel('bill');
  const base = new URL(kernel.config.postgres.url);
  database = `meterflux_${kernel.prefix.replace(/[^a-z0-9]/g, '_')}`.replace(/_+$/, '');
  adminUrl = Object.assign(new URL(base), { pathname: '/postgres' }).toString();
  const url = Object.assign(new URL(base), { pathname: `/${database}` }).toString();
  await migrate(url);
  pool = new pg.Pool({ connectionString: url, max: 6 });
  redis = new Redis(kernel.config.redis.url);
  producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: [kernel.catalogue.consumptionMonthly] });
  await producer.start();
  directory = await mkdtemp(join(tmpdir(), 'meterflux-billing-'));
});

afterAll(async () => {
  await producer?.stop();
  const keys = await redis?.keys(`${kernel.prefix}*`);
  if (keys && keys.length > 0) await redis.del(...keys);
  redis?.disconnect();
  await pool?.end();
  if (database) {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
  if (directory) await rm(directory, { recursive: true, force: true });
  if (kernel) await deleteTopics(kernel);
});

interface LedgerRow {
  id: string; format: string; kind: string; state: string; corrects_batch_id: string | null; checksum_sha256: string; file_name: string;
  consumption_totals: Record<string, string>; amount_totals: Record<string, string>; line_count: number; pull_cursor: string | null;
}

async function ledger(org: string): Promise<LedgerRow[]> {
  const { rows } = await pool.query<LedgerRow>(
    `SELECT id, format, kind, state, corrects_batch_id, checksum_sha256, file_name, consumption_totals, amount_totals, line_count, pull_cursor::text
     FROM export_batches WHERE organisation_id = $1 ORDER BY sequence, format`, [org]);
  return rows;
}

describe('the billing sink on the real stack', () => {
  const scope = () => `${kernel.prefix}m.`;
  let sink: BillingSink;
  let org: string;
  let api: PullApi;
  const tokens = { reader: `rd-${randomBytes(12).toString('hex')}`, ingest: `in-${randomBytes(12).toString('hex')}`, other: `ot-${randomBytes(12).toString('hex')}` };

  beforeAll(async () => {
    const s = scope();
    org = await seed(s, [
      { number: '1001', registers: [{ id: `${s}r1`, resource: 'gas' }, { id: `${s}r2`, resource: 'gas' }] },
      { number: '1002', registers: [{ id: `${s}r3`, resource: 'gas' }] },
      { number: '1003', registers: [{ id: `${s}r4`, resource: 'water' }] },
    ]);
    await pool.query('INSERT INTO organisations (id, name) VALUES ($1, $1)', [`${s}other`]);
    const hash = (secret: string) => createHash('sha256').update(secret).digest();
    await pool.query(`INSERT INTO api_tokens (id, organisation_id, name, secret_sha256, scopes) VALUES
      ($1, $2, 'billing', $3, ARRAY['read', 'write']), ($4, $2, 'ingest', $5, ARRAY['ingest']), ($6, $7, 'other', $8, ARRAY['read', 'write'])`,
    [`${s}tok-r`, org, hash(tokens.reader), `${s}tok-i`, hash(tokens.ingest), `${s}tok-o`, `${s}other`, hash(tokens.other)]);

    sink = createBillingSink({
      kafka: kernel.kafka, codec: kernel.codec, catalogue: kernel.catalogue, pool, destination: createDirectoryDestination(join(directory, 'main')),
      encoding: 'windows-1251', settleMs: 3_600_000, rescanMs: 3_600_000, intervalMs: 200, prefix: s, logger: kernel.logger, metrics: new Registry(),
    });
    await sink.start();
    api = await startPullApi({
      port: 0, host: '127.0.0.1', pool, logger: kernel.logger,
      tokens: createTokenLookup({ pool, redis, keyPrefix: `${kernel.prefix}billing:`, cacheTtlMs: 60_000, logger: kernel.logger }),
    });
  });

  afterAll(async () => {
    await api?.close();
    await sink?.stop();
  });

  it('exports a final month once per format, with totals equal to the final consumption, and holds back only what has a problem', async () => {
    const s = scope();
    // r3 is provisional first: account 1002 is not ready, and the month waits for it (settleMs is an hour).
    await producer.produce(kernel.catalogue.consumptionMonthly, [
      monthly(`${s}r1`, '10.5'), monthly(`${s}r2`, '2.25'), monthly(`${s}r3`, '7', { status: 'PROVISIONAL', revision: 1 }),
      monthly(`${s}r4`, '3'), monthly(`${s}lost`, '1.5'),
    ]);
    await waitFor('the register without an account to be recorded as a problem', async () =>
      (await pool.query("SELECT 1 FROM billing_problems WHERE id = $1", [`REGISTER_WITHOUT_ACCOUNT|${s}lost|2026-03`])).rowCount === 1);
    expect(await ledger(org)).toEqual([]);

    await producer.produce(kernel.catalogue.consumptionMonthly, [monthly(`${s}r3`, '7')]);
    const batches = await waitFor('three written batches', async () => {
      const rows = await ledger(org);
      return rows.length === 3 && rows.every((r) => r.state === 'written') ? rows : undefined;
    });
    expect(batches.map((b) => [b.format, b.kind, b.corrects_batch_id])).toEqual([['1c-csv', 'initial', null], ['1c-xml', 'initial', null], ['erip', 'initial', null]]);
    // 10.5 + 2.25 + 7 + 3 = 22.75 m3 in the 1C files; the water account has no tariff, so ERIP bills 19.75 m3 of gas:
    // 12.75 × 1.234567 = 15.74072925 → 15.74 and 7 × 1.234567 = 8.641969 → 8.64
    expect(batches[0]!.consumption_totals).toEqual({ m3: '22.750000000' });
    expect(batches[1]!.consumption_totals).toEqual({ m3: '22.750000000' });
    expect(batches[2]!.consumption_totals).toEqual({ m3: '19.750' });
    expect(batches[2]!.amount_totals).toEqual({ BYN: '24.38' });
    expect(batches.map((b) => b.line_count)).toEqual([4, 4, 2]);

    const files = (await readdir(join(directory, 'main'))).sort();
    expect(files).toEqual(batches.map((b) => b.file_name).sort());
    for (const batch of batches) {
      const bytes = await readFile(join(directory, 'main', batch.file_name));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(batch.checksum_sha256);
    }
    const csv = await readFile(join(directory, 'main', batches[0]!.file_name));
    expect(csv.includes(Buffer.from('ЛицевойСчет', 'utf8'))).toBe(false); // Windows-1251, not UTF-8
    expect(csv.toString('latin1').split('\r\n')[1]).toMatch(/^1001;/);

    const problems = await pool.query<{ reason: string; formats: string[] }>(
      'SELECT reason, formats FROM billing_problems WHERE resolved_at IS NULL AND (organisation_id = $1 OR register_id LIKE $2) ORDER BY reason', [org, `${s}%`]);
    expect(problems.rows).toEqual([{ reason: 'ACCOUNT_WITHOUT_TARIFF', formats: ['erip'] }, { reason: 'REGISTER_WITHOUT_ACCOUNT', formats: ['1c-csv', '1c-xml', 'erip'] }]);
    const alerts = await waitFor('two billing alerts on alert.v1', async () => {
      const values: Alert[] = [];
      for (const m of await readToEnd(kernel, kernel.catalogue.alerts.name)) values.push((await kernel.codec.decode('Alert', m.value)).value);
      return values.length >= 2 ? values : undefined;
    });
    expect(alerts.map((a) => [a.state, a.details['reasonCode'], a.deviceId]).sort()).toEqual([
      ['RAISED', 'ACCOUNT_WITHOUT_TARIFF', `mbus:${`${s}r4`.replace(/\W/g, '')}`],
      ['RAISED', 'REGISTER_WITHOUT_ACCOUNT', `mbus:${`${s}lost`.replace(/\W/g, '')}`],
    ]);
  });

  it('turns a late restated record into one correction batch per format that references the batch it corrects', async () => {
    const s = scope();
    const initial = await ledger(org);
    const restated = monthly(`${s}r1`, '11.5', { status: 'RESTATED', revision: 3 });
    await producer.produce(kernel.catalogue.consumptionMonthly, [restated]);
    const all = await waitFor('three correction batches written', async () => {
      const rows = await ledger(org);
      return rows.length === 6 && rows.every((r) => r.state === 'written') ? rows : undefined;
    });
    const corrections = all.filter((b) => b.kind === 'correction');
    expect(corrections.map((b) => [b.format, b.corrects_batch_id, b.line_count])).toEqual(
      initial.map((b) => [b.format, b.id, 1]),
    );
    // ERIP: account 1001 now 13.75 m3 × 1.234567 = 16.97529625 → 16.98, before 15.74
    const erip = await readFile(join(directory, 'main', corrections.find((b) => b.format === 'erip')!.file_name), 'latin1');
    const detail = erip.split('\r\n')[1]!;
    expect([detail.slice(80, 96), detail.slice(96, 112), detail.slice(112, 128)]).toEqual(['+000000000016.98', '+000000000015.74', '+000000000001.24']);

    // The same revision again (a replay) and an older one change nothing.
    await producer.produce(kernel.catalogue.consumptionMonthly, [restated, monthly(`${s}r1`, '99')]);
    const probe = monthly(`${s}probe`, '1', { status: 'PROVISIONAL', revision: 1 });
    await producer.produce(kernel.catalogue.consumptionMonthly, [probe]);
    await waitFor('the records after the replay to be consumed', async () => (await pool.query('SELECT 1 FROM billing_consumption WHERE register_id = $1', [probe.registerId])).rowCount === 1);
    await sink.exportNow();
    expect(await ledger(org)).toHaveLength(6);
    const { rows } = await pool.query<{ revision: string }>('SELECT revision::text FROM billing_consumption WHERE register_id = $1', [`${s}r1`]);
    expect(rows).toEqual([{ revision: '3' }]);
  });

  it('serves the pull API: list since a cursor, download, acknowledge, and refuses what a token may not do', async () => {
    const base = `http://127.0.0.1:${api.port}`;
    const get = (path: string, token?: string) => fetch(base + path, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
    expect((await get('/v1/batches')).status).toBe(401);
    expect((await get('/v1/batches', tokens.ingest)).status).toBe(403);

    const first = await (await get('/v1/batches?limit=4', tokens.reader)).json() as { batches: Array<{ id: string; cursor: string; checksumSha256: string; fileName: string; encoding: string }>; nextCursor: string };
    expect(first.batches).toHaveLength(4);
    const rest = await (await get(`/v1/batches?after=${first.nextCursor}`, tokens.reader)).json() as { batches: Array<{ id: string }>; nextCursor: string };
    expect(rest.batches).toHaveLength(2);
    expect(new Set([...first.batches, ...rest.batches].map((b) => b.id)).size).toBe(6);
    expect((await (await get(`/v1/batches?after=${rest.nextCursor}`, tokens.reader)).json() as { batches: unknown[] }).batches).toEqual([]);

    const batch = first.batches[0]!;
    const file = await get(`/v1/batches/${encodeURIComponent(batch.id)}/file`, tokens.reader);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('text/csv; charset=windows-1251');
    const bytes = Buffer.from(await file.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(batch.checksumSha256);
    expect(bytes.equals(await readFile(join(directory, 'main', batch.fileName)))).toBe(true);

    expect((await get(`/v1/batches/${encodeURIComponent(batch.id)}`, tokens.other)).status).toBe(404);
    const ack = (body: string, token = tokens.reader) => fetch(`${base}/v1/batches/${encodeURIComponent(batch.id)}/ack`, { method: 'POST', body, headers: { authorization: `Bearer ${token}` } });
    expect((await ack(JSON.stringify({ checksumSha256: '0'.repeat(64) }))).status).toBe(409);
    const acknowledged = await ack(JSON.stringify({ checksumSha256: batch.checksumSha256 }));
    expect(acknowledged.status).toBe(200);
    const view = await acknowledged.json() as { state: string; acknowledgedAt: string };
    expect(view.state).toBe('acknowledged');
    const again = await (await ack('')).json() as { state: string; acknowledgedAt: string };
    expect(again).toMatchObject({ state: 'acknowledged', acknowledgedAt: view.acknowledgedAt });
    const unacknowledged = await (await get('/v1/batches?unacknowledged=true', tokens.reader)).json() as { batches: Array<{ id: string }> };
    expect(unacknowledged.batches.map((b) => b.id)).not.toContain(batch.id);
    expect(unacknowledged.batches).toHaveLength(5);

    const problems = await (await get('/v1/problems', tokens.reader)).json() as { problems: Array<{ reason: string }> };
    expect(problems.problems.map((p) => p.reason)).toEqual(['ACCOUNT_WITHOUT_TARIFF']);
  });

  it('exports what a problem held back once it is fixed, in a supplement batch, and clears the alert', async () => {
    const s = scope();
    await pool.query(`INSERT INTO tariffs (id, organisation_id, resource, price_per_unit, unit, currency, valid_from)
      VALUES ($1, $2, 'water', 2, 'm3', 'BYN', '2026-03-01')`, [`${s}water`, org]);
    const sent: Alert[] = [];
    // A fresh exporter evaluates every month once, as a restarted process would (the sink waits for BILLING_RESCAN_MS).
    const report = await createExporter({
      pool, destination: createDirectoryDestination(join(directory, 'main')), encoding: 'windows-1251', settleMs: 3_600_000, rescanMs: 3_600_000,
      scope: s, logger: kernel.logger, sendAlerts: async (alerts) => void sent.push(...alerts),
    }).runOnce();
    expect(report.planned).toEqual([`${org}:2026-03:erip:3`]);
    const supplement = (await ledger(org)).find((b) => b.id === `${org}:2026-03:erip:3`)!;
    expect([supplement.kind, supplement.state, supplement.amount_totals, supplement.line_count]).toEqual(['supplement', 'written', { BYN: '6.00' }, 1]);
    expect(sent.map((a) => [a.state, a.details['reasonCode'], a.revision])).toEqual([['CLEARED', 'ACCOUNT_WITHOUT_TARIFF', 2]]);
    const open = await pool.query('SELECT reason FROM billing_problems WHERE organisation_id = $1 AND resolved_at IS NULL', [org]);
    expect(open.rows).toEqual([]);
  });
});

describe('an export interrupted midway', () => {
  it('resumes from the ledger on the next run and produces no duplicate batch or file', async () => {
    const scope = `${kernel.prefix}k.`;
    const org = await seed(scope, [{ number: '2001', registers: [{ id: `${scope}r1`, resource: 'gas' }] }, { number: '2002', registers: [{ id: `${scope}r2`, resource: 'gas' }] }]);
    await upsertConsumption(pool, [monthly(`${scope}r1`, '4'), monthly(`${scope}r2`, '6')]);
    const target = join(directory, 'kill');
    const real = createDirectoryDestination(target);
    const exporter = (destination: Destination) => createExporter({
      pool, destination, encoding: 'utf-8', settleMs: 3_600_000, rescanMs: 3_600_000, scope, logger: kernel.logger, sendAlerts: async () => undefined,
    });

    // Killed before any file was written: the plan and the files' bytes are on record, nothing at the destination.
    const down: Destination = { description: 'down', put: () => Promise.reject(new Error('disk gone')) };
    const first = await exporter(down).runOnce();
    expect(first.planned).toHaveLength(3);
    expect(first.written).toEqual([]);
    expect((await ledger(org)).map((b) => b.state)).toEqual(['pending', 'pending', 'pending']);

    // Killed after the second file landed but before the ledger said so.
    let puts = 0;
    const crashing: Destination = {
      description: 'crashing',
      put: async (name, content) => {
        const location = await real.put(name, content);
        if (++puts === 2) throw new Error('killed after writing');
        return location;
      },
    };
    const second = await exporter(crashing).runOnce();
    expect(second.planned).toEqual([]);
    expect(second.written).toHaveLength(2);
    expect(second.failed).toHaveLength(1);

    // A fresh process (new exporter, empty memory) finishes the job and plans nothing new.
    const third = await exporter(real).runOnce();
    expect(third.planned).toEqual([]);
    expect(third.written).toHaveLength(1);
    const rows = await ledger(org);
    expect(rows.map((b) => [b.format, b.state])).toEqual([['1c-csv', 'written'], ['1c-xml', 'written'], ['erip', 'written']]);
    expect((await readdir(target)).sort()).toEqual(rows.map((b) => b.file_name).sort());
    for (const row of rows) {
      expect(createHash('sha256').update(await readFile(join(target, row.file_name))).digest('hex')).toBe(row.checksum_sha256);
    }
    const lines = await pool.query('SELECT count(*)::int AS n FROM export_batch_lines WHERE register_id LIKE $1', [`${scope}%`]);
    expect(lines.rows[0]).toEqual({ n: 6 });
    expect((await exporter(real).runOnce()).planned).toEqual([]);
  });

  it('lets only one of two concurrent exporters plan a month', async () => {
    const scope = `${kernel.prefix}c.`;
    const org = await seed(scope, [{ number: '3001', registers: [{ id: `${scope}r1`, resource: 'gas' }] }]);
    await upsertConsumption(pool, [monthly(`${scope}r1`, '4')]);
    const make = () => createExporter({
      pool, destination: createDirectoryDestination(join(directory, 'race')), encoding: 'utf-8', settleMs: 3_600_000, rescanMs: 3_600_000, scope,
      logger: kernel.logger, sendAlerts: async () => undefined,
    });
    const reports = await Promise.all([make().runOnce(), make().runOnce(), make().runOnce()]);
    expect(reports.flatMap((r) => r.planned)).toHaveLength(3);
    expect(await ledger(org)).toHaveLength(3);
  });
});
