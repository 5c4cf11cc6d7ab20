import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { crc16 } from './crc.js';
import { WmbusFrameError } from './errors.js';
import { bytesFromHex, parseLinkLayer } from './link-layer.js';

const FIXTURES = new URL('../../test/fixtures/wmbus/', import.meta.url);
const fixture = (name: string): Uint8Array =>
  Buffer.from(readFileSync(new URL(`${name}.hex`, FIXTURES), 'utf8').trim(), 'hex');

const STRIPPED = fixture('oms-n2-1-mode5-short-header');
const FORMAT_A = fixture('oms-n2-1-format-a-crc');
const FORMAT_B = fixture('oms-n2-1-format-b-crc');

function frameError(run: () => unknown): WmbusFrameError {
  try {
    run();
  } catch (error) {
    if (error instanceof WmbusFrameError) return error;
    throw error;
  }
  throw new Error('expected a WmbusFrameError, nothing was thrown');
}

function flipped(bytes: Uint8Array, at: number, bit: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[at]! ^= 1 << bit;
  return copy;
}

/**
 * Written from EN 13757-4 independently of the parser: L counts everything after it, CRCs
 * included; one CRC closes the first 128 bytes (blocks 1 and 2), a second closes block 3.
 */
function toFormatB(withoutCrcs: Uint8Array): Uint8Array {
  const crcCount = withoutCrcs.length + 2 <= 128 ? 1 : 2;
  const out = new Uint8Array(withoutCrcs.length + 2 * crcCount);
  out.set(withoutCrcs);
  out[0] = out.length - 1;
  const firstEnd = crcCount === 1 ? withoutCrcs.length : 126;
  const appendCrc = (from: number, to: number, at: number) => {
    const crc = crc16(out, from, to);
    out[at] = crc >> 8;
    out[at + 1] = crc & 0xff;
  };
  if (crcCount === 2) out.set(withoutCrcs.subarray(126), 128);
  appendCrc(0, firstEnd, firstEnd);
  if (crcCount === 2) appendCrc(128, out.length - 2, out.length - 2);
  return out;
}

/** A CRC-free telegram of `length` bytes: link header, CI 0x78 and a counting pattern. */
function plainTelegram(length: number): Uint8Array {
  const telegram = new Uint8Array(length);
  telegram.set(STRIPPED.subarray(0, 10));
  telegram[0] = length - 1;
  telegram[10] = 0x78;
  for (let i = 11; i < length; i++) telegram[i] = i & 0xff;
  return telegram;
}

describe('parseLinkLayer', () => {
  it('reads L, C, M, A and CI of a telegram whose CRCs were stripped, returning its bytes as they are', () => {
    const { link, telegram } = parseLinkLayer(STRIPPED);
    expect(link).toEqual({
      lField: 0x2e,
      control: 0x44,
      address: {
        manufacturer: 0x1593,
        manufacturerCode: 'ELS',
        ident: '12345678',
        version: 0x33,
        deviceType: 0x03,
        id: '1234567815933303',
      },
      ci: 0x7a,
      frameFormat: 'A',
      crcPresent: false,
    });
    expect(telegram).toBe(STRIPPED);
  });

  it('checks and removes every CRC of a format A telegram, leaving the same bytes as the stripped form', () => {
    const { link, telegram } = parseLinkLayer(FORMAT_A);
    expect(link.crcPresent).toBe(true);
    expect(Buffer.from(telegram).equals(STRIPPED)).toBe(true);
  });

  it('detects a flipped bit in any byte after L of a format A telegram and names the block it hit', () => {
    // Block 1 is bytes 0–11 with its CRC, each further block 18 bytes.
    const blockOf = (at: number) => (at < 12 ? 1 : 2 + Math.floor((at - 12) / 18));
    for (let at = 1; at < FORMAT_A.length; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const error = frameError(() => parseLinkLayer(flipped(FORMAT_A, at, bit)));
        expect({ at, bit, reason: error.reason, block: error.block }).toEqual({ at, bit, reason: 'BAD_CRC', block: blockOf(at) });
      }
    }
  });

  it('says which CRC failed, what it should have been and what arrived', () => {
    const error = frameError(() => parseLinkLayer(flipped(FORMAT_A, FORMAT_A.length - 1, 0)));
    expect(error.message).toBe('CRC of block 4: expected 0xec8a, got 0xec8b');
    expect(error.offset).toBe(FORMAT_A.length - 2);
  });

  it('checks the single CRC of a format B telegram of up to 128 bytes, which covers blocks 1 and 2', () => {
    expect(Buffer.from(toFormatB(STRIPPED)).equals(FORMAT_B)).toBe(true);
    const { link, telegram } = parseLinkLayer(FORMAT_B, { frameFormat: 'B' });
    expect(link).toMatchObject({ lField: 0x30, frameFormat: 'B', crcPresent: true, ci: 0x7a });
    expect(Buffer.from(telegram.subarray(1)).equals(STRIPPED.subarray(1))).toBe(true);
    for (let at = 1; at < FORMAT_B.length; at++) {
      const error = frameError(() => parseLinkLayer(flipped(FORMAT_B, at, 3), { frameFormat: 'B' }));
      expect({ at, reason: error.reason, block: error.block }).toEqual({ at, reason: 'BAD_CRC', block: 2 });
    }
  });

  it('checks both CRCs of a format B telegram longer than 128 bytes, naming block 2 or block 3', () => {
    const plain = plainTelegram(200);
    const framed = toFormatB(plain);
    expect(framed[0]).toBe(203);
    const { link, telegram } = parseLinkLayer(framed, { frameFormat: 'B' });
    expect(link.crcPresent).toBe(true);
    expect(Buffer.from(telegram.subarray(1)).equals(plain.subarray(1))).toBe(true);
    for (let at = 1; at < framed.length; at++) {
      const error = frameError(() => parseLinkLayer(flipped(framed, at, 7), { frameFormat: 'B' }));
      expect({ at, block: error.block }).toEqual({ at, block: at < 128 ? 2 : 3 });
    }
  });

  it('reads a format B telegram whose CRCs were stripped while L still counts them', () => {
    const short = FORMAT_B.subarray(0, FORMAT_B.length - 2);
    expect(parseLinkLayer(short, { frameFormat: 'B' }).link).toMatchObject({ lField: 0x30, crcPresent: false });
    const long = toFormatB(plainTelegram(200));
    const longStripped = Buffer.concat([long.subarray(0, 126), long.subarray(128, long.length - 2)]);
    const { link, telegram } = parseLinkLayer(longStripped, { frameFormat: 'B', crc: 'stripped' });
    expect(link).toMatchObject({ lField: 203, crcPresent: false });
    expect(telegram.length).toBe(200);
  });

  it('rejects format B L fields 0x80 and 0x81, for which no split into blocks exists', () => {
    for (const l of [0x80, 0x81]) {
      const bytes = plainTelegram(l + 1);
      const error = frameError(() => parseLinkLayer(bytes, { frameFormat: 'B' }));
      expect(error.reason).toBe('BAD_LENGTH');
      expect(error.message).toBe(`L field: expected at most 0x7f or at least 0x82 in format B, got 0x${l.toString(16)}`);
    }
  });

  it('rejects an L field too small to hold C, M, A and CI', () => {
    const error = frameError(() => parseLinkLayer(STRIPPED.subarray(0, 10).map((b, i) => (i === 0 ? 9 : b))));
    expect(error.reason).toBe('BAD_LENGTH');
    expect(error.message).toBe('L field: expected at least 0x0a (C, M, A and CI), got 0x09');
  });

  it('with crc "present", calls a stripped telegram truncated and says which length it expected', () => {
    const error = frameError(() => parseLinkLayer(STRIPPED, { crc: 'present' }));
    expect(error.reason).toBe('TRUNCATED');
    expect(error.message).toBe('truncated: L field 0x2e means 55 bytes (format A with CRCs), got 47');
  });

  it('with crc "stripped", rejects a telegram that still carries its CRCs', () => {
    const error = frameError(() => parseLinkLayer(FORMAT_A, { crc: 'stripped' }));
    expect(error.reason).toBe('BAD_LENGTH');
    expect(error.message).toBe('length: L field 0x2e means 47 bytes (CRCs stripped), got 55');
  });

  it('names both possible lengths when a telegram fits neither', () => {
    const error = frameError(() => parseLinkLayer(FORMAT_A.subarray(0, 52)));
    expect(error.reason).toBe('TRUNCATED');
    expect(error.message).toBe('truncated: L field 0x2e means 55 bytes (format A with CRCs) or 47 bytes (CRCs stripped), got 52');
    expect(error.offset).toBe(52);
  });

  it('rejects bytes after the end of the telegram', () => {
    const error = frameError(() => parseLinkLayer(Buffer.concat([FORMAT_A, Uint8Array.of(0)])));
    expect(error.reason).toBe('BAD_LENGTH');
    expect(error.offset).toBe(55);
  });

  it('calls an empty input truncated', () => {
    expect(frameError(() => parseLinkLayer(new Uint8Array(0))).message).toBe('truncated: no bytes');
  });

  it('accepts the telegram as hex in either case', () => {
    const hex = Buffer.from(STRIPPED).toString('hex');
    expect(parseLinkLayer(hex.toUpperCase()).link.address.id).toBe('1234567815933303');
    expect(parseLinkLayer(hex).link.address.id).toBe('1234567815933303');
  });
});

describe('bytesFromHex', () => {
  it('rejects an odd number of digits', () => {
    const error = frameError(() => bytesFromHex('2e4'));
    expect([error.reason, error.message]).toEqual(['BAD_HEX', 'hex: expected an even number of digits, got 3']);
  });

  it('rejects a character that is not a hex digit, giving its position', () => {
    const error = frameError(() => bytesFromHex('2e 4'));
    expect([error.reason, error.offset, error.message]).toEqual([
      'BAD_HEX',
      2,
      "hex: expected a hex digit at character 2, got ' '",
    ]);
  });
});
