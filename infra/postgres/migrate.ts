/**
 * Applies the SQL migrations in infra/postgres/migrations/ in name order, each in its own
 * transaction, recording name and checksum in `schema_migrations`. Creates the database first when
 * it is missing. A migration already applied with a different checksum stops everything: applied
 * migrations are history and are never edited; write a new one.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ConfigError } from '../../core/errors.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** What {@link migrate} did. */
export interface MigrationReport {
  readonly applied: string[];
  readonly alreadyApplied: string[];
}

async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new ConfigError([`DATABASE_URL names database "${name}": use lower-case letters, digits and _`]);
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
}

/** Brings the database at `databaseUrl` up to the newest migration. */
export async function migrate(databaseUrl: string): Promise<MigrationReport> {
  await ensureDatabase(databaseUrl);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY, checksum_sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    // One migrator at a time, whatever number of processes start together.
    await client.query('SELECT pg_advisory_lock(7358201)');
    const done = new Map<string, string>(
      (await client.query<{ name: string; checksum_sha256: string }>('SELECT name, checksum_sha256 FROM schema_migrations'))
        .rows.map((r) => [r.name, r.checksum_sha256]),
    );
    const report: MigrationReport = { applied: [], alreadyApplied: [] };
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
    for (const file of files) {
      const sql = await readFile(MIGRATIONS_DIR + file, 'utf8');
      const checksum = createHash('sha256').update(sql).digest('hex');
      const previous = done.get(file);
      if (previous !== undefined) {
        if (previous !== checksum) {
          throw new ConfigError([`migration ${file} was changed after it was applied (checksum ${previous.slice(0, 12)}… → ${checksum.slice(0, 12)}…): add a new migration instead`]);
        }
        report.alreadyApplied.push(file);
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (name, checksum_sha256) VALUES ($1, $2)', [file, checksum]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${file} failed: ${(err as Error).message}`, { cause: err });
      }
      report.applied.push(file);
    }
    return report;
  } finally {
    await client.end();
  }
}
