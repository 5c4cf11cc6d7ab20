/**
 * OMS security mode 5 (security profile A): AES-128-CBC over the first N 16-byte blocks after the
 * transport header, with the meter's own key and no padding.
 *
 * IV = M (2 bytes) + ident (4) + version + device type, as sent (little-endian), then the access
 * number 8 times. Following OMS, the address is the meter's: the long header's for CI 0x72 (which
 * differs from the link layer's when a repeater or radio converter sends for the meter), the link
 * layer's for a short header. The same address is what the key is looked up by.
 *
 * The decrypted data starts with 2F 2F; that check is what tells a right key from a wrong one (or
 * from corrupted data). It is 16 bits: about one wrong key in 65,536 passes it.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { identNumber, type MeterAddress } from './address.js';
import { hex, WmbusSecurityError } from './errors.js';
import type { ConfigurationWord } from './transport-layer.js';

/**
 * A meter's AES-128 key: 16 bytes, or a secret `KeyObject` made from them. A `Uint8Array` is
 * imported once and cached by identity, so hand out the same array for a meter every time and
 * never change its contents; replace it to change the key.
 */
export type MeterKey = Uint8Array | KeyObject;

/**
 * Looks up the key of a meter by its address (use `meter.id` as the key-store key). Called once
 * per encrypted telegram, never for plain ones; returns `undefined` when no key is known.
 */
export type KeyLookup = (meter: MeterAddress) => MeterKey | undefined;

/** What the security layer yields. */
export interface OpenedPayload {
  /** Whether any of the payload was encrypted (and so has been decrypted). */
  readonly encrypted: boolean;
  /** The data records: decrypted ones after the 2F 2F check bytes, then any plain bytes that followed. */
  readonly applicationData: Uint8Array;
}

const BLOCK_LENGTH = 16;
const KEY_LENGTH = 16;
const MAX_BLOCKS = 15;
const IDLE_FILLER = 0x2f;
const MODE_NONE = 0;
const MODE_5 = 5;

// A key store usually hands out the same Uint8Array for a meter every time, so caching by identity
// turns the per-telegram key import into a lookup without holding keys the store has dropped.
const keyObjects = new WeakMap<Uint8Array, KeyObject>();
// Safe to share: createCipheriv/createDecipheriv copy the IV before returning.
const ivScratch = Buffer.alloc(BLOCK_LENGTH);

/**
 * Turns the payload after a short or long header into application data: as is for security mode
 * 0 (or mode 5 with no encrypted blocks), decrypted for mode 5.
 *
 * @param meter the address the IV and the key lookup use (long header's, else link layer's).
 * @throws {WmbusSecurityError} `UNSUPPORTED_SECURITY_MODE`, `BAD_ENCRYPTED_LENGTH`, `KEY_MISSING`,
 *   `BAD_KEY` or `DECRYPTION_FAILED`.
 */
export function openPayload(
  payload: Uint8Array,
  configuration: ConfigurationWord,
  meter: MeterAddress,
  accessNumber: number,
  keyFor: KeyLookup | undefined,
): OpenedPayload {
  const { securityMode, encryptedBlocks } = configuration;
  if (securityMode !== MODE_NONE && securityMode !== MODE_5) {
    throw new WmbusSecurityError(
      'UNSUPPORTED_SECURITY_MODE',
      meter.id,
      `security mode: expected 0 (none) or 5 (AES-128-CBC), got ${securityMode}`,
    );
  }
  if (securityMode === MODE_NONE || encryptedBlocks === 0) return { encrypted: false, applicationData: payload };

  const encryptedLength = encryptedBlocks * BLOCK_LENGTH;
  if (payload.length < encryptedLength) {
    throw new WmbusSecurityError(
      'BAD_ENCRYPTED_LENGTH',
      meter.id,
      `encrypted data: configuration word announces ${encryptedBlocks} blocks (${encryptedLength} bytes), got ${payload.length} bytes`,
    );
  }
  const key = keyFor?.(meter);
  if (key === undefined) {
    throw new WmbusSecurityError('KEY_MISSING', meter.id, `key: telegram is encrypted (mode 5), no key for meter ${meter.id}`);
  }
  const decipher = createDecipheriv('aes-128-cbc', keyObjectOf(key, meter.id), mode5Iv(meter, accessNumber));
  decipher.setAutoPadding(false);
  const plain = decipher.update(payload.subarray(0, encryptedLength));
  if (plain[0] !== IDLE_FILLER || plain[1] !== IDLE_FILLER) {
    throw new WmbusSecurityError(
      'DECRYPTION_FAILED',
      meter.id,
      `decrypted data: expected 0x2f 0x2f first, got ${hex(plain[0]!)} ${hex(plain[1]!)} (wrong key or corrupted telegram)`,
    );
  }
  const records = plain.subarray(2);
  const applicationData =
    payload.length === encryptedLength ? records : Buffer.concat([records, payload.subarray(encryptedLength)]);
  return { encrypted: true, applicationData };
}

/**
 * Encrypts data records as a mode 5 meter does: 2F 2F first, 2F idle fillers up to a whole block,
 * AES-128-CBC with the IV of `meter` and `accessNumber`. Used by `encodeTelegram` and by the fleet
 * simulator.
 *
 * @returns the encrypted bytes and their block count, for the configuration word.
 * @throws {RangeError} when the records need more than 15 blocks.
 * @throws {WmbusSecurityError} `BAD_KEY` when the key is not 16 bytes.
 */
export function encryptMode5(
  records: Uint8Array,
  key: MeterKey,
  meter: MeterAddress,
  accessNumber: number,
): { readonly encrypted: Uint8Array; readonly encryptedBlocks: number } {
  const encryptedBlocks = Math.ceil((records.length + 2) / BLOCK_LENGTH);
  if (encryptedBlocks > MAX_BLOCKS) {
    throw new RangeError(
      `records: mode 5 encrypts at most ${MAX_BLOCKS * BLOCK_LENGTH - 2} bytes, got ${records.length}`,
    );
  }
  const plain = Buffer.alloc(encryptedBlocks * BLOCK_LENGTH, IDLE_FILLER);
  plain.set(records, 2);
  const cipher = createCipheriv('aes-128-cbc', keyObjectOf(key, meter.id), mode5Iv(meter, accessNumber));
  cipher.setAutoPadding(false);
  return { encrypted: cipher.update(plain), encryptedBlocks };
}

function mode5Iv(meter: MeterAddress, accessNumber: number): Buffer {
  ivScratch.writeUInt16LE(meter.manufacturer, 0);
  ivScratch.writeUInt32LE(identNumber(meter.ident), 2);
  ivScratch[6] = meter.version;
  ivScratch[7] = meter.deviceType;
  ivScratch.fill(accessNumber, 8);
  return ivScratch;
}

function keyObjectOf(key: MeterKey, meterId: string): KeyObject {
  if (!(key instanceof Uint8Array)) {
    if (key.type !== 'secret' || key.symmetricKeySize !== KEY_LENGTH) {
      throw new WmbusSecurityError(
        'BAD_KEY',
        meterId,
        `key: expected a 16-byte secret key, got a ${key.type} key of ${key.symmetricKeySize ?? 0} bytes`,
      );
    }
    return key;
  }
  const cached = keyObjects.get(key);
  if (cached !== undefined) return cached;
  if (key.length !== KEY_LENGTH) {
    throw new WmbusSecurityError('BAD_KEY', meterId, `key: expected 16 bytes, got ${key.length}`);
  }
  const keyObject = createSecretKey(key);
  keyObjects.set(key, keyObject);
  return keyObject;
}
