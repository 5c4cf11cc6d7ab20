/**
 * What the simulated fleet needs in the registry before it sends: an organisation with an ingest
 * token for the HTTP head-end, and the OMS keys of the wireless meters (sealed at rest like any
 * operator-entered key). Idempotent; the token secret is new on every run and never stored.
 */
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { storeDeviceKey } from '../../core/device-keys.js';
import type { SimDevice } from './fleet.js';
import { meterDeviceId } from './messages.js';

export const SIM_ORGANISATION = 'org-sim';

/** Registers the organisation, a fresh ingest token and the wireless meters' keys; returns the token secret. */
export async function bootstrapRegistry(databaseUrl: string, masterKey: Buffer | undefined, devices: readonly SimDevice[]): Promise<string> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query(`INSERT INTO organisations (id, name) VALUES ($1, 'Simulated utility') ON CONFLICT (id) DO NOTHING`, [SIM_ORGANISATION]);
    const secret = `mf_sim_${randomBytes(24).toString('base64url')}`;
    await db.query(
      `INSERT INTO api_tokens (id, organisation_id, name, secret_sha256, scopes) VALUES ($1, $2, 'simulator head-end', $3, ARRAY['ingest'])`,
      [`tok-sim-${Date.now()}`, SIM_ORGANISATION, createHash('sha256').update(secret, 'utf8').digest()],
    );
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
    return secret;
  } finally {
    await db.end();
  }
}
