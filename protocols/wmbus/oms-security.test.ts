import { createCipheriv, createSecretKey } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { meterAddress } from './address.js';
import { WmbusSecurityError } from './errors.js';
import { decodeTelegram } from './index.js';
import { encryptMode5 } from './oms-security.js';

const KEY = Buffer.from('a7c5e1f00b3d29846e1f5a7c3b920d4e', 'hex');
const OTHER_KEY = Buffer.from('a7c5e1f00b3d29846e1f5a7c3b920d4f', 'hex');

// Link layer of a Kamstrup (KAM = 0x2c2d) cold-water meter, ident 87654321, version 0x1b, type 0x16.
const M = [0x2d, 0x2c];
const A = [0x21, 0x43, 0x65, 0x87, 0x1b, 0x16];
const ACCESS = 0x5c;
const RECORDS = Buffer.from('0413e80300000259c4090c2b00000000', 'hex');

/** AES-128-CBC without padding, straight from node:crypto. */
function cbc(key: Uint8Array, iv: Uint8Array, plain: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-128-cbc', key, iv);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(plain), cipher.final()]);
}

/** 2F 2F, the records, then 2F idle fillers up to `blocks` × 16 bytes. */
function plaintext(records: Uint8Array, blocks: number): Buffer {
  const plain = Buffer.alloc(blocks * 16, 0x2f);
  plain.set(records, 2);
  return plain;
}

/** A CRC-free telegram: L, C = SND-NR, then the given fields. */
function telegram(...parts: (number[] | Uint8Array)[]): Buffer {
  const body = Buffer.concat([Uint8Array.of(0x44), ...parts.map((part) => Uint8Array.from(part))]);
  return Buffer.concat([Uint8Array.of(body.length), body]);
}

function securityError(run: () => unknown): WmbusSecurityError {
  try {
    run();
  } catch (error) {
    if (error instanceof WmbusSecurityError) return error;
    throw error;
  }
  throw new Error('expected a WmbusSecurityError, nothing was thrown');
}

describe('OMS security mode 5', () => {
  it('decrypts a short-header telegram whose IV is the link-layer M and A followed by 8 × the access number', () => {
    const iv = Uint8Array.from([...M, ...A, ...Array<number>(8).fill(ACCESS)]);
    const encrypted = cbc(KEY, iv, plaintext(RECORDS, 2));
    const bytes = telegram(M, A, [0x7a, ACCESS, 0x00, 0x20, 0x05], encrypted);

    const decoded = decodeTelegram(bytes, { keyFor: () => KEY });
    expect(decoded.encrypted).toBe(true);
    expect(Buffer.from(decoded.applicationData).toString('hex')).toBe(
      RECORDS.toString('hex') + '2f'.repeat(32 - 2 - RECORDS.length),
    );
  });

  it("takes the IV and the key lookup from a long header's address, not from the repeater in the link layer", () => {
    // The repeater: Techem (TCH = 0x5068), ident 11223344; the meter behind it: KAM, 87654321.
    const repeaterM = [0x68, 0x50];
    const repeaterA = [0x44, 0x33, 0x22, 0x11, 0x01, 0x31];
    const longHeader = [0x72, ...A.slice(0, 4), ...M, ...A.slice(4), ACCESS, 0x00, 0x10, 0x05];
    const meterIv = Uint8Array.from([...M, ...A, ...Array<number>(8).fill(ACCESS)]);
    const keyFor = vi.fn(() => KEY);

    const bytes = telegram(repeaterM, repeaterA, longHeader, cbc(KEY, meterIv, plaintext(RECORDS.subarray(0, 10), 1)));
    const decoded = decodeTelegram(bytes, { keyFor });
    expect(Buffer.from(decoded.applicationData.subarray(0, 10)).equals(RECORDS.subarray(0, 10))).toBe(true);
    expect(decoded.meterId).toBe('876543212C2D1B16');
    expect(keyFor).toHaveBeenCalledExactlyOnceWith(expect.objectContaining({ id: '876543212C2D1B16' }));

    const repeaterIv = Uint8Array.from([...repeaterM, ...repeaterA, ...Array<number>(8).fill(ACCESS)]);
    const wrongIv = telegram(repeaterM, repeaterA, longHeader, cbc(KEY, repeaterIv, plaintext(RECORDS.subarray(0, 10), 1)));
    expect(securityError(() => decodeTelegram(wrongIv, { keyFor })).reason).toBe('DECRYPTION_FAILED');
  });

  it('appends the plain bytes that follow the encrypted blocks', () => {
    const iv = Uint8Array.from([...M, ...A, ...Array<number>(8).fill(ACCESS)]);
    const tail = [0x02, 0xfd, 0x17, 0x00, 0x00];
    const bytes = telegram(M, A, [0x7a, ACCESS, 0x00, 0x10, 0x05], cbc(KEY, iv, plaintext(RECORDS.subarray(0, 6), 1)), tail);
    const { applicationData } = decodeTelegram(bytes, { keyFor: () => KEY });
    expect(Buffer.from(applicationData).toString('hex')).toBe(`${RECORDS.subarray(0, 6).toString('hex')}${'2f'.repeat(8)}02fd170000`);
  });

  it('encrypts records exactly as node:crypto does under the OMS IV, 2F 2F first and 2F fillers after', () => {
    const meter = meterAddress(0x2c2d, 0x87654321, 0x1b, 0x16);
    const iv = Uint8Array.from([...M, ...A, ...Array<number>(8).fill(ACCESS)]);
    const { encrypted, encryptedBlocks } = encryptMode5(RECORDS, KEY, meter, ACCESS);
    expect(encryptedBlocks).toBe(2);
    expect(Buffer.from(encrypted).equals(cbc(KEY, iv, plaintext(RECORDS, 2)))).toBe(true);
  });

  it('fails with DECRYPTION_FAILED, naming the meter, when the key is wrong', () => {
    const iv = Uint8Array.from([...M, ...A, ...Array<number>(8).fill(ACCESS)]);
    const bytes = telegram(M, A, [0x7a, ACCESS, 0x00, 0x20, 0x05], cbc(KEY, iv, plaintext(RECORDS, 2)));
    expect(decodeTelegram(bytes, { keyFor: () => KEY }).encrypted).toBe(true);

    const error = securityError(() => decodeTelegram(bytes, { keyFor: () => OTHER_KEY }));
    expect([error.reason, error.meterId, error.retriable]).toEqual(['DECRYPTION_FAILED', '876543212C2D1B16', false]);
    expect(error.message).toMatch(/^decrypted data: expected 0x2f 0x2f first, got 0x[0-9a-f]{2} 0x[0-9a-f]{2} \(wrong key or corrupted telegram\)$/);
  });

  it('fails with DECRYPTION_FAILED when the first encrypted block is corrupted', () => {
    const iv = Uint8Array.from([...M, ...A, ...Array<number>(8).fill(ACCESS)]);
    const encrypted = cbc(KEY, iv, plaintext(RECORDS, 2));
    encrypted[3]! ^= 0x40;
    const bytes = telegram(M, A, [0x7a, ACCESS, 0x00, 0x20, 0x05], encrypted);
    expect(securityError(() => decodeTelegram(bytes, { keyFor: () => KEY })).reason).toBe('DECRYPTION_FAILED');
  });

  it('fails with KEY_MISSING when there is no key lookup or it knows no key for the meter', () => {
    const bytes = telegram(M, A, [0x7a, ACCESS, 0x00, 0x10, 0x05], Buffer.alloc(16));
    for (const options of [{}, { keyFor: () => undefined }]) {
      const error = securityError(() => decodeTelegram(bytes, options));
      expect([error.reason, error.meterId, error.message]).toEqual([
        'KEY_MISSING',
        '876543212C2D1B16',
        'key: telegram is encrypted (mode 5), no key for meter 876543212C2D1B16',
      ]);
    }
  });

  it('fails with UNSUPPORTED_SECURITY_MODE, saying which mode, before looking up a key', () => {
    const keyFor = vi.fn(() => KEY);
    const bytes = telegram(M, A, [0x7a, ACCESS, 0x00, 0x20, 0x07, 0x00], Buffer.alloc(32));
    const error = securityError(() => decodeTelegram(bytes, { keyFor }));
    expect([error.reason, error.message]).toEqual([
      'UNSUPPORTED_SECURITY_MODE',
      'security mode: expected 0 (none) or 5 (AES-128-CBC), got 7',
    ]);
    expect(keyFor).not.toHaveBeenCalled();
  });

  it('fails with BAD_ENCRYPTED_LENGTH when fewer bytes follow than the announced blocks', () => {
    const bytes = telegram(M, A, [0x7a, ACCESS, 0x00, 0x30, 0x05], Buffer.alloc(40));
    const error = securityError(() => decodeTelegram(bytes, { keyFor: () => KEY }));
    expect([error.reason, error.message]).toEqual([
      'BAD_ENCRYPTED_LENGTH',
      'encrypted data: configuration word announces 3 blocks (48 bytes), got 40 bytes',
    ]);
  });

  it('fails with BAD_KEY when the key is not 16 bytes', () => {
    const bytes = telegram(M, A, [0x7a, ACCESS, 0x00, 0x10, 0x05], Buffer.alloc(16));
    const short = securityError(() => decodeTelegram(bytes, { keyFor: () => KEY.subarray(0, 15) }));
    expect([short.reason, short.message]).toEqual(['BAD_KEY', 'key: expected 16 bytes, got 15']);
    const long = securityError(() => decodeTelegram(bytes, { keyFor: () => createSecretKey(Buffer.alloc(32)) }));
    expect([long.reason, long.message]).toEqual(['BAD_KEY', 'key: expected a 16-byte secret key, got a secret key of 32 bytes']);
  });

  it('accepts the key as a KeyObject', () => {
    const iv = Uint8Array.from([...M, ...A, ...Array<number>(8).fill(ACCESS)]);
    const bytes = telegram(M, A, [0x7a, ACCESS, 0x00, 0x20, 0x05], cbc(KEY, iv, plaintext(RECORDS, 2)));
    expect(decodeTelegram(bytes, { keyFor: () => createSecretKey(KEY) }).encrypted).toBe(true);
  });

  it('uses whichever key array the lookup returns now, not one cached for the meter earlier', () => {
    const iv = Uint8Array.from([...M, ...A, ...Array<number>(8).fill(ACCESS)]);
    const bytes = telegram(M, A, [0x7a, ACCESS, 0x00, 0x20, 0x05], cbc(KEY, iv, plaintext(RECORDS, 2)));
    for (let i = 0; i < 3; i++) expect(decodeTelegram(bytes, { keyFor: () => KEY }).encrypted).toBe(true);
    expect(securityError(() => decodeTelegram(bytes, { keyFor: () => OTHER_KEY })).reason).toBe('DECRYPTION_FAILED');
    expect(decodeTelegram(bytes, { keyFor: () => Buffer.from(KEY) }).encrypted).toBe(true);
  });

  it('treats mode 5 with no encrypted blocks, and mode 0, as plain, without asking for a key', () => {
    const keyFor = vi.fn(() => KEY);
    for (const configuration of [[0x00, 0x05], [0x00, 0x00]]) {
      const decoded = decodeTelegram(telegram(M, A, [0x7a, ACCESS, 0x00, ...configuration], RECORDS), { keyFor });
      expect(decoded.encrypted).toBe(false);
      expect(Buffer.from(decoded.applicationData).equals(RECORDS)).toBe(true);
    }
    expect(keyFor).not.toHaveBeenCalled();
  });
});
