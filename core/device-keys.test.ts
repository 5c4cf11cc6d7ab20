import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, DecodeError } from './errors.js';
import { openDeviceKey, sealDeviceKey } from './device-keys.js';

const master = randomBytes(32);
const key = Uint8Array.from({ length: 16 }, (_, i) => i);

describe('device keys at rest', () => {
  it('seal and open back to the same key, never storing it in the clear', () => {
    const sealed = sealDeviceKey(master, 'mbus:1234567815933303', key);
    expect(sealed.ciphertext.equals(Buffer.from(key))).toBe(false);
    expect(openDeviceKey(master, 'mbus:1234567815933303', sealed)).toEqual(Buffer.from(key));
  });

  it('refuse to open a key sealed for another device or under another master key', () => {
    const sealed = sealDeviceKey(master, 'mbus:aaaa', key);
    expect(() => openDeviceKey(master, 'mbus:bbbb', sealed)).toThrow(DecodeError);
    expect(() => openDeviceKey(randomBytes(32), 'mbus:aaaa', sealed)).toThrow('does not open with DEVICE_KEY_ENCRYPTION_KEY');
  });

  it('need the master key and a 16-byte AES key', () => {
    expect(() => sealDeviceKey(undefined, 'mbus:aaaa', key)).toThrow(ConfigError);
    expect(() => sealDeviceKey(master, 'mbus:aaaa', key.subarray(0, 8))).toThrow('expected 16 bytes');
  });
});
