/**
 * The CRC of EN 13757-4 (CRC-16/EN-13757 in the CRC catalogues): polynomial 0x3d65, initial value
 * 0, not reflected, final XOR 0xffff; sent most significant byte first. The link layer of both frame
 * formats and the extended link layer's payload CRC use it.
 */

const POLYNOMIAL = 0x3d65;

const TABLE = new Uint16Array(256);
for (let byte = 0; byte < 256; byte++) {
  let crc = byte << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ POLYNOMIAL : crc << 1;
  TABLE[byte] = crc;
}

/**
 * CRC of `bytes[start..end)`. Allocates nothing; the caller compares it with the two CRC bytes on
 * the wire.
 */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) ^ TABLE[((crc >>> 8) ^ bytes[i]!) & 0xff]!) & 0xffff;
  return crc ^ 0xffff;
}
