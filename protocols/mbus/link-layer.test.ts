import { describe, expect, it } from 'vitest';

import { MbusFrameError } from './errors.js';
import { parseTelegram, scanTelegram } from './link-layer.js';
import { parseHex } from './testing/libmbus-fixtures.js';

const LONG = '68 1F 1F 68 08 02 72 78 56 34 12 24 40 01 07 55 00 00 00 03 13 15 31 00 DA 02 3B 13 01 8B 60 04 37 18 02 18 16';

function frameError(hex: string): MbusFrameError {
  try {
    parseTelegram(parseHex(hex));
  } catch (error) {
    if (error instanceof MbusFrameError) return error;
    throw error;
  }
  throw new Error('parsed without error');
}

describe('parseTelegram', () => {
  it('parses the single character ack', () => {
    expect(parseTelegram(parseHex('E5'))).toEqual({ kind: 'ack' });
  });

  it('parses a short frame into control and address', () => {
    const bytes = parseHex('10 5B FE 59 16');
    expect(parseTelegram(bytes)).toEqual({ kind: 'short', control: 0x5b, address: 0xfe, bytes });
  });

  it('parses a control frame as a long frame without data', () => {
    const telegram = parseTelegram(parseHex('68 03 03 68 53 FE 51 A2 16'));
    expect(telegram).toMatchObject({ kind: 'control', control: 0x53, address: 0xfe, ci: 0x51 });
    expect(telegram.kind === 'control' && telegram.data.length).toBe(0);
  });

  it('parses a long frame and exposes the data after CI as a view into the frame', () => {
    const bytes = parseHex(LONG);
    const telegram = parseTelegram(bytes);
    expect(telegram).toMatchObject({ kind: 'long', control: 0x08, address: 0x02, ci: 0x72 });
    if (telegram.kind !== 'long') throw new Error('not long');
    expect(telegram.data.length).toBe(0x1f - 3);
    expect(telegram.data[0]).toBe(0x78);
    expect(telegram.data.buffer).toBe(bytes.buffer);
  });

  it.each([
    ['12 34', 'BAD_START', 0, 'start byte: expected 0x68, 0x10 or 0xe5, got 0x12'],
    ['68 1F 1F 67' + LONG.slice(11), 'BAD_START', 3, 'second start byte: expected 0x68, got 0x67'],
    ['68 1F 1E 68' + LONG.slice(11), 'LENGTH_MISMATCH', 2, 'second L field: expected 0x1f, got 0x1e'],
    ['68 02 02 68 08 01 09 16', 'BAD_LENGTH', 1, 'L field: expected at least 0x03, got 0x02'],
    [LONG.slice(0, -5) + '19 16', 'BAD_CHECKSUM', 35, 'checksum: expected 0x18, got 0x19'],
    [LONG.slice(0, -2) + '17', 'BAD_STOP', 36, 'stop byte: expected 0x16, got 0x17'],
    ['10 5B FE 58 16', 'BAD_CHECKSUM', 3, 'checksum: expected 0x59, got 0x58'],
    ['10 5B FE 59 00', 'BAD_STOP', 4, 'stop byte: expected 0x16, got 0x00'],
    [LONG.slice(0, 30), 'TRUNCATED', 10, 'truncated: long frame needs 37 bytes, got 10'],
    ['68', 'TRUNCATED', 1, 'truncated: long frame needs at least 9 bytes, got 1'],
    ['10 5B', 'TRUNCATED', 2, 'truncated: short frame needs 5 bytes, got 2'],
    [LONG + ' E5', 'TRAILING_DATA', 37, 'trailing data: telegram ends after 37 bytes, got 38'],
  ])('rejects %s with %s at offset %i', (hex, reason, offset, message) => {
    const error = frameError(hex);
    expect(error).toMatchObject({ reason, offset, message, retriable: false, name: 'MbusFrameError' });
  });

  it('rejects empty input as truncated', () => {
    expect(() => parseTelegram(new Uint8Array())).toThrow('truncated: no bytes');
  });
});

describe('scanTelegram', () => {
  it('asks for more bytes while a long frame is a valid beginning', () => {
    const bytes = parseHex(LONG);
    for (let end = 1; end < bytes.length; end++) expect(scanTelegram(bytes, 0, end)).toBe(0);
    expect(scanTelegram(bytes, 0, bytes.length)).toBe(bytes.length);
  });

  it('rejects an inconsistent header before the rest of the frame arrives', () => {
    expect(scanTelegram(parseHex('68 1F 1E'), 0, 3)).toBeLessThan(0);
    expect(scanTelegram(parseHex('68 01'), 0, 2)).toBeLessThan(0);
    expect(scanTelegram(parseHex('68 1F 1F 00'), 0, 4)).toBeLessThan(0);
  });

  it('scans from an offset without reading past the end given', () => {
    const bytes = parseHex(`00 ${LONG} 00`);
    expect(scanTelegram(bytes, 1, bytes.length - 1)).toBe(37);
  });
});
