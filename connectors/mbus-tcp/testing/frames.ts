/**
 * Test support: the libmbus fixture frames (`MBUS_FIXTURES_DIR`, or `<repo>/../shared/fixtures/libmbus`;
 * a missing directory fails the test), the device id libmbus's own decode says each belongs to,
 * frame variants and corruptions, and a seeded random source for splitting streams.
 */
import {
  fixtureNames,
  parseHex,
  parseNormXml,
  readFixture,
  requireFixtures,
} from '../../../protocols/mbus/testing/libmbus-fixtures.js';

/** One fixture frame. */
export interface FixtureFrame {
  /** File name without `.hex`. */
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** Every frame of `frames/` or `error-frames/`, sorted by name. */
export function fixtureFrames(folder: 'frames' | 'error-frames' = 'frames'): FixtureFrame[] {
  requireFixtures();
  const frames = fixtureNames(folder).map((name) => ({ name, bytes: parseHex(readFixture(folder, `${name}.hex`)!) }));
  if (frames.length === 0) throw new Error(`no .hex fixtures in ${folder}/`);
  return frames;
}

/** The fixture frame called `name`. */
export function fixtureFrame(name: string, folder: 'frames' | 'error-frames' = 'frames'): Uint8Array {
  requireFixtures();
  const text = readFixture(folder, `${name}.hex`);
  if (text === null) throw new Error(`fixture ${folder}/${name}.hex not found`);
  return parseHex(text);
}

/** Whether a frame is a variable data structure with a long header (CI 0x72 or 0x76). */
export function hasLongHeader(frame: Uint8Array): boolean {
  return frame[1]! > 3 && (frame[6] === 0x72 || frame[6] === 0x76);
}

/** Whether a frame is the fixed data structure (CI 0x73 or 0x77). */
export function isFixedData(frame: Uint8Array): boolean {
  return frame[1]! > 3 && (frame[6] === 0x73 || frame[6] === 0x77);
}

/** Whether the connector can key a frame by its meter: a long header or the fixed data structure. */
export function isKeyed(frame: Uint8Array): boolean {
  return hasLongHeader(frame) || isFixedData(frame);
}

/** The access number of a keyed frame: after the 8 identity bytes of a long header, the 4 of a fixed one. */
export function accessNumberOf(frame: Uint8Array): number {
  return frame[isFixedData(frame) ? FIXED_ACCESS_NUMBER_OFFSET : ACCESS_NUMBER_OFFSET]!;
}

// libmbus's medium names (mbus_data_variable_medium_lookup), without non-ASCII characters.
const LIBMBUS_MEDIA: Readonly<Record<string, number>> = {
  Other: 0x00,
  Oil: 0x01,
  Electricity: 0x02,
  Gas: 0x03,
  'Heat: Outlet': 0x04,
  Steam: 0x05,
  'Warm water (30-90C)': 0x06,
  Water: 0x07,
  'Heat Cost Allocator': 0x08,
  'Heat: Inlet': 0x0c,
  'Heat / Cooling load meter': 0x0d,
  'Bus/System': 0x0e,
  'Cold water': 0x16,
  'Breaker: Electricity': 0x20,
};

// libmbus's names of the fixed structure's media (mbus_data_fixed_medium), as the device type byte
// of the same medium: "Mode 2" (counters MSB first) is the same medium; Reserved is the wildcard.
const LIBMBUS_FIXED_MEDIA: Readonly<Record<string, number>> = {
  Other: 0x00,
  Oil: 0x01,
  Electricity: 0x02,
  Gas: 0x03,
  Heat: 0x04,
  Steam: 0x05,
  'Hot Water': 0x06,
  Water: 0x07,
  'H.C.A.': 0x08,
  Reserved: 0xff,
  'Gas Mode 2': 0x03,
  'Heat Mode 2': 0x04,
  'Hot Water Mode 2': 0x06,
  'Water Mode 2': 0x07,
  'H.C.A. Mode 2': 0x08,
};

/**
 * The device id of a fixture frame as libmbus's reference decode (`.norm.xml`) states its slave:
 * id, manufacturer, version and medium, computed without meterflux code. A fixed-structure slave
 * has no manufacturer or version: the wildcards `ffff` and `ff` stand in for them.
 */
export function libmbusDeviceId(name: string): string {
  const xml = readFixture('frames', `${name}.norm.xml`);
  if (xml === null) throw new Error(`fixture frames/${name}.norm.xml not found`);
  const slave = parseNormXml(xml).slave;
  const hex = (value: number, digits: number) => value.toString(16).padStart(digits, '0');
  if (slave['Manufacturer'] === undefined && slave['Version'] === undefined) {
    const medium = LIBMBUS_FIXED_MEDIA[slave['Medium'] ?? ''];
    if (medium === undefined) throw new Error(`${name}: cannot read fixed-structure slave ${JSON.stringify(slave)}`);
    return `mbus:${(slave['Id'] ?? '').padStart(8, '0')}ffffff${hex(medium, 2)}`.toLowerCase();
  }
  const letters = slave['Manufacturer'] ?? '';
  const manufacturer = [...letters].reduce((code, letter) => (code << 5) | (letter.charCodeAt(0) - 64), 0);
  const mediumName = (slave['Medium'] ?? '').replace(/[^\x20-\x7e]/g, '');
  const medium = LIBMBUS_MEDIA[mediumName];
  if (letters.length !== 3 || medium === undefined) throw new Error(`${name}: cannot read slave ${JSON.stringify(slave)}`);
  return `mbus:${(slave['Id'] ?? '').padStart(8, '0')}${hex(manufacturer, 4)}${hex(Number(slave['Version']), 2)}${hex(medium, 2)}`.toLowerCase();
}

/** A copy of a long frame with `byte` at `offset`, and its checksum made right again. */
export function withByte(frame: Uint8Array, offset: number, byte: number): Uint8Array {
  const copy = Uint8Array.from(frame);
  copy[offset] = byte;
  let sum = 0;
  for (let i = 4; i < copy.length - 2; i++) sum += copy[i]!;
  copy[copy.length - 2] = sum & 0xff;
  return copy;
}

/** Offset of the access number in a long frame with a long header: `68 L L 68 C A CI`, then 8 identity bytes. */
export const ACCESS_NUMBER_OFFSET = 15;
/** Offset of the access number in the fixed data structure: `68 L L 68 C A CI`, then the 4-byte id. */
const FIXED_ACCESS_NUMBER_OFFSET = 11;
const STATUS_OFFSET = 16;

/**
 * Distinct, valid frames: the distinct long-header fixtures with every access number, then every
 * status byte, interleaving meters, like a line of meters read again and again.
 */
export function distinctFrames(count: number): Uint8Array[] {
  const seen = new Set<string>();
  const bases = fixtureFrames()
    .map((f) => f.bytes)
    .filter((bytes) => hasLongHeader(bytes) && !seen.has(hex(bytes)) && seen.add(hex(bytes)));
  if (count > bases.length * 256 * 256) throw new Error(`only ${bases.length * 256 * 256} distinct frames available`);
  return Array.from({ length: count }, (_, i) => {
    const round = Math.floor(i / bases.length);
    const base = bases[i % bases.length]!;
    return withByte(withByte(base, ACCESS_NUMBER_OFFSET, round % 256), STATUS_OFFSET, (base[STATUS_OFFSET]! + Math.floor(round / 256)) % 256);
  });
}

/**
 * One input of every malformed class with the reason the connector must dead-letter it under, each
 * a frame the gateway sent (so each gets a NAK): damaged copies of a real frame, and libmbus frames
 * the connector cannot key.
 */
export function malformedFrames(): Array<readonly [reason: string, bytes: Uint8Array]> {
  const good = fixtureFrame('itron_cyble_m-bus_v1.4_gas');
  const damage = (at: number, byte: number) => Uint8Array.from(good, (b, i) => (i === at ? byte : b));
  return [
    ['MBUS_BAD_CHECKSUM', damage(good.length - 2, 0x9e)],
    ['MBUS_BAD_STOP', damage(good.length - 1, 0x17)],
    ['MBUS_BAD_LENGTH', damage(2, 0x57)],
    ['MBUS_BAD_LENGTH', Uint8Array.of(0x68, 0x02, 0x02, 0x68, 0x08, 0x01, 0x72, 0x16)],
    ['MBUS_TRUNCATED', good.subarray(0, 41)],
    ['MBUS_NOT_VARIABLE_DATA', fixtureFrame('application_busy', 'error-frames')],
    ['MBUS_NOT_VARIABLE_DATA', fixtureFrame('error', 'error-frames')],
    ['MBUS_TOO_SHORT_HEADER', fixtureFrame('too_short_header', 'error-frames')],
    // CI 0x73 with 4 of the 16 bytes of the fixed data structure.
    ['MBUS_TOO_SHORT_HEADER', Uint8Array.of(0x68, 0x07, 0x07, 0x68, 0x08, 0x05, 0x73, 0x78, 0x56, 0x34, 0x12, 0x94, 0x16)],
    // CI 0x7A: a variable data structure with a short header, which carries no secondary address.
    ['MBUS_NO_LONG_HEADER', Uint8Array.of(0x68, 0x07, 0x07, 0x68, 0x08, 0x01, 0x7a, 0x2a, 0x00, 0x00, 0x00, 0xad, 0x16)],
  ];
}

/** A small seeded random source (xorshift32), so a failing split can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
}

/**
 * Noise that can never be read as a telegram: no 0x68, 0x10 or 0xE5 (the start bytes), so a test
 * knows exactly which answers to expect.
 */
export function noise(random: () => number, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => {
    const byte = Math.floor(random() * 256);
    return byte === 0x68 || byte === 0x10 || byte === 0xe5 ? 0x00 : byte;
  });
}

/** `bytes` cut at random boundaries into chunks of 1 to `maxChunk` bytes. */
export function randomChunks(bytes: Uint8Array, random: () => number, maxChunk: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(random() * maxChunk);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
