/**
 * Billing export time for {@link ACCOUNTS} accounts (one gas register each, one final month).
 *
 * Export run: the whole exporter in-process against PostgreSQL (a scratch database migrated like
 * `make up`): read the month's snapshot, plan, render the 1C CSV, 1C XML and ERIP files in
 * Windows-1251, record the batches with their files and 300k claimed register-revisions in one
 * transaction, and write the three files to a directory (temporary file, fsync, rename). Each
 * run starts from an empty ledger. The baseline writes the same three files' bytes with plain
 * `fs.writeFile` (no fsync) in the same run; both are reported as accounts per second, medians
 * over {@link REPEATS} interleaved runs after an untimed warm-up.
 *
 * In memory: plan and render the three files from an in-memory snapshot of the same month,
 * against the same plain write of their bytes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { migrate } from '../infra/postgres/migrate.js';
import { createDirectoryDestination } from '../connectors/billing/destination.js';
import { createExporter, renderBatch } from '../connectors/billing/exporter.js';
import { planPeriod, type AccountRegister, type PeriodSnapshot } from '../connectors/billing/plan.js';
import { uniquePrefix } from '../test/support/stack.js';
import { median, type BenchResult } from './lib/measure.js';

const ACCOUNTS = 100_000;
const REPEATS = 3;
const MONTH_START = Date.UTC(2026, 1, 28, 21);

/** A register's monthly record as the exporter reads it back, for the in-memory variant. */
function mappings(): AccountRegister[] {
  return Array.from({ length: ACCOUNTS }, (_, i) => ({
    accountId: `acc-${i}`, accountNumber: String(10_000_000 + i), address: `г. Минск, ул. Кирова, д. ${i % 200}, кв. ${i % 97}`,
    organisationId: 'org', tariffGroup: 'default', registerId: `reg-${i}`, resource: 'gas', meterSerial: `SN${i}`,
    consumption: {
      registerId: `reg-${i}`, periodStartAt: MONTH_START, localPeriod: '2026-03', deviceId: `mbus:${i}`, organisationId: 'org', status: 'FINAL', revision: 2,
      startValueNanos: BigInt(i) * 1_000_000_000n, endValueNanos: BigInt(i) * 1_000_000_000n + 12_345_000_000n, deltaNanos: 12_345_000_000n,
      unit: 'm3', quality: 'MEASURED', receivedAt: 0,
    },
  }));
}

async function seed(pool: pg.Pool): Promise<void> {
  await pool.query(`INSERT INTO organisations (id, name) VALUES ('org', 'bench')`);
  await pool.query(`INSERT INTO tariffs (id, organisation_id, resource, price_per_unit, unit, currency, valid_from) VALUES ('gas', 'org', 'gas', 1.234567, 'm3', 'BYN', '2026-01-01')`);
  await pool.query(`INSERT INTO billing_accounts (id, organisation_id, account_number, address)
    SELECT 'acc-' || i, 'org', (10000000 + i)::text, 'г. Минск, ул. Кирова, д. ' || (i % 200) || ', кв. ' || (i % 97) FROM generate_series(0, $1 - 1) i`, [ACCOUNTS]);
  await pool.query(`INSERT INTO devices (id, organisation_id, serial_number) SELECT 'mbus:' || i, 'org', 'SN' || i FROM generate_series(0, $1 - 1) i`, [ACCOUNTS]);
  await pool.query(`INSERT INTO registers (id, device_id, register_key, quantity, unit, cumulative)
    SELECT 'reg-' || i, 'mbus:' || i, 'volume', 'volume', 'm3', true FROM generate_series(0, $1 - 1) i`, [ACCOUNTS]);
  await pool.query(`INSERT INTO billing_account_registers (billing_account_id, register_id, valid_from, resource)
    SELECT 'acc-' || i, 'reg-' || i, '2025-01-01', 'gas' FROM generate_series(0, $1 - 1) i`, [ACCOUNTS]);
  await pool.query(`INSERT INTO billing_consumption (register_id, period_start_at, period_end_at, local_period, device_id, register_key, organisation_id,
      status, revision, start_value, end_value, delta, unit, quality, computed_at)
    SELECT 'reg-' || i, $2, $3, '2026-03', 'mbus:' || i, 'volume', 'org', 'FINAL', 2, i, i + 12.345, 12.345, 'm3', 'MEASURED', now()
    FROM generate_series(0, $1 - 1) i`, [ACCOUNTS, new Date(MONTH_START), new Date(Date.UTC(2026, 2, 31, 21))]);
  await pool.query('ANALYZE');
}

async function clearLedger(pool: pg.Pool): Promise<void> {
  await pool.query('TRUNCATE export_batch_lines, export_batch_files, export_billed_amounts, billing_problems, export_batches');
}

/** Seconds of `work`. */
async function timed(work: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

export async function benchBilling(): Promise<BenchResult[]> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: 'warn', name: 'bench-billing' });
  const database = `meterflux_${uniquePrefix('bench').replace(/[^a-z0-9]/g, '_')}`.replace(/_+$/, '');
  const base = new URL(config.postgres.url);
  const url = Object.assign(new URL(base), { pathname: `/${database}` }).toString();
  const directory = await mkdtemp(join(tmpdir(), 'meterflux-billing-bench-'));
  await migrate(url);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    await seed(pool);
    const exportRuns: number[] = [];
    const memoryRuns: number[] = [];
    const baselineRuns: number[] = [];
    const snapshot: PeriodSnapshot = {
      period: '2026-03', now: Date.now(), settleMs: 0, mappings: mappings(), orphans: [], exported: new Map(),
      tariffs: [{ id: 'gas', organisationId: 'org', tariffGroup: 'default', resource: 'gas', priceMicros: 1_234_567n, unit: 'm3', currency: 'BYN', validFrom: '2026-01-01', validTo: null }],
      billed: new Map(), sequences: new Map(),
    };
    for (let run = 0; run <= REPEATS; run++) {
      await clearLedger(pool);
      const exporter = createExporter({
        pool, destination: createDirectoryDestination(join(directory, `export-${run}`)), encoding: 'windows-1251', settleMs: 0, rescanMs: 0,
        scope: '', logger, sendAlerts: async () => undefined,
      });
      const exportSeconds = await timed(async () => {
        const report = await exporter.runOnce();
        if (report.written.length !== 3) throw new Error(`expected 3 written batches, got ${report.written.length}`);
      });
      const { rows } = await pool.query<{ file_name: string; content: Buffer }>(
        'SELECT b.file_name, f.content FROM export_batches b JOIN export_batch_files f ON f.batch_id = b.id');
      const baselineSeconds = await timed(async () => {
        for (const row of rows) await writeFile(join(directory, `plain-${run}-${row.file_name}`), row.content);
      });
      const memorySeconds = await timed(async () => {
        const plan = planPeriod(snapshot);
        for (const batch of plan.batches) renderBatch(batch, 'windows-1251', Date.now());
      });
      if (run === 0) continue; // warm-up
      exportRuns.push(ACCOUNTS / exportSeconds);
      memoryRuns.push(ACCOUNTS / memorySeconds);
      baselineRuns.push(ACCOUNTS / baselineSeconds);
    }
    const baseline = median(baselineRuns);
    return [
      {
        name: `billing: export run for ${ACCOUNTS.toLocaleString('en')} accounts (PostgreSQL ledger, 1C CSV + XML + ERIP, fsync)`,
        subject: median(exportRuns), baseline, baselineName: 'fs.writeFile of the same bytes', unit: 'accounts/s',
      },
      {
        name: `billing: plan + render the three files for ${ACCOUNTS.toLocaleString('en')} accounts in memory`,
        subject: median(memoryRuns), baseline, baselineName: 'fs.writeFile of the same bytes', unit: 'accounts/s',
      },
    ];
  } finally {
    await pool.end();
    const admin = new pg.Client({ connectionString: Object.assign(new URL(base), { pathname: '/postgres' }).toString() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).finally(() => admin.end());
    await rm(directory, { recursive: true, force: true });
  }
}
