import { describe, expect, it } from 'vitest';
import { crc16 } from './crc.js';
import { WmbusFrameError } from './errors.js';
import { parseConfigurationWord, parseExtendedLinkLayer, parseTransportLayer } from './transport-layer.js';

/** Link header of a CRC-free telegram (L patched by `telegram`): Kamstrup, ident 87654321, v 0x1b, water. */
const LINK = [0x00, 0x44, 0x2d, 0x2c, 0x21, 0x43, 0x65, 0x87, 0x1b, 0x07];

function telegram(...rest: number[]): Uint8Array {
  const bytes = Uint8Array.from([...LINK, ...rest]);
  bytes[0] = bytes.length - 1;
  return bytes;
}

function frameError(run: () => unknown): WmbusFrameError {
  try {
    run();
  } catch (error) {
    if (error instanceof WmbusFrameError) return error;
    throw error;
  }
  throw new Error('expected a WmbusFrameError, nothing was thrown');
}

describe('parseConfigurationWord', () => {
  it('reads security mode from bits 8–12 and the encrypted block count from bits 4–7', () => {
    expect(parseConfigurationWord(0x2520)).toEqual({
      raw: 0x2520,
      securityMode: 5,
      encryptedBlocks: 2,
      bidirectional: false,
      accessibility: false,
      synchronous: true,
      content: 0,
      repeaterAccess: false,
      hopCount: 0,
    });
    expect(parseConfigurationWord(0x1ff0)).toMatchObject({ securityMode: 31, encryptedBlocks: 15, synchronous: false });
  });

  it('reads bidirectional, accessibility, content, repeated access and hop count from their own bits', () => {
    expect(parseConfigurationWord(0x8000)).toMatchObject({ bidirectional: true, accessibility: false });
    expect(parseConfigurationWord(0x4000)).toMatchObject({ bidirectional: false, accessibility: true });
    expect(parseConfigurationWord(0x0508)).toMatchObject({ content: 2, repeaterAccess: false, hopCount: 0 });
    expect(parseConfigurationWord(0x0503)).toMatchObject({ content: 0, repeaterAccess: true, hopCount: 1 });
  });

  it('counts no encrypted blocks in security mode 0, whatever bits 4–7 hold', () => {
    expect(parseConfigurationWord(0x00f0).encryptedBlocks).toBe(0);
  });
});

describe('parseTransportLayer', () => {
  it('reads access number, status and configuration word of a short header (0x7a)', () => {
    const bytes = telegram(0x7a, 0x13, 0x04, 0x10, 0x05, 0x2f, 0x2f);
    expect(parseTransportLayer(bytes, 10)).toEqual({
      transport: {
        kind: 'short',
        ci: 0x7a,
        accessNumber: 0x13,
        status: 0x04,
        configuration: parseConfigurationWord(0x0510),
      },
      payloadOffset: 15,
    });
  });

  it("reads the meter's own address from a long header (0x72), in the header's field order", () => {
    const bytes = telegram(0x72, 0x78, 0x56, 0x34, 0x12, 0x93, 0x15, 0x33, 0x03, 0x2a, 0x00, 0x00, 0x00);
    const { transport, payloadOffset } = parseTransportLayer(bytes, 10);
    expect(transport).toMatchObject({
      kind: 'long',
      meter: { manufacturerCode: 'ELS', ident: '12345678', version: 0x33, deviceType: 0x03, id: '1234567815933303' },
      accessNumber: 0x2a,
    });
    expect(payloadOffset).toBe(23);
  });

  it('passes the bytes after CI 0x78 and 0x79 on with no header', () => {
    expect(parseTransportLayer(telegram(0x78, 0x01), 10)).toEqual({ transport: { kind: 'none', ci: 0x78 }, payloadOffset: 11 });
    expect(parseTransportLayer(telegram(0x79, 0x01), 10)).toEqual({ transport: { kind: 'none', ci: 0x79 }, payloadOffset: 11 });
  });

  it('rejects a CI it does not read, naming the ones it does', () => {
    const error = frameError(() => parseTransportLayer(telegram(0xa2, 0x00), 10));
    expect([error.reason, error.offset, error.message]).toEqual([
      'UNSUPPORTED_CI',
      10,
      'CI field: expected 0x72, 0x78, 0x79 or 0x7a, got 0xa2',
    ]);
  });

  it('calls a header cut short truncated, saying how many bytes it needs', () => {
    const error = frameError(() => parseTransportLayer(telegram(0x72, 0x78, 0x56, 0x34), 10));
    expect([error.reason, error.message]).toEqual([
      'TRUNCATED',
      'truncated: long header needs 12 bytes after the CI at offset 10, got 3',
    ]);
  });
});

describe('parseExtendedLinkLayer', () => {
  it('returns nothing when the CI is not an extended link layer', () => {
    expect(parseExtendedLinkLayer(telegram(0x7a, 0, 0, 0, 0), 10)).toBeUndefined();
  });

  it('reads CC and ACC of ELL I (0x8c) and points at the CI behind it', () => {
    expect(parseExtendedLinkLayer(telegram(0x8c, 0x20, 0x75, 0x78), 10)).toEqual({
      ell: { ci: 0x8c, communicationControl: 0x20, accessNumber: 0x75 },
      next: 13,
    });
  });

  it('reads the session number of ELL II (0x8d) and checks its little-endian payload CRC', () => {
    const payload = [0x78, 0x0c, 0x13, 0x11, 0x22, 0x33, 0x44];
    const crc = crc16(Uint8Array.from(payload));
    const bytes = telegram(0x8d, 0x20, 0x75, 0x45, 0x23, 0x01, 0x00, crc & 0xff, crc >> 8, ...payload);
    expect(parseExtendedLinkLayer(bytes, 10)).toEqual({
      ell: {
        ci: 0x8d,
        communicationControl: 0x20,
        accessNumber: 0x75,
        sessionNumber: 0x00012345,
        encryption: 0,
        payloadCrc: crc,
      },
      next: 19,
    });

    bytes[bytes.length - 1]! ^= 0x01;
    const error = frameError(() => parseExtendedLinkLayer(bytes, 10));
    expect([error.reason, error.offset]).toEqual(['BAD_PAYLOAD_CRC', 17]);
    expect(error.message).toMatch(/^ELL payload CRC: expected 0x[0-9a-f]{4}, got 0x[0-9a-f]{4}$/);
  });

  it('leaves the payload CRC unchecked when SN bits 29–31 say the payload is encrypted', () => {
    const bytes = telegram(0x8d, 0x20, 0x75, 0x00, 0x00, 0x00, 0x20, 0xde, 0xad, 0x99, 0x98);
    expect(parseExtendedLinkLayer(bytes, 10)?.ell).toMatchObject({ encryption: 1, sessionNumber: 0x20000000 });
  });

  it('calls an ELL II without a CI behind it truncated', () => {
    const error = frameError(() => parseExtendedLinkLayer(telegram(0x8d, 0x20, 0x75, 0, 0, 0, 0, 0xff, 0xff), 10));
    expect([error.reason, error.message]).toEqual(['TRUNCATED', 'truncated: expected a CI field at offset 19, got none']);
  });
});
