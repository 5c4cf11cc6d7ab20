import { describe, expect, it } from 'vitest';

import { decodeApplicationLayer } from './application-layer.js';
import { decodeStatus, manufacturerLetters, secondaryAddress } from './header.js';
import { decodeFrame, parseTelegram } from './index.js';
import { parseHex } from './testing/libmbus-fixtures.js';

const LONG_HEADER = '78 03 49 11 77 04 0E 16 0A 00 00 00';

describe('decodeApplicationLayer', () => {
  it('reads the long header of CI 0x72', () => {
    const response = decodeApplicationLayer(0x72, parseHex(`${LONG_HEADER} 04 13 31 D4 00 00`));
    expect(response).toMatchObject({
      structure: 'variable',
      ci: 0x72,
      header: {
        kind: 'long',
        id: '11490378',
        manufacturer: 'ACW',
        manufacturerCode: 0x0477,
        version: 14,
        medium: 0x16,
        mediumName: 'Cold water',
        accessNumber: 10,
        status: { raw: 0 },
        signature: 0,
      },
      records: [{ offset: 13, quantity: 'volume', value: { decimal: '54.321' } }],
    });
  });

  it('reads every multi-byte field MSB first for CI 0x76', () => {
    const response = decodeApplicationLayer(0x76, parseHex('11 49 03 78 04 77 0E 16 0A 00 B6 27 04 13 00 00 D4 31 02 6C 1C BF'));
    expect(response).toMatchObject({
      header: { id: '11490378', manufacturer: 'ACW', signature: 0xb627 },
      records: [{ value: { decimal: '54.321' } }, { value: { kind: 'date', date: { iso: '2013-12-31' } } }],
    });
  });

  it('reads the short header of CI 0x7A', () => {
    const response = decodeApplicationLayer(0x7a, parseHex('2A 04 00 00 02 FD 17 00 00'));
    expect(response).toMatchObject({
      header: { kind: 'short', accessNumber: 42, status: { powerLow: true }, signature: 0 },
      records: [{ quantity: 'error-flags' }],
    });
  });

  it('reads records without a header for CI 0x78', () => {
    expect(decodeApplicationLayer(0x78, parseHex('2F 2F 01 FD 17 00'))).toMatchObject({ header: null, records: [{ offset: 3 }] });
  });

  it('reads the fixed data structure of CI 0x73, BCD counters', () => {
    const response = decodeApplicationLayer(0x73, parseHex('93 92 91 90 10 00 05 69 31 65 00 00 69 00 00 00'));
    expect(response).toMatchObject({
      structure: 'fixed',
      header: { id: '90919293', accessNumber: 16, medium: 4, mediumName: 'Heat' },
      counters: [
        { unitCode: 0x05, quantity: 'energy', unit: 'Wh', historic: false, value: { decimal: '6531000' } },
        { unitCode: 0x29, quantity: 'volume', unit: 'm3', historic: false, value: { decimal: '0.069' } },
      ],
    });
  });

  it('reads binary and historic counters of the fixed data structure', () => {
    const response = decodeApplicationLayer(0x73, parseHex('78 56 34 12 0A C0 E9 7E 01 01 00 00 35 01 00 00'));
    expect(response).toMatchObject({
      header: { medium: 7, mediumName: 'Water' },
      counters: [
        { quantity: 'volume', historic: true, value: { decimal: '0.257' } },
        { unitCode: 0x3e, quantity: 'volume', unit: 'm3', historic: true, value: { decimal: '0.309' } },
      ],
    });
  });

  it('answers a slave application error as a report, with code 0 when the telegram has none', () => {
    expect(decodeApplicationLayer(0x70, parseHex('08'))).toMatchObject({
      structure: 'application-error',
      code: 8,
      description: 'application too busy for handling readout request',
    });
    expect(decodeApplicationLayer(0x70, new Uint8Array())).toMatchObject({ code: 0, description: 'unspecified error' });
  });

  it.each([
    [0x72, '78 56 34 12 24', 'TOO_SHORT_HEADER at offset 1: long header needs 12 bytes, 5 left'],
    [0x7a, '01', 'TOO_SHORT_HEADER at offset 1: short header needs 4 bytes, 1 left'],
    [0x73, '78 56 34 12', 'TOO_SHORT_HEADER at offset 1: fixed data structure needs 16 bytes, 4 left'],
    [0x51, '', 'UNSUPPORTED_CI at offset 0: CI 0x51 is not a slave response this decoder handles'],
  ])('rejects CI %i with %s', (ci, hex, message) => {
    expect(() => decodeApplicationLayer(ci, hex === '' ? new Uint8Array() : parseHex(hex))).toThrow(message);
  });

  it('counts offsets from the frame start when decoding a frame', () => {
    const frame = parseTelegram(parseHex('68 08 08 68 08 01 72 78 56 34 12 24 B3 16'));
    if (frame.kind === 'ack' || frame.kind === 'short') throw new Error('not a long frame');
    expect(() => decodeFrame(frame)).toThrow('TOO_SHORT_HEADER at offset 7: long header needs 12 bytes, 5 left');
  });
});

describe('header fields', () => {
  it('decodes the status byte', () => {
    expect(decodeStatus(0x00)).toEqual({ raw: 0, application: 'ok', powerLow: false, permanentError: false, temporaryError: false, manufacturerBits: 0 });
    expect(decodeStatus(0x01).application).toBe('busy');
    expect(decodeStatus(0x02).application).toBe('error');
    expect(decodeStatus(0x03).application).toBe('abnormal');
    expect(decodeStatus(0xfc)).toEqual({ raw: 0xfc, application: 'ok', powerLow: true, permanentError: true, temporaryError: true, manufacturerBits: 7 });
  });

  it('writes manufacturer codes as FLAG letters', () => {
    expect(manufacturerLetters(0x2c2d)).toBe('KAM');
    expect(manufacturerLetters(0x0000)).toBe('@@@');
  });

  it('writes the secondary address as id, manufacturer, version and medium in hex', () => {
    const response = decodeApplicationLayer(0x72, parseHex(LONG_HEADER));
    if (response.structure !== 'variable' || response.header?.kind !== 'long') throw new Error('no long header');
    expect(secondaryAddress(response.header)).toBe('1149037804770E16');
  });

  it('keeps hex digits in an identification number that is not valid BCD', () => {
    const response = decodeApplicationLayer(0x72, parseHex('3E 02 00 05 43 4C 12 02 13 00 00 00'));
    expect(response).toMatchObject({ header: { id: '0500023E', manufacturer: 'SBC' } });
  });
});
