/**
 * Registry queries from PostgreSQL: the viewer, organisations, sites, devices, registers, access
 * groups, tokens and emission factors, each confined to the caller's organisation (and access
 * groups, for devices and what hangs off them).
 */
import type { Pool } from 'pg';
import { requireScope } from '../server/auth.js';
import type { ApiContext, AuthContext } from '../server/context.js';
import type { Resolvers } from '../server/module.js';
import { connection, decodePosition, encodePosition, pageSize } from './paging.js';
import { deviceVisible } from './visibility.js';

type Args = Record<string, unknown>;

/** Columns of a device as resolvers use them. */
export const DEVICE_COLUMNS = `d.id, d.organisation_id, d.site_id, d.access_group_id, d.mbus_secondary_address, d.dev_eui,
  d.station_id, d.manufacturer, d.model, d.medium, d.codec, d.serial_number, d.status, d.expected_interval_s,
  d.first_seen_at, d.last_seen_at, d.battery_percent, d.rssi_dbm, d.snr_db, d.latitude, d.longitude, d.firmware_version, d.updated_at,
  EXISTS (SELECT 1 FROM device_keys k WHERE k.device_id = d.id) AS has_key`;

/** A device row in GraphQL shape. */
export function deviceNode(row: Record<string, unknown>) {
  return {
    id: row['id'],
    status: String(row['status']).toUpperCase(),
    siteId: row['site_id'],
    accessGroupId: row['access_group_id'],
    mbusSecondaryAddress: row['mbus_secondary_address'],
    devEui: row['dev_eui'],
    stationId: row['station_id'],
    manufacturer: row['manufacturer'],
    model: row['model'],
    medium: row['medium'],
    codec: row['codec'],
    serialNumber: row['serial_number'],
    expectedIntervalSeconds: row['expected_interval_s'],
    firstSeenAt: row['first_seen_at'],
    lastSeenAt: row['last_seen_at'],
    batteryPercent: row['battery_percent'],
    rssiDbm: row['rssi_dbm'],
    snrDb: row['snr_db'],
    location: row['latitude'] == null || row['longitude'] == null ? null : { latitude: row['latitude'], longitude: row['longitude'] },
    firmwareVersion: row['firmware_version'],
    hasKey: row['has_key'],
    updatedAt: row['updated_at'],
  };
}
export type DeviceNode = ReturnType<typeof deviceNode>;

/** A register row in GraphQL shape. */
export function registerNode(row: Record<string, unknown>) {
  return {
    id: row['id'],
    deviceId: row['device_id'],
    registerKey: row['register_key'],
    quantity: row['quantity'],
    unit: row['unit'],
    multiplier: normaliseDecimal(String(row['multiplier'])),
    digits: row['digits'],
    resolution: row['resolution'] === null || row['resolution'] === undefined ? null : normaliseDecimal(String(row['resolution'])),
    cumulative: row['cumulative'],
    maxGapSeconds: row['max_gap_s'],
    billingDayStartHour: row['billing_day_start_hour'],
    replacedAt: row['replaced_at'],
  };
}
export type RegisterNode = ReturnType<typeof registerNode>;

/** `12.500000000000` → `12.5`: PostgreSQL numerics come with their full scale. */
export function normaliseDecimal(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

export function tokenNode(row: Record<string, unknown>) {
  return {
    id: row['id'],
    name: row['name'],
    scopes: (row['scopes'] as string[]).map((s) => s.toUpperCase()),
    accessGroupIds: (row['groups'] as string[] | null) ?? [],
    createdAt: row['created_at'],
    expiresAt: row['expires_at'],
    revokedAt: row['revoked_at'],
  };
}

export const TOKEN_SELECT = `SELECT t.id, t.name, t.scopes, t.created_at, t.expires_at, t.revoked_at,
  COALESCE((SELECT array_agg(g.access_group_id ORDER BY g.access_group_id) FROM api_token_access_groups g WHERE g.token_id = t.id), '{}') AS groups
  FROM api_tokens t`;

export function factorNode(row: Record<string, unknown>, auth: AuthContext) {
  return {
    id: row['id'],
    resource: row['resource'],
    region: row['region'],
    kgCo2ePerUnit: normaliseDecimal(String(row['kg_co2e_per_unit'])),
    unit: row['unit'],
    scope: row['scope'],
    source: row['source'],
    validFrom: dateOnly(row['valid_from']),
    validTo: row['valid_to'] === null ? null : dateOnly(row['valid_to']),
    own: row['organisation_id'] === auth.organisationId,
  };
}

/** A PostgreSQL `date` as `YYYY-MM-DD` (node-postgres returns local-midnight Dates). */
export function dateOnly(value: unknown): string {
  if (value instanceof Date) {
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${value.getFullYear()}-${pad(value.getMonth() + 1)}-${pad(value.getDate())}`;
  }
  return String(value);
}

/** One visible device, or undefined. */
export async function findDevice(pool: Pool, auth: AuthContext, id: string): Promise<DeviceNode | undefined> {
  const params: unknown[] = [id];
  const { rows } = await pool.query(`SELECT ${DEVICE_COLUMNS} FROM devices d WHERE d.id = $1 AND ${deviceVisible(auth, 'd', params)}`, params);
  return rows[0] ? deviceNode(rows[0]) : undefined;
}

/** One visible register with its device, or undefined. */
export async function findRegister(pool: Pool, auth: AuthContext, id: string): Promise<RegisterNode | undefined> {
  const params: unknown[] = [id];
  const { rows } = await pool.query(
    `SELECT r.* FROM registers r JOIN devices d ON d.id = r.device_id WHERE r.id = $1 AND ${deviceVisible(auth, 'd', params)}`,
    params,
  );
  return rows[0] ? registerNode(rows[0]) : undefined;
}

async function listDevices(ctx: ApiContext, filter: Args, first: unknown, after: unknown) {
  const { auth, services } = ctx;
  requireScope(auth, 'read');
  const size = pageSize(first, 500);
  const params: unknown[] = [];
  const where = [deviceVisible(auth, 'd', params)];
  const eq = (column: string, value: unknown) => {
    if (value === undefined || value === null) return;
    params.push(value);
    where.push(`${column} = $${params.length}`);
  };
  eq('d.site_id', filter['siteId']);
  eq('d.access_group_id', filter['accessGroupId']);
  eq('d.model', filter['model']);
  eq('d.medium', filter['medium']);
  if (typeof filter['status'] === 'string') eq('d.status', filter['status'].toLowerCase());
  const search = filter['search'];
  if (typeof search === 'string' && search.trim() !== '') {
    params.push(`%${search.trim().toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    const p = `$${params.length}`;
    where.push(`(lower(d.serial_number) LIKE ${p} OR lower(d.id) LIKE ${p} OR lower(d.mbus_secondary_address) LIKE ${p}
      OR lower(d.dev_eui) LIKE ${p} OR lower(d.station_id) LIKE ${p} OR lower(s.address) LIKE ${p})`);
  }
  const countParams = [...params];
  const afterId = decodePosition(after, 1)?.[0];
  const pageWhere = [...where];
  if (afterId !== undefined) {
    params.push(String(afterId));
    pageWhere.push(`d.id > $${params.length}`);
  }
  params.push(size + 1);
  const from = 'FROM devices d LEFT JOIN sites s ON s.id = d.site_id';
  const [page, count] = await Promise.all([
    services.postgres.query(`SELECT ${DEVICE_COLUMNS} ${from} WHERE ${pageWhere.join(' AND ')} ORDER BY d.id LIMIT $${params.length}`, params),
    services.postgres.query<{ n: string }>(`SELECT count(*) AS n ${from} WHERE ${where.join(' AND ')}`, countParams),
  ]);
  return {
    ...connection(page.rows.map(deviceNode), size, (d) => encodePosition([String(d.id)])),
    totalCount: Number(count.rows[0]?.n ?? 0),
  };
}

export const registryResolvers: Resolvers = {
  Query: {
    viewer: (_root, _args, ctx: ApiContext) => ({ tokenId: ctx.auth.tokenId }),
    organisations: async (_root, _args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'read');
      const { rows } = await ctx.services.postgres.query('SELECT id, name, created_at AS "createdAt" FROM organisations WHERE id = $1', [ctx.auth.organisationId]);
      return rows;
    },
    sites: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'read');
      const size = pageSize(args['first'], 500);
      const params: unknown[] = [ctx.auth.organisationId];
      const where = ['organisation_id = $1'];
      if (typeof args['search'] === 'string' && args['search'].trim() !== '') {
        params.push(`%${args['search'].trim().toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
        where.push(`(lower(name) LIKE $${params.length} OR lower(address) LIKE $${params.length})`);
      }
      const position = decodePosition(args['after'], 2);
      if (position) {
        params.push(String(position[0]), String(position[1]));
        where.push(`(name, id) > ($${params.length - 1}, $${params.length})`);
      }
      params.push(size + 1);
      const { rows } = await ctx.services.postgres.query(
        `SELECT id, name, address, time_zone AS "timeZone", latitude, longitude FROM sites WHERE ${where.join(' AND ')} ORDER BY name, id LIMIT $${params.length}`,
        params,
      );
      return connection(rows, size, (s) => encodePosition([s.name, s.id]));
    },
    site: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'read');
      const { rows } = await ctx.services.postgres.query(
        'SELECT id, name, address, time_zone AS "timeZone", latitude, longitude FROM sites WHERE id = $1 AND organisation_id = $2',
        [args['id'], ctx.auth.organisationId],
      );
      return rows[0] ?? null;
    },
    devices: (_root, args: Args, ctx: ApiContext) => listDevices(ctx, (args['filter'] as Args | null) ?? {}, args['first'], args['after']),
    device: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'read');
      return (await findDevice(ctx.services.postgres, ctx.auth, String(args['id']))) ?? null;
    },
    registers: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'read');
      const size = pageSize(args['first'], 500);
      const filter = (args['filter'] as Args | null) ?? {};
      const params: unknown[] = [];
      const where = [deviceVisible(ctx.auth, 'd', params)];
      for (const [column, key] of [['r.device_id', 'deviceId'], ['d.site_id', 'siteId'], ['r.quantity', 'quantity']] as const) {
        if (filter[key] === undefined || filter[key] === null) continue;
        params.push(filter[key]);
        where.push(`${column} = $${params.length}`);
      }
      const afterId = decodePosition(args['after'], 1)?.[0];
      if (afterId !== undefined) {
        params.push(String(afterId));
        where.push(`r.id > $${params.length}`);
      }
      params.push(size + 1);
      const { rows } = await ctx.services.postgres.query(
        `SELECT r.* FROM registers r JOIN devices d ON d.id = r.device_id WHERE ${where.join(' AND ')} ORDER BY r.id LIMIT $${params.length}`,
        params,
      );
      return connection(rows.map(registerNode), size, (r) => encodePosition([String(r.id)]));
    },
    accessGroups: async (_root, _args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'read');
      const params: unknown[] = [ctx.auth.organisationId];
      let where = 'g.organisation_id = $1';
      if (ctx.auth.accessGroupIds !== null) {
        params.push(ctx.auth.accessGroupIds);
        where += ' AND g.id = ANY($2::text[])';
      }
      const { rows } = await ctx.services.postgres.query(`SELECT g.id, g.name FROM access_groups g WHERE ${where} ORDER BY g.name`, params);
      return rows;
    },
    apiTokens: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'admin');
      const { rows } = await ctx.services.postgres.query(
        `${TOKEN_SELECT} WHERE t.organisation_id = $1 ${args['includeRevoked'] ? '' : 'AND t.revoked_at IS NULL'} ORDER BY t.created_at, t.id`,
        [ctx.auth.organisationId],
      );
      return rows.map(tokenNode);
    },
    emissionFactors: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'read');
      const params: unknown[] = [ctx.auth.organisationId];
      const where = ['(organisation_id IS NULL OR organisation_id = $1)'];
      for (const key of ['resource', 'region'] as const) {
        if (typeof args[key] !== 'string') continue;
        params.push(args[key]);
        where.push(`${key} = $${params.length}`);
      }
      const { rows } = await ctx.services.postgres.query(
        `SELECT * FROM emission_factors WHERE ${where.join(' AND ')} ORDER BY resource, region, valid_from, id`,
        params,
      );
      return rows.map((row) => factorNode(row, ctx.auth));
    },
  },
  Viewer: {
    organisation: async (_v, _args, ctx: ApiContext) => {
      const { rows } = await ctx.services.postgres.query('SELECT id, name, created_at AS "createdAt" FROM organisations WHERE id = $1', [ctx.auth.organisationId]);
      return rows[0];
    },
    scopes: (_v, _args, ctx: ApiContext) => [...ctx.auth.scopes].map((s) => s.toUpperCase()),
    accessGroups: async (_v, _args, ctx: ApiContext) => {
      if (ctx.auth.accessGroupIds === null) return [];
      const { rows } = await ctx.services.postgres.query('SELECT id, name FROM access_groups WHERE id = ANY($1::text[]) ORDER BY name', [ctx.auth.accessGroupIds]);
      return rows;
    },
  },
  Site: {
    devices: (site: unknown, args: Args, ctx: ApiContext) =>
      listDevices(ctx, { siteId: (site as { id: string }).id }, args['first'], args['after']),
  },
  AccessGroup: {
    deviceCount: async (group: unknown, _args, ctx: ApiContext) => {
      const params: unknown[] = [(group as { id: string }).id];
      const { rows } = await ctx.services.postgres.query<{ n: string }>(
        `SELECT count(*) AS n FROM devices d WHERE d.access_group_id = $1 AND ${deviceVisible(ctx.auth, 'd', params)}`,
        params,
      );
      return Number(rows[0]?.n ?? 0);
    },
  },
  Device: {
    site: async (device: unknown, _args, ctx: ApiContext) => {
      const siteId = (device as DeviceNode).siteId;
      if (siteId === null || siteId === undefined) return null;
      const { rows } = await ctx.services.postgres.query(
        'SELECT id, name, address, time_zone AS "timeZone", latitude, longitude FROM sites WHERE id = $1 AND organisation_id = $2',
        [siteId, ctx.auth.organisationId],
      );
      return rows[0] ?? null;
    },
    accessGroup: async (device: unknown, _args, ctx: ApiContext) => {
      const groupId = (device as DeviceNode).accessGroupId;
      if (groupId === null || groupId === undefined) return null;
      const { rows } = await ctx.services.postgres.query('SELECT id, name FROM access_groups WHERE id = $1 AND organisation_id = $2', [groupId, ctx.auth.organisationId]);
      return rows[0] ?? null;
    },
    registers: async (device: unknown, _args, ctx: ApiContext) => {
      const { rows } = await ctx.services.postgres.query('SELECT * FROM registers WHERE device_id = $1 ORDER BY register_key', [(device as DeviceNode).id]);
      return rows.map(registerNode);
    },
  },
  Register: {
    device: async (register: unknown, _args, ctx: ApiContext) => findDevice(ctx.services.postgres, ctx.auth, String((register as RegisterNode).deviceId)),
    billingAccounts: async (register: unknown, _args, ctx: ApiContext) => {
      const { rows } = await ctx.services.postgres.query(
        `SELECT a.id, a.account_number, b.valid_from, b.valid_to FROM billing_account_registers b
           JOIN billing_accounts a ON a.id = b.billing_account_id
          WHERE b.register_id = $1 AND a.organisation_id = $2 ORDER BY b.valid_from`,
        [(register as RegisterNode).id, ctx.auth.organisationId],
      );
      return rows.map((row) => ({
        billingAccountId: row.id,
        accountNumber: row.account_number,
        validFrom: dateOnly(row.valid_from),
        validTo: row.valid_to === null ? null : dateOnly(row.valid_to),
      }));
    },
  },
  ApiToken: {
    accessGroups: async (token: unknown, _args, ctx: ApiContext) => {
      const ids = (token as { accessGroupIds: string[] }).accessGroupIds;
      if (ids.length === 0) return [];
      const { rows } = await ctx.services.postgres.query('SELECT id, name FROM access_groups WHERE id = ANY($1::text[]) AND organisation_id = $2 ORDER BY name', [ids, ctx.auth.organisationId]);
      return rows;
    },
  },
};
