/**
 * What the simulated fleet needs in the registry before it sends: an organisation with an ingest
 * token for the HTTP head-end, and the OMS keys of the wireless meters (sealed at rest like any
 * operator-entered key). With `claim` (what `make run` asks for), the organisation also owns every
 * simulated device, placed on sites with coordinates and time zones, and an analyst token is made
 * for the API's explorer and wallboard; without it the other devices register themselves as `new`
 * and unclaimed, as unknown devices do. Idempotent; token secrets are new on every run and never
 * stored.
 */
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { storeDeviceKey } from '../../core/device-keys.js';
import type { SimDevice } from './fleet.js';
import { deviceIdOf, meterDeviceId } from './messages.js';

export const SIM_ORGANISATION = 'org-sim';

/** The site of the simulated meters (stations get a site each, at their own coordinates). */
const METER_SITE = { id: 'site-sim-minsk', name: 'Minsk district heating', timeZone: 'Europe/Minsk', latitude: 53.9, longitude: 27.56 };

/** Token secrets made by {@link bootstrapRegistry}; shown once, stored only as SHA-256. */
export interface SimTokens {
  /** Scope `ingest`, for the simulated HTTP head-end. */
  readonly ingest: string;
  /** Scopes `read` and `write` of the simulated organisation; only when devices were claimed. */
  readonly analyst?: string;
}

async function createToken(db: pg.Client, name: string, scopes: readonly string[]): Promise<string> {
  const secret = `mf_sim_${randomBytes(24).toString('base64url')}`;
  await db.query(
    `INSERT INTO api_tokens (id, organisation_id, name, secret_sha256, scopes) VALUES ($1, $2, $3, $4, $5)`,
    [`tok-sim-${randomBytes(6).toString('hex')}`, SIM_ORGANISATION, name, createHash('sha256').update(secret, 'utf8').digest(), scopes],
  );
  return secret;
}

/** Gives the simulated organisation every device, on its site (stations: a site each at their coordinates). */
async function claimDevices(db: pg.Client, devices: readonly SimDevice[]): Promise<void> {
  const sites = [{ ...METER_SITE }];
  for (const device of devices) {
    if (device.kind !== 'station-mqtt') continue;
    sites.push({ id: `site-sim-${device.stationId}`, name: `GHG station ${device.stationId}`, timeZone: METER_SITE.timeZone,
      latitude: device.latitudeDeg, longitude: device.longitudeDeg });
  }
  for (const site of sites) {
    await db.query(
      `INSERT INTO sites (id, organisation_id, name, time_zone, latitude, longitude) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (id) DO NOTHING`,
      [site.id, SIM_ORGANISATION, site.name, site.timeZone, site.latitude, site.longitude],
    );
  }
  for (const device of devices) {
    const siteId = device.kind === 'station-mqtt' ? `site-sim-${device.stationId}` : METER_SITE.id;
    await db.query(
      `INSERT INTO devices (id, organisation_id, site_id, status) VALUES ($1, $2, $3, 'active')
       ON CONFLICT (id) DO UPDATE SET organisation_id = EXCLUDED.organisation_id, site_id = EXCLUDED.site_id`,
      [deviceIdOf(device), SIM_ORGANISATION, siteId],
    );
  }
}

/** Registers the organisation, fresh tokens and the wireless meters' keys (and with `claim`, the devices). */
export async function bootstrapRegistry(
  databaseUrl: string,
  masterKey: Buffer | undefined,
  devices: readonly SimDevice[],
  options: { readonly claim?: boolean } = {},
): Promise<SimTokens> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query(`INSERT INTO organisations (id, name) VALUES ($1, 'Simulated utility') ON CONFLICT (id) DO NOTHING`, [SIM_ORGANISATION]);
    const ingest = await createToken(db, 'simulator head-end', ['ingest']);
    for (const device of devices) {
      if (device.kind !== 'wmbus-mqtt' || !device.key) continue;
      const deviceId = meterDeviceId(device);
      await db.query(
        `INSERT INTO devices (id, organisation_id, mbus_secondary_address, manufacturer, device_version, medium, codec, status)
         VALUES ($1, $2, $3, $4, $5, $6, 'mbus', 'active') ON CONFLICT (id) DO NOTHING`,
        [deviceId, SIM_ORGANISATION, deviceId.slice('mbus:'.length), device.manufacturer, device.version, String(device.medium)],
      );
      await storeDeviceKey(db, masterKey, deviceId, device.key);
    }
    if (!options.claim) return { ingest };
    await claimDevices(db, devices);
    return { ingest, analyst: await createToken(db, 'make run analyst', ['read', 'write']) };
  } finally {
    await db.end();
  }
}
