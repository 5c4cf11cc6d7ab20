/**
 * Wired M-Bus traffic built from real meters' frames: the libmbus fixture set
 * (`MBUS_FIXTURES_DIR`, else `../shared/fixtures/libmbus`, read at run time and never copied into
 * the repository). Each simulated meter is given one captured frame as its template and sends it
 * as that meter would next time: its own identification number and access number, its counters
 * advanced by what it consumed, its clock at the simulated time, and the checksum made right.
 * Everything else — manufacturer, version, medium, status, stored values, other records,
 * manufacturer data — stays byte for byte as the real meter sent it.
 *
 * A frame can be a template when it is a variable data response with a long header, least
 * significant byte first (CI 0x72), and holds at least one *counter*: a current (instantaneous,
 * storage 0, tariff 0, subunit 0) volume in m³ (VIF 0x10–0x17) for water and gas meters, or energy
 * in Wh (VIF 0x00–0x07) for heat, cooling and electricity meters, coded as BCD or an unsigned
 * integer, without VIFEs.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dateTimeF, decodeFrame, parseTelegram, type LongFrame } from '../../protocols/mbus/index.js';

/** `MBUS_FIXTURES_DIR`, else `<repo>/../shared/fixtures/libmbus`. */
export function defaultFixturesDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env['MBUS_FIXTURES_DIR'] ?? resolve(fileURLToPath(new URL('../../', import.meta.url)), '..', 'shared', 'fixtures', 'libmbus');
}

/** A counter field of a template. */
export interface CounterField {
  /** Offset of the data bytes in the frame. */
  readonly offset: number;
  readonly length: number;
  readonly coding: 'bcd' | 'integer';
  /** The value the real meter sent, in units of its VIF. */
  readonly start: bigint;
  /** One VIF unit is 10^unitExponent of the simulator's register unit (litres, Wh). */
  readonly unitExponent: number;
}

/** A captured frame a simulated meter can send. */
export interface FrameTemplate {
  /** Fixture file name without `.hex`. */
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly manufacturer: string;
  readonly version: number;
  /** Medium byte of the long header. */
  readonly medium: number;
  /** What its counters count. */
  readonly quantity: 'volume' | 'energy';
  readonly counters: readonly CounterField[];
  /** Offsets of current date-and-time fields (type F, VIF 0x6D), set to the simulated time. */
  readonly clocks: readonly number[];
}

const VOLUME_MEDIA = new Set([0x03, 0x06, 0x07, 0x15, 0x16]);
const ENERGY_MEDIA = new Set([0x02, 0x04, 0x0a, 0x0b, 0x0c, 0x0d]);
const IDENT_OFFSET = 7;
const ACCESS_NUMBER_OFFSET = 15;

/**
 * The template a captured frame makes, or undefined when it cannot be one (see the module docs).
 * Pure.
 */
export function templateOf(name: string, bytes: Uint8Array): FrameTemplate | undefined {
  let frame: LongFrame;
  try {
    const telegram = parseTelegram(bytes);
    if (telegram.kind !== 'long' || telegram.ci !== 0x72) return undefined;
    frame = telegram;
  } catch {
    return undefined;
  }
  const medium = bytes[14]!;
  const quantity = VOLUME_MEDIA.has(medium) ? 'volume' : ENERGY_MEDIA.has(medium) ? 'energy' : undefined;
  if (quantity === undefined) return undefined;
  let layer;
  try {
    layer = decodeFrame(frame);
  } catch {
    return undefined;
  }
  if (layer.structure !== 'variable') return undefined;
  const counters: CounterField[] = [];
  const clocks: number[] = [];
  for (const record of layer.records) {
    if (record.function !== 'instantaneous' || record.storageNumber !== 0 || record.tariff !== 0 || record.subunit !== 0) continue;
    const coding = record.dib[0]! & 0x0f;
    const offset = record.offset + record.dib.length + record.vib.length;
    if (coding === 0x04 && record.vib.length === 1 && record.vib[0] === 0x6d) {
      clocks.push(offset);
      continue;
    }
    if (record.vib.length !== 1) continue;
    const vif = record.vib[0]!;
    const base = quantity === 'volume' ? 0x10 : 0x00;
    if (vif < base || vif > base + 7) continue;
    const field = counterField(bytes, offset, coding, vif - base - 3);
    if (field !== undefined) counters.push(field);
  }
  if (counters.length === 0) return undefined;
  const manufacturerCode = bytes[11]! | (bytes[12]! << 8);
  const manufacturer = String.fromCharCode(((manufacturerCode >> 10) & 0x1f) + 64, ((manufacturerCode >> 5) & 0x1f) + 64, (manufacturerCode & 0x1f) + 64);
  return { name, bytes, manufacturer, version: bytes[13]!, medium, quantity, counters, clocks };
}

const BCD_LENGTHS: Readonly<Record<number, number>> = { 0x09: 1, 0x0a: 2, 0x0b: 3, 0x0c: 4, 0x0e: 6 };
const INTEGER_LENGTHS: Readonly<Record<number, number>> = { 0x01: 1, 0x02: 2, 0x03: 3, 0x04: 4, 0x06: 6, 0x07: 8 };

function counterField(bytes: Uint8Array, offset: number, coding: number, unitExponent: number): CounterField | undefined {
  const bcdLength = BCD_LENGTHS[coding];
  if (bcdLength !== undefined) {
    let value = 0n;
    for (let i = bcdLength - 1; i >= 0; i--) {
      const byte = bytes[offset + i]!;
      // A sign nibble or an error code (0xF…) is not a counter to advance.
      if ((byte >> 4) > 9 || (byte & 0x0f) > 9) return undefined;
      value = value * 100n + BigInt((byte >> 4) * 10 + (byte & 0x0f));
    }
    return { offset, length: bcdLength, coding: 'bcd', start: value, unitExponent };
  }
  const intLength = INTEGER_LENGTHS[coding];
  if (intLength === undefined) return undefined;
  let value = 0n;
  for (let i = intLength - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[offset + i]!);
  return { offset, length: intLength, coding: 'integer', start: value, unitExponent };
}

/** The templates among the fixture frames in `dir/frames`, sorted by name; fails naming the directory when it is missing. */
export function loadFrameTemplates(dir: string = defaultFixturesDir()): FrameTemplate[] {
  const frames = join(dir, 'frames');
  if (!existsSync(frames)) throw new Error(`libmbus fixtures not found: looked for ${frames} (set MBUS_FIXTURES_DIR to the directory holding frames/)`);
  const templates: FrameTemplate[] = [];
  for (const file of readdirSync(frames).filter((f) => f.endsWith('.hex')).sort()) {
    const bytes = parseHexBytes(readFileSync(join(frames, file), 'utf8'));
    const template = bytes === undefined ? undefined : templateOf(file.slice(0, -'.hex'.length), bytes);
    if (template !== undefined && !templates.some((t) => Buffer.from(t.bytes).equals(Buffer.from(template.bytes)))) templates.push(template);
  }
  return templates;
}

/** Space-separated hex bytes as the fixtures hold them; undefined when the text is not that. */
function parseHexBytes(text: string): Uint8Array | undefined {
  const tokens = text.trim().split(/\s+/);
  if (!tokens.every((token) => /^[0-9a-fA-F]{2}$/.test(token))) return undefined;
  return Uint8Array.from(tokens, (token) => Number.parseInt(token, 16));
}

/** What a meter's next frame says. */
export interface FrameState {
  /** Identification number, up to 8 decimal digits. */
  readonly id: number;
  readonly accessNumber: number;
  /** How far the meter's register advanced since its template was captured, in litres or Wh. */
  readonly advance: bigint;
  /** Simulated time, epoch ms (the meter's clock shows it to the minute, in UTC). */
  readonly atMs: number;
}

/**
 * The template as the meter sends it now: identification and access number, counters advanced
 * (wrapping at their width, as the real register does), clocks set, checksum recomputed. Pure.
 */
export function realFrame(template: FrameTemplate, state: FrameState): Uint8Array {
  const frame = Uint8Array.from(template.bytes);
  writeBcd(frame, IDENT_OFFSET, 4, BigInt(state.id));
  frame[ACCESS_NUMBER_OFFSET] = state.accessNumber & 0xff;
  for (const counter of template.counters) {
    const steps = counter.unitExponent >= 0 ? state.advance / 10n ** BigInt(counter.unitExponent) : state.advance * 10n ** BigInt(-counter.unitExponent);
    const value = counter.start + steps;
    if (counter.coding === 'bcd') writeBcd(frame, counter.offset, counter.length, value % 10n ** BigInt(counter.length * 2));
    else writeInteger(frame, counter.offset, counter.length, value % (1n << BigInt(counter.length * 8)));
  }
  const clock = dateTimeF(new Date(Math.floor(state.atMs / 60_000) * 60_000));
  for (const offset of template.clocks) frame.set(clock, offset);
  let sum = 0;
  for (let i = 4; i < frame.length - 2; i++) sum += frame[i]!;
  frame[frame.length - 2] = sum & 0xff;
  return frame;
}

function writeBcd(frame: Uint8Array, offset: number, length: number, value: bigint): void {
  let rest = value;
  for (let i = 0; i < length; i++) {
    const pair = Number(rest % 100n);
    frame[offset + i] = ((Math.floor(pair / 10) << 4) | (pair % 10)) & 0xff;
    rest /= 100n;
  }
}

function writeInteger(frame: Uint8Array, offset: number, length: number, value: bigint): void {
  let rest = value;
  for (let i = 0; i < length; i++) {
    frame[offset + i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
}
