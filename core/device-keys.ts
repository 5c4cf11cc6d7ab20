/**
 * Device AES keys (wireless M-Bus / OMS) at rest: sealed with AES-256-GCM under the master key from
 * `DEVICE_KEY_ENCRYPTION_KEY`, stored in PostgreSQL `device_keys`, bound to their device id (the id
 * is the GCM additional data, so a sealed key copied to another device's row does not open).
 * Keys are write-only from the outside: operators store them, only the decoder opens them.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { ConfigError, DecodeError } from './errors.js';

/** A sealed key as stored. */
export interface SealedKey {
  readonly ciphertext: Buffer;
  readonly nonce: Buffer;
  readonly tag: Buffer;
}

function requireMasterKey(masterKey: Buffer | undefined): Buffer {
  if (masterKey === undefined || masterKey.length !== 32) {
    throw new ConfigError(['DEVICE_KEY_ENCRYPTION_KEY must be set (32 bytes as 64 hex digits or base64) to store or use device keys']);
  }
  return masterKey;
}

/** Seals a 16-byte device key for `deviceId`. */
export function sealDeviceKey(masterKey: Buffer | undefined, deviceId: string, key: Uint8Array): SealedKey {
  if (key.length !== 16) throw new RangeError(`device key: expected 16 bytes (AES-128), got ${key.length}`);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', requireMasterKey(masterKey), nonce);
  cipher.setAAD(Buffer.from(deviceId, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(key), cipher.final()]);
  return { ciphertext, nonce, tag: cipher.getAuthTag() };
}

/**
 * Opens a sealed key. A key sealed under another master key or for another device fails with
 * {@link DecodeError} `DEVICE_KEY_UNREADABLE`.
 */
export function openDeviceKey(masterKey: Buffer | undefined, deviceId: string, sealed: SealedKey): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', requireMasterKey(masterKey), sealed.nonce);
  decipher.setAAD(Buffer.from(deviceId, 'utf8'));
  decipher.setAuthTag(sealed.tag);
  try {
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  } catch (cause) {
    throw new DecodeError('DEVICE_KEY_UNREADABLE', `the stored key of ${deviceId} does not open with DEVICE_KEY_ENCRYPTION_KEY`, { cause });
  }
}

/** Stores (or replaces) a device's key; the device row must exist. */
export async function storeDeviceKey(db: pg.Pool | pg.Client, masterKey: Buffer | undefined, deviceId: string, key: Uint8Array): Promise<void> {
  const sealed = sealDeviceKey(masterKey, deviceId, key);
  await db.query(
    `INSERT INTO device_keys (device_id, key_ciphertext, key_nonce, key_tag, updated_at) VALUES ($1, $2, $3, $4, now())
     ON CONFLICT (device_id) DO UPDATE SET key_ciphertext = $2, key_nonce = $3, key_tag = $4, updated_at = now()`,
    [deviceId, sealed.ciphertext, sealed.nonce, sealed.tag],
  );
}

/** Loads and opens a device's key; `undefined` when none is stored. */
export async function loadDeviceKey(db: pg.Pool | pg.Client, masterKey: Buffer | undefined, deviceId: string): Promise<Buffer | undefined> {
  const { rows } = await db.query<{ key_ciphertext: Buffer; key_nonce: Buffer; key_tag: Buffer }>(
    'SELECT key_ciphertext, key_nonce, key_tag FROM device_keys WHERE device_id = $1',
    [deviceId],
  );
  const row = rows[0];
  if (!row) return undefined;
  return openDeviceKey(masterKey, deviceId, { ciphertext: row.key_ciphertext, nonce: row.key_nonce, tag: row.key_tag });
}
