/**
 * Mutations. Each checks its scope, confines every row it reads or writes to the caller's
 * organisation (and access groups), validates input with the argument path in the error, and
 * writes in one PostgreSQL transaction; records for Kafka (device changes, alert
 * acknowledgements, re-driven uplinks) are produced before that transaction commits, so a failed
 * write leaves nothing behind in the registry.
 */
import { randomBytes } from 'node:crypto';
import type { PoolClient } from 'pg';
import { storeDeviceKey } from '../../core/device-keys.js';
import type { OutgoingMessage } from '../../core/kafka/client.js';
import type { RecordTypes } from '../../schemas/avro/index.js';
import { newSecret, requireScope, secretHash } from '../server/auth.js';
import type { ApiContext, AuthContext } from '../server/context.js';
import { badInput, forbidden, notFound } from '../server/errors.js';
import type { Resolvers } from '../server/module.js';
import { alertNode, withAcknowledgement, type RejectDocument } from './records.js';
import { DEVICE_COLUMNS, deviceNode, factorNode, findDevice, findRegister, registerNode, TOKEN_SELECT, tokenNode } from './registry.js';
import { deviceVisible } from './visibility.js';

type Args = Record<string, unknown>;

/** Header naming the dead letter a re-driven uplink comes from (streams/decode/headers.ts). */
export const REDRIVEN_FROM_HEADER = 'meterflux-redriven-from';
/** Header counting re-drives of the same input (streams/decode/headers.ts). */
export const REDRIVE_COUNT_HEADER = 'meterflux-redrive-count';
/** The stage whose dead letters can be re-driven, and the topic they go back to (decode's contract). */
const REDRIVABLE_STAGE = 'decode';

const DEVICE_ID = /^(lorawan:[0-9a-f]{16}|mbus:[0-9a-f]{16}|station:[A-Za-z0-9._-]{1,64})$/;
const REGISTER_KEY = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

const newId = (prefix: string) => `${prefix}-${randomBytes(8).toString('hex')}`;

/** Runs `work` in a transaction on one pooled connection. */
async function transaction<T>(ctx: ApiContext, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await ctx.services.postgres.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw translate(err);
  } finally {
    client.release();
  }
}

/** PostgreSQL constraint violations caused by input become BAD_USER_INPUT; the rest stays internal. */
function translate(err: unknown): unknown {
  const code = (err as { code?: string }).code;
  if (code === '23505') return badInput('input', 'a record with this value already exists');
  if (code === '23514' || code === '22003' || code === '22P02') return badInput('input', 'a value is out of range');
  return err;
}

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return zone.includes('/') || zone === 'UTC';
  } catch {
    return false;
  }
}

function checkText(field: string, value: unknown, max = 200): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'string' || value.trim() === '' || value.length > max) throw badInput(field, `must be 1 to ${max} characters`);
}

/** A Decimal argument (already a decimal string, scalars.ts), checked to be above zero. */
function checkPositive(field: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (!(Number(value) > 0)) throw badInput(field, 'must be positive');
}

function checkInt(field: string, value: unknown, min: number, max: number): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw badInput(field, `must be an integer from ${min} to ${max}`);
}

/** The site, checked to belong to the caller's organisation. */
async function checkSite(client: PoolClient, auth: AuthContext, field: string, siteId: unknown): Promise<void> {
  if (siteId === undefined || siteId === null) return;
  const { rowCount } = await client.query('SELECT 1 FROM sites WHERE id = $1 AND organisation_id = $2', [siteId, auth.organisationId]);
  if (rowCount === 0) throw badInput(field, 'no such site in this organisation');
}

/** The access group, checked to belong to the caller and, for a limited token, to be one of its groups. */
async function checkGroup(client: PoolClient, auth: AuthContext, field: string, groupId: unknown, required: boolean): Promise<void> {
  if (groupId === undefined || groupId === null) {
    // A device outside the token's groups would vanish from its own view.
    if (required && auth.accessGroupIds !== null) throw badInput(field, 'this token is limited to access groups: name one of them');
    return;
  }
  const { rowCount } = await client.query('SELECT 1 FROM access_groups WHERE id = $1 AND organisation_id = $2', [groupId, auth.organisationId]);
  if (rowCount === 0 || (auth.accessGroupIds !== null && !auth.accessGroupIds.includes(String(groupId)))) {
    throw badInput(field, 'no such access group for this token');
  }
}

function checkRegisterInput(prefix: string, input: Args, creating: boolean): void {
  if (creating) {
    if (typeof input['registerKey'] !== 'string' || !REGISTER_KEY.test(input['registerKey'])) {
      throw badInput(`${prefix}.registerKey`, 'expected a register key such as `volume` or `energy.tariff1`');
    }
    checkText(`${prefix}.unit`, input['unit'], 16);
    checkText(`${prefix}.quantity`, input['quantity'], 64);
  }
  checkPositive(`${prefix}.multiplier`, input['multiplier']);
  checkInt(`${prefix}.digits`, input['digits'], 1, 20);
  checkPositive(`${prefix}.resolution`, input['resolution']);
  checkInt(`${prefix}.maxGapSeconds`, input['maxGapSeconds'], 1, 366 * 86_400);
  checkInt(`${prefix}.billingDayStartHour`, input['billingDayStartHour'], 0, 23);
}

/** `UpdateRegisterInput` fields by column; `clearable` ones go back to unknown on an explicit null. */
const REGISTER_COLUMNS = [
  { field: 'multiplier', column: 'multiplier', cast: '::numeric', clearable: false },
  { field: 'digits', column: 'digits', cast: '', clearable: true },
  { field: 'resolution', column: 'resolution', cast: '::numeric', clearable: true },
  { field: 'maxGapSeconds', column: 'max_gap_s', cast: '', clearable: true },
  { field: 'billingDayStartHour', column: 'billing_day_start_hour', cast: '', clearable: false },
] as const;

/**
 * The SET assignments of a register update, with parameters from `$2`: a field left out keeps its
 * column, a value replaces it, and an explicit null clears digits, resolution or maxGapSeconds (the
 * workers then use their defaults or estimate). Multiplier and billing day start always have a value.
 */
function registerChanges(input: Args): { assignments: string[]; values: unknown[] } {
  const assignments: string[] = [];
  const values: unknown[] = [];
  for (const { field, column, cast, clearable } of REGISTER_COLUMNS) {
    if (!(field in input)) continue;
    const value = input[field];
    if (value === null && !clearable) throw badInput(`input.${field}`, 'cannot be cleared; give a value');
    values.push(value);
    assignments.push(`${column} = $${values.length + 1}${cast}`);
  }
  return { assignments, values };
}

async function upsertRegister(client: PoolClient, deviceId: string, input: Args): Promise<Record<string, unknown>> {
  const key = String(input['registerKey']);
  const { rows } = await client.query(
    `INSERT INTO registers (id, device_id, register_key, quantity, unit, multiplier, digits, cumulative, max_gap_s, billing_day_start_hour, resolution)
     VALUES ($1, $2, $3, $4, $5, COALESCE($6::numeric, 1), $7, COALESCE($8, false), $9, COALESCE($10, 0), $11::numeric)
     ON CONFLICT (device_id, register_key) DO UPDATE SET
       quantity = EXCLUDED.quantity, unit = EXCLUDED.unit,
       multiplier = COALESCE($6::numeric, registers.multiplier), digits = COALESCE($7, registers.digits),
       cumulative = COALESCE($8, registers.cumulative), max_gap_s = COALESCE($9, registers.max_gap_s),
       billing_day_start_hour = COALESCE($10, registers.billing_day_start_hour),
       resolution = COALESCE($11::numeric, registers.resolution)
     RETURNING *`,
    [
      `${deviceId}/${key}`,
      deviceId,
      key,
      input['quantity'] ?? key.split('.')[0],
      input['unit'],
      input['multiplier'] ?? null,
      input['digits'] ?? null,
      input['cumulative'] ?? null,
      input['maxGapSeconds'] ?? null,
      input['billingDayStartHour'] ?? null,
      input['resolution'] ?? null,
    ],
  );
  return rows[0]!;
}

/**
 * Raises the device's shared revision and produces the device.v1 UPDATED record that tells
 * caches and live subscribers. A device never heard yet gets its first record from decode.
 */
async function announceDevice(ctx: ApiContext, client: PoolClient, deviceId: string, change: 'UPDATED' | 'RETIRED'): Promise<void> {
  const { rows } = await client.query(
    `UPDATE devices SET revision = revision + 1, updated_at = now() WHERE id = $1 AND first_seen_at IS NOT NULL
     RETURNING id, organisation_id, site_id, mbus_secondary_address, dev_eui, station_id, manufacturer, model, device_version,
               medium, status, first_seen_at, last_seen_at, battery_percent, battery_volts, rssi_dbm, snr_db, latitude, longitude,
               firmware_version, revision, updated_at`,
    [deviceId],
  );
  const row = rows[0];
  if (!row) return;
  const record: RecordTypes['Device'] = {
    deviceId: row.id,
    organisationId: row.organisation_id,
    siteId: row.site_id,
    mbusSecondaryAddress: row.mbus_secondary_address,
    devEui: row.dev_eui,
    stationId: row.station_id,
    manufacturer: row.manufacturer,
    model: row.model,
    deviceVersion: row.device_version,
    medium: row.medium,
    status: String(row.status).toUpperCase() as RecordTypes['Device']['status'],
    change,
    firstSeenAt: row.first_seen_at.getTime(),
    lastSeenAt: (row.last_seen_at ?? row.first_seen_at).getTime(),
    batteryPercent: row.battery_percent,
    batteryVolts: row.battery_volts,
    rssiDbm: row.rssi_dbm,
    snrDb: row.snr_db,
    latitudeDeg: row.latitude,
    longitudeDeg: row.longitude,
    firmwareVersion: row.firmware_version,
    updatedAt: row.updated_at.getTime(),
    revision: Number(row.revision),
  };
  await ctx.services.producer.produce(ctx.services.catalogue.devices, [record]);
}

async function visibleDeviceForWrite(client: PoolClient, auth: AuthContext, id: string): Promise<Record<string, unknown>> {
  const params: unknown[] = [id];
  const { rows } = await client.query(`SELECT d.* FROM devices d WHERE d.id = $1 AND ${deviceVisible(auth, 'd', params)} FOR UPDATE`, params);
  if (!rows[0]) throw notFound(`device ${id}`);
  return rows[0];
}

async function reloadDevice(ctx: ApiContext, id: string) {
  const { rows } = await ctx.services.postgres.query(`SELECT ${DEVICE_COLUMNS} FROM devices d WHERE d.id = $1`, [id]);
  return deviceNode(rows[0]!);
}

async function findAlert(ctx: ApiContext, id: string): Promise<RecordTypes['Alert'] | undefined> {
  const response = await ctx.services.elasticsearch.search<RecordTypes['Alert']>(
    { index: ctx.services.indices.alerts, ignore_unavailable: true, allow_no_indices: true, size: 1, query: { bool: { filter: [{ term: { alertId: id } }, { term: { organisationId: ctx.auth.organisationId } }] } } },
    { signal: ctx.signal },
  );
  const alert = response.hits.hits[0]?._source;
  if (!alert) return undefined;
  if (ctx.auth.accessGroupIds !== null && !(await findDevice(ctx.services.postgres, ctx.auth, alert.deviceId))) return undefined;
  return alert;
}

/** The original record of a dead letter, its headers plus where it was re-driven from. */
export function redrivenMessage(dl: RejectDocument): OutgoingMessage {
  const headers: Record<string, Buffer | string> = {};
  for (const [name, value] of Object.entries(dl.originalHeaders ?? {})) headers[name] = Buffer.from(value, 'base64');
  const count = Number(headers[REDRIVE_COUNT_HEADER]?.toString() ?? '0');
  headers[REDRIVEN_FROM_HEADER] = dl.deadLetterId;
  headers[REDRIVE_COUNT_HEADER] = String((Number.isInteger(count) ? count : 0) + 1);
  return {
    key: dl.originalKey === null ? null : Buffer.from(dl.originalKey, 'base64').toString('utf8'),
    value: Buffer.from(dl.originalValue, 'base64'),
    headers,
  };
}

export const mutationResolvers: Resolvers = {
  Mutation: {
    saveSite: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'write');
      const input = args['input'] as Args;
      checkText('input.name', input['name']);
      checkText('input.address', input['address'], 500);
      if (!validTimeZone(String(input['timeZone']))) throw badInput('input.timeZone', 'expected an IANA time zone such as Europe/Minsk');
      for (const [field, limit] of [['latitude', 90], ['longitude', 180]] as const) {
        const v = input[field];
        if (v !== undefined && v !== null && (typeof v !== 'number' || Math.abs(v) > limit)) throw badInput(`input.${field}`, `must be within -${limit}..${limit}`);
      }
      const values = [input['name'], input['address'] ?? null, input['timeZone'], input['latitude'] ?? null, input['longitude'] ?? null];
      const sql = input['id']
        ? `UPDATE sites SET name = $1, address = $2, time_zone = $3, latitude = $4, longitude = $5 WHERE id = $6 AND organisation_id = $7`
        : `INSERT INTO sites (name, address, time_zone, latitude, longitude, id, organisation_id) VALUES ($1, $2, $3, $4, $5, $6, $7)`;
      const id = (input['id'] as string | undefined) ?? newId('site');
      return transaction(ctx, async (client) => {
        const result = await client.query(`${sql} RETURNING id, name, address, time_zone AS "timeZone", latitude, longitude`, [...values, id, ctx.auth.organisationId]);
        if (!result.rows[0]) throw notFound(`site ${id}`);
        return result.rows[0];
      });
    },

    onboardDevice: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'write');
      const input = args['input'] as Args;
      const id = String(input['id']);
      if (!DEVICE_ID.test(id)) throw badInput('input.id', 'expected lorawan:<16 hex>, mbus:<16 hex> or station:<id> (lower-case hex)');
      checkText('input.model', input['model']);
      checkText('input.serialNumber', input['serialNumber'], 64);
      checkText('input.codec', input['codec'], 100);
      checkInt('input.expectedIntervalSeconds', input['expectedIntervalSeconds'], 1, 31 * 86_400);
      const registers = (input['registers'] as Args[] | null | undefined) ?? [];
      registers.forEach((r, i) => checkRegisterInput(`input.registers.${i}`, r, true));
      const [kind, address] = [id.slice(0, id.indexOf(':')), id.slice(id.indexOf(':') + 1)];
      await transaction(ctx, async (client) => {
        await checkSite(client, ctx.auth, 'input.siteId', input['siteId']);
        await checkGroup(client, ctx.auth, 'input.accessGroupId', input['accessGroupId'], true);
        const { rows } = await client.query(
          `INSERT INTO devices (id, organisation_id, site_id, access_group_id, mbus_secondary_address, dev_eui, station_id, model, serial_number, codec, expected_interval_s, status)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active')
           ON CONFLICT (id) DO UPDATE SET organisation_id = $2, site_id = $3, access_group_id = $4,
             model = COALESCE($8, devices.model), serial_number = COALESCE($9, devices.serial_number), codec = COALESCE($10, devices.codec),
             expected_interval_s = COALESCE($11, devices.expected_interval_s), status = 'active', updated_at = now()
           WHERE devices.organisation_id IS NULL OR devices.organisation_id = $2
           RETURNING id`,
          [
            id,
            ctx.auth.organisationId,
            input['siteId'] ?? null,
            input['accessGroupId'] ?? null,
            kind === 'mbus' ? address : null,
            kind === 'lorawan' ? address : null,
            kind === 'station' ? address : null,
            input['model'] ?? null,
            input['serialNumber'] ?? null,
            input['codec'] ?? null,
            input['expectedIntervalSeconds'] ?? null,
          ],
        );
        // Owned by another organisation; said without confirming that it exists.
        if (!rows[0]) throw badInput('input.id', 'this device cannot be onboarded by this organisation');
        for (const register of registers) await upsertRegister(client, id, register);
        await announceDevice(ctx, client, id, 'UPDATED');
      });
      return reloadDevice(ctx, id);
    },

    updateDevice: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'write');
      const id = String(args['id']);
      const input = args['input'] as Args;
      checkText('input.model', input['model']);
      checkText('input.serialNumber', input['serialNumber'], 64);
      checkText('input.codec', input['codec'], 100);
      checkInt('input.expectedIntervalSeconds', input['expectedIntervalSeconds'], 1, 31 * 86_400);
      await transaction(ctx, async (client) => {
        await visibleDeviceForWrite(client, ctx.auth, id);
        if ('siteId' in input) await checkSite(client, ctx.auth, 'input.siteId', input['siteId']);
        if ('accessGroupId' in input) await checkGroup(client, ctx.auth, 'input.accessGroupId', input['accessGroupId'], true);
        const columns: Record<string, string> = {
          siteId: 'site_id',
          accessGroupId: 'access_group_id',
          model: 'model',
          serialNumber: 'serial_number',
          codec: 'codec',
          expectedIntervalSeconds: 'expected_interval_s',
        };
        const sets: string[] = [];
        const params: unknown[] = [id];
        for (const [field, column] of Object.entries(columns)) {
          if (!(field in input)) continue;
          params.push(input[field]);
          sets.push(`${column} = $${params.length}`);
        }
        if (typeof input['status'] === 'string') {
          params.push(input['status'].toLowerCase());
          sets.push(`status = $${params.length}::device_status`);
        }
        if (sets.length > 0) await client.query(`UPDATE devices SET ${sets.join(', ')}, updated_at = now() WHERE id = $1`, params);
        await announceDevice(ctx, client, id, input['status'] === 'RETIRED' ? 'RETIRED' : 'UPDATED');
      });
      return reloadDevice(ctx, id);
    },

    saveRegister: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'write');
      const input = args['input'] as Args;
      checkRegisterInput('input', input, true);
      const deviceId = String(args['deviceId']);
      const row = await transaction(ctx, async (client) => {
        await visibleDeviceForWrite(client, ctx.auth, deviceId);
        const saved = await upsertRegister(client, deviceId, input);
        // Decode's registry cache holds the register's multiplier, digits and resolution: device.v1 clears it.
        await announceDevice(ctx, client, deviceId, 'UPDATED');
        return saved;
      });
      return registerNode(row);
    },

    updateRegister: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'write');
      const input = args['input'] as Args;
      checkRegisterInput('input', input, false);
      const id = String(args['id']);
      if (!(await findRegister(ctx.services.postgres, ctx.auth, id))) throw notFound(`register ${id}`);
      const { assignments, values } = registerChanges(input);
      const row = await transaction(ctx, async (client) => {
        const { rows } = await client.query(
          `UPDATE registers SET ${['id = id', ...assignments].join(', ')} WHERE id = $1 RETURNING *`,
          [id, ...values],
        );
        await announceDevice(ctx, client, String(rows[0]!.device_id), 'UPDATED');
        return rows[0]!;
      });
      return registerNode(row);
    },

    assignBillingAccount: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'write');
      const input = args['input'] as Args;
      checkText('input.accountNumber', input['accountNumber'], 64);
      checkText('input.address', input['address'], 500);
      if (!DATE.test(String(input['validFrom'])) || Number.isNaN(Date.parse(String(input['validFrom'])))) throw badInput('input.validFrom', 'expected a date as YYYY-MM-DD');
      const registerId = String(input['registerId']);
      if (!(await findRegister(ctx.services.postgres, ctx.auth, registerId))) throw notFound(`register ${registerId}`);
      await transaction(ctx, async (client) => {
        const { rows } = await client.query(
          `INSERT INTO billing_accounts (id, organisation_id, account_number, address) VALUES ($1, $2, $3, $4)
           ON CONFLICT (organisation_id, account_number) DO UPDATE SET address = COALESCE(EXCLUDED.address, billing_accounts.address)
           RETURNING id`,
          [newId('acct'), ctx.auth.organisationId, input['accountNumber'], input['address'] ?? null],
        );
        const accountId = rows[0]!.id as string;
        await client.query(
          'UPDATE billing_account_registers SET valid_to = $2::date WHERE register_id = $1 AND valid_to IS NULL AND valid_from < $2::date',
          [registerId, input['validFrom']],
        );
        await client.query(
          `INSERT INTO billing_account_registers (billing_account_id, register_id, valid_from) VALUES ($1, $2, $3::date)
           ON CONFLICT (billing_account_id, register_id, valid_from) DO NOTHING`,
          [accountId, registerId, input['validFrom']],
        );
      });
      return findRegister(ctx.services.postgres, ctx.auth, registerId);
    },

    setDeviceKey: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'write');
      const keyHex = String(args['keyHex']);
      if (!/^[0-9a-fA-F]{32}$/.test(keyHex)) throw badInput('keyHex', 'expected an AES-128 key as 32 hex digits');
      const deviceId = String(args['deviceId']);
      if (!(await findDevice(ctx.services.postgres, ctx.auth, deviceId))) throw notFound(`device ${deviceId}`);
      await storeDeviceKey(ctx.services.postgres, ctx.services.config.deviceKeys.encryptionKey, deviceId, Buffer.from(keyHex, 'hex'));
      return { deviceId, updatedAt: Date.now() };
    },

    replaceMeter: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'write');
      const input = args['input'] as Args;
      const registerId = String(input['registerId']);
      checkText('input.newSerialNumber', input['newSerialNumber'], 64);
      if (!(await findRegister(ctx.services.postgres, ctx.auth, registerId))) throw notFound(`register ${registerId}`);
      const { rows } = await ctx.services.postgres.query(
        `INSERT INTO meter_replacements (id, register_id, replaced_at, old_final_value, new_initial_value, new_serial_number)
         VALUES ($1, $2, $3, $4::numeric, $5::numeric, $6)
         RETURNING id, register_id AS "registerId", replaced_at AS "replacedAt", old_final_value::text AS "oldFinalValue",
                   new_initial_value::text AS "newInitialValue", new_serial_number AS "newSerialNumber"`,
        [newId('repl'), registerId, new Date(input['replacedAt'] as number), input['oldFinalValue'], input['newInitialValue'], input['newSerialNumber'] ?? null],
      ).catch((err: unknown) => Promise.reject(translate(err)));
      return rows[0];
    },

    createAccessGroup: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'admin');
      if (ctx.auth.accessGroupIds !== null) throw forbidden('a token limited to access groups cannot create groups');
      checkText('name', args['name'], 100);
      return transaction(ctx, async (client) => {
        const { rows } = await client.query('INSERT INTO access_groups (id, organisation_id, name) VALUES ($1, $2, $3) RETURNING id, name', [newId('grp'), ctx.auth.organisationId, args['name']]);
        return rows[0];
      });
    },

    renameAccessGroup: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'admin');
      checkText('name', args['name'], 100);
      if (ctx.auth.accessGroupIds !== null && !ctx.auth.accessGroupIds.includes(String(args['id']))) throw notFound(`access group ${String(args['id'])}`);
      return transaction(ctx, async (client) => {
        const { rows } = await client.query('UPDATE access_groups SET name = $3 WHERE id = $1 AND organisation_id = $2 RETURNING id, name', [args['id'], ctx.auth.organisationId, args['name']]);
        if (!rows[0]) throw notFound(`access group ${String(args['id'])}`);
        return rows[0];
      });
    },

    deleteAccessGroup: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'admin');
      if (ctx.auth.accessGroupIds !== null) throw forbidden('a token limited to access groups cannot delete groups');
      return transaction(ctx, async (client) => {
        const { rows } = await client.query('SELECT id FROM access_groups WHERE id = $1 AND organisation_id = $2 FOR UPDATE', [args['id'], ctx.auth.organisationId]);
        if (!rows[0]) throw notFound(`access group ${String(args['id'])}`);
        const used = await client.query('SELECT 1 FROM devices WHERE access_group_id = $1 LIMIT 1', [args['id']]);
        if (used.rowCount) throw badInput('id', 'the access group still holds devices; move them first');
        await client.query('DELETE FROM user_access_groups WHERE access_group_id = $1', [args['id']]);
        await client.query('DELETE FROM access_groups WHERE id = $1', [args['id']]);
        return args['id'];
      });
    },

    createApiToken: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'admin');
      const input = args['input'] as Args;
      checkText('input.name', input['name'], 100);
      const scopes = [...new Set((input['scopes'] as string[]).map((s) => s.toLowerCase()))];
      if (scopes.length === 0) throw badInput('input.scopes', 'name at least one scope');
      const expiresAt = input['expiresAt'] as number | undefined | null;
      if (typeof expiresAt === 'number' && expiresAt <= Date.now()) throw badInput('input.expiresAt', 'must be in the future');
      let groups = (input['accessGroupIds'] as string[] | null | undefined) ?? null;
      if (ctx.auth.accessGroupIds !== null) {
        // A limited token cannot mint a token that sees more than it does.
        if (groups === null) groups = [...ctx.auth.accessGroupIds];
        const outside = groups.filter((g) => !ctx.auth.accessGroupIds!.includes(g));
        if (outside.length > 0 || groups.length === 0) throw badInput('input.accessGroupIds', 'must be a non-empty subset of this token\'s access groups');
      }
      const secret = newSecret();
      const id = newId('tok');
      await transaction(ctx, async (client) => {
        if (groups !== null) {
          const { rowCount } = await client.query('SELECT 1 FROM access_groups WHERE id = ANY($1::text[]) AND organisation_id = $2', [groups, ctx.auth.organisationId]);
          if (rowCount !== new Set(groups).size) throw badInput('input.accessGroupIds', 'names an access group this organisation does not have');
          if (groups.length === 0) throw badInput('input.accessGroupIds', 'omit it for the whole organisation, or name at least one group');
        }
        await client.query(
          'INSERT INTO api_tokens (id, organisation_id, name, secret_sha256, scopes, expires_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)',
          [id, ctx.auth.organisationId, input['name'], secretHash(secret), scopes, expiresAt ? new Date(expiresAt) : null, ctx.auth.tokenId],
        );
        for (const group of new Set(groups ?? [])) {
          await client.query('INSERT INTO api_token_access_groups (token_id, access_group_id) VALUES ($1, $2)', [id, group]);
        }
      });
      const { rows } = await ctx.services.postgres.query(`${TOKEN_SELECT} WHERE t.id = $1`, [id]);
      return { token: tokenNode(rows[0]!), secret };
    },

    revokeApiToken: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'admin');
      const params: unknown[] = [args['id'], ctx.auth.organisationId];
      // A limited token may only revoke tokens confined to its own groups.
      const limited =
        ctx.auth.accessGroupIds === null
          ? ''
          : `AND EXISTS (SELECT 1 FROM api_token_access_groups g WHERE g.token_id = t.id)
             AND NOT EXISTS (SELECT 1 FROM api_token_access_groups g WHERE g.token_id = t.id AND g.access_group_id <> ALL($3::text[]))`;
      if (ctx.auth.accessGroupIds !== null) params.push(ctx.auth.accessGroupIds);
      const { rowCount } = await ctx.services.postgres.query(
        `UPDATE api_tokens t SET revoked_at = COALESCE(revoked_at, now()) WHERE t.id = $1 AND t.organisation_id = $2 ${limited}`,
        params,
      );
      if (!rowCount) throw notFound(`token ${String(args['id'])}`);
      const { rows } = await ctx.services.postgres.query(`${TOKEN_SELECT} WHERE t.id = $1`, [args['id']]);
      return tokenNode(rows[0]!);
    },

    saveEmissionFactor: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'admin');
      const input = args['input'] as Args;
      if (!['gas', 'electricity', 'heat'].includes(String(input['resource']))) throw badInput('input.resource', 'expected gas, electricity or heat');
      checkText('input.region', input['region'], 64);
      checkText('input.unit', input['unit'], 16);
      checkText('input.source', input['source'], 200);
      checkInt('input.scope', input['scope'], 1, 2);
      if (Number(input['kgCo2ePerUnit']) < 0) throw badInput('input.kgCo2ePerUnit', 'must not be negative');
      for (const key of ['validFrom', 'validTo'] as const) {
        const v = input[key];
        if (v !== undefined && v !== null && !DATE.test(String(v))) throw badInput(`input.${key}`, 'expected a date as YYYY-MM-DD');
      }
      if (input['validTo'] && String(input['validTo']) <= String(input['validFrom'])) throw badInput('input.validTo', 'must be after validFrom');
      const values = [input['resource'], input['region'], input['kgCo2ePerUnit'], input['unit'], input['scope'], input['source'], input['validFrom'], input['validTo'] ?? null];
      const row = await transaction(ctx, async (client) => {
        if (input['id']) {
          const { rows } = await client.query(
            `UPDATE emission_factors SET resource = $1, region = $2, kg_co2e_per_unit = $3::numeric, unit = $4, scope = $5, source = $6,
               valid_from = $7::date, valid_to = $8::date WHERE id = $9 AND organisation_id = $10 RETURNING *`,
            [...values, input['id'], ctx.auth.organisationId],
          );
          if (!rows[0]) throw notFound(`emission factor ${String(input['id'])} of this organisation`);
          return rows[0];
        }
        const { rows } = await client.query(
          `INSERT INTO emission_factors (resource, region, kg_co2e_per_unit, unit, scope, source, valid_from, valid_to, id, organisation_id)
           VALUES ($1, $2, $3::numeric, $4, $5, $6, $7::date, $8::date, $9, $10) RETURNING *`,
          [...values, newId('ef'), ctx.auth.organisationId],
        );
        return rows[0];
      });
      return factorNode(row, ctx.auth);
    },

    acknowledgeAlert: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'write');
      const id = String(args['id']);
      checkText('note', args['note'], 1000);
      const alert = await findAlert(ctx, id);
      if (!alert) throw notFound(`alert ${id}`);
      if (alert.state === 'CLEARED') throw badInput('id', 'the alert is cleared; there is nothing to acknowledge');
      const now = Date.now();
      const acknowledged: RecordTypes['Alert'] = {
        ...withAcknowledgement(alert, { acknowledgedAt: now, acknowledgedBy: ctx.auth.tokenId }),
        state: 'ACKNOWLEDGED',
        updatedAt: now,
      };
      await transaction(ctx, async (client) => {
        await client.query(
          `INSERT INTO alert_acknowledgements (alert_id, organisation_id, acknowledged_at, acknowledged_by, note) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (alert_id) DO UPDATE SET acknowledged_at = EXCLUDED.acknowledged_at, acknowledged_by = EXCLUDED.acknowledged_by, note = EXCLUDED.note
           WHERE alert_acknowledgements.organisation_id = EXCLUDED.organisation_id`,
          [id, ctx.auth.organisationId, new Date(now), ctx.auth.tokenId, args['note'] ?? null],
        );
        // Same revision: the indexer keeps its document (the read side merges the acknowledgement);
        // live subscribers see the ACKNOWLEDGED state at once.
        await ctx.services.producer.produce(ctx.services.catalogue.alerts, [acknowledged]);
      });
      return alertNode(acknowledged);
    },

    redriveRejectedInput: async (_root, args: Args, ctx: ApiContext) => {
      requireScope(ctx.auth, 'write');
      const ids = [...new Set(args['ids'] as string[])];
      if (ids.length === 0 || ids.length > 500) throw badInput('ids', 'name 1 to 500 rejects');
      const response = await ctx.services.elasticsearch.search<RejectDocument>(
        { index: ctx.services.indices.rejects, ignore_unavailable: true, allow_no_indices: true, size: ids.length, query: { terms: { deadLetterId: ids } } },
        { signal: ctx.signal },
      );
      const found = new Map(response.hits.hits.flatMap((hit) => (hit._source ? [[hit._source.deadLetterId, hit._source] as const] : [])));
      const params: unknown[] = [[...found.values()].map((d) => d.deviceId ?? '')];
      const { rows } = await ctx.services.postgres.query<{ id: string }>(`SELECT d.id FROM devices d WHERE d.id = ANY($1::text[]) AND ${deviceVisible(ctx.auth, 'd', params)}`, params);
      const visible = new Set(rows.map((r) => r.id));
      const letters: RejectDocument[] = [];
      for (const id of ids) {
        const letter = found.get(id);
        if (!letter || letter.deviceId === null || !visible.has(letter.deviceId)) throw notFound(`rejected input ${id}`);
        if (letter.stage !== REDRIVABLE_STAGE || letter.originalTopic !== ctx.services.catalogue.rawUplinks.name) {
          throw badInput('ids', `${id} was rejected by ${letter.stage}; only uplinks rejected by decoding can be re-driven`);
        }
        letters.push(letter);
      }
      return transaction(ctx, async (client) => {
        const claimed = await client.query<{ dead_letter_id: string }>(
          `INSERT INTO redriven_dead_letters (dead_letter_id, reason_code, device_id, original_topic, original_partition, original_offset)
           SELECT c.id, c.reason_code, c.device_id, c.original_topic, c.original_partition, c.original_offset
             FROM jsonb_to_recordset($1::jsonb) AS c(id text, reason_code text, device_id text, original_topic text, original_partition integer, original_offset bigint)
           ON CONFLICT DO NOTHING RETURNING dead_letter_id`,
          [
            JSON.stringify(
              letters.map((dl) => ({
                id: dl.deadLetterId,
                reason_code: dl.reasonCode,
                device_id: dl.deviceId,
                original_topic: dl.originalTopic,
                original_partition: dl.originalPartition,
                original_offset: dl.originalOffset,
              })),
            ),
          ],
        );
        const claimedIds = new Set(claimed.rows.map((r) => r.dead_letter_id));
        const now = letters.filter((dl) => claimedIds.has(dl.deadLetterId));
        // Committed only after Kafka acknowledged: a failure leaves them unclaimed, to try again.
        if (now.length > 0) await ctx.services.producer.send(ctx.services.catalogue.rawUplinks, now.map(redrivenMessage));
        return { redriven: now.map((dl) => dl.deadLetterId), alreadyRedriven: letters.filter((dl) => !claimedIds.has(dl.deadLetterId)).map((dl) => dl.deadLetterId) };
      });
    },
  },
};

