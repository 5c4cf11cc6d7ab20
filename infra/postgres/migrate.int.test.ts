import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';
import { uniquePrefix } from '../../test/support/stack.js';
import { migrate } from './migrate.js';

const base = new URL(loadConfig(process.env).postgres.url);
const database = `meterflux_${uniquePrefix('it').replace(/[^a-z0-9]/g, '_')}`.replace(/_+$/, '');
const testUrl = Object.assign(new URL(base), { pathname: `/${database}` }).toString();

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: Object.assign(new URL(base), { pathname: '/postgres' }).toString() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

afterAll(async () => {
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
});

describe('PostgreSQL migrations', () => {
  it('create a missing database, apply every migration once, and apply nothing the second time', async () => {
    const first = await migrate(testUrl);
    expect(first.applied).toContain('0001_registry.sql');
    expect(first.alreadyApplied).toEqual([]);

    const second = await migrate(testUrl);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(first.applied);

    const client = new pg.Client({ connectionString: testUrl });
    await client.connect();
    const { rows } = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    );
    await client.end();
    expect(rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(['devices', 'registers', 'api_tokens', 'device_keys', 'schema_migrations']));
  });

  it('refuses to run when an applied migration was edited afterwards', async () => {
    const client = new pg.Client({ connectionString: testUrl });
    await client.connect();
    await client.query("UPDATE schema_migrations SET checksum_sha256 = 'edited' WHERE name = '0001_registry.sql'");
    await client.end();

    const error = await migrate(testUrl).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('0001_registry.sql was changed after it was applied');
  });
});
