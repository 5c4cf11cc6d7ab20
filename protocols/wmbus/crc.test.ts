import { describe, expect, it } from 'vitest';
import { crc16 } from './crc.js';

/** Bit by bit, straight from the definition: the table-driven version must agree with it. */
function referenceCrc(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      const feedback = ((crc >> 15) ^ (byte >> bit)) & 1;
      crc = (crc << 1) & 0xffff;
      if (feedback) crc ^= 0x3d65;
    }
  }
  return crc ^ 0xffff;
}

describe('crc16 (CRC-16/EN-13757)', () => {
  it('gives the catalogue check value 0xc2b7 for the ASCII digits 1 to 9', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0xc2b7);
  });

  it('leaves the catalogue residue 0xa366 when run over a message followed by its own CRC', () => {
    const message = Buffer.from('123456789');
    const crc = crc16(message);
    expect(crc16(Buffer.concat([message, Buffer.from([crc >> 8, crc & 0xff])])) ^ 0xffff).toBe(0xa366);
  });

  it('gives 0xffff for no bytes, the initial value 0 complemented', () => {
    expect(crc16(new Uint8Array(0))).toBe(0xffff);
  });

  it('matches the bit-by-bit definition on every single byte and on pseudo-random messages', () => {
    for (let byte = 0; byte < 256; byte++) expect(crc16(Uint8Array.of(byte))).toBe(referenceCrc(Uint8Array.of(byte)));
    let seed = 1;
    for (let length = 1; length < 300; length += 7) {
      const message = new Uint8Array(length);
      for (let i = 0; i < length; i++) message[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      expect(crc16(message)).toBe(referenceCrc(message));
    }
  });

  it('covers only bytes from start up to end', () => {
    const framed = Buffer.from('xx123456789yy');
    expect(crc16(framed, 2, 11)).toBe(0xc2b7);
  });
});
