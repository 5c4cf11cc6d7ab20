import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { meterAddress } from './address.js';
import {
  decodeTelegram,
  encodeTelegram,
  encryptMode5,
  WmbusFrameError,
  WmbusSecurityError,
  type DecodeOptions,
  type TelegramSpec,
} from './index.js';

const FIXTURES = new URL('../../test/fixtures/wmbus/', import.meta.url);

interface Fixture {
  readonly options: Pick<DecodeOptions, 'frameFormat' | 'crc'>;
  readonly key: string;
  readonly expected: {
    readonly meterId: string;
    readonly link: object;
    readonly ell?: object;
    readonly transport: object;
    readonly encrypted: boolean;
    readonly applicationData: string;
  };
}

const CASES = readdirSync(FIXTURES)
  .filter((name) => name.endsWith('.json'))
  .map((name) => name.slice(0, -'.json'.length));

function loadCase(name: string): { hex: string; fixture: Fixture } {
  return {
    hex: readFileSync(new URL(`${name}.hex`, FIXTURES), 'utf8').trim(),
    fixture: JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')) as Fixture,
  };
}

const hexOf = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

const N21_KEY = Buffer.from('0102030405060708090A0B0C0D0E0F11', 'hex');
const N21_RECORDS = Buffer.from('0c1427048502046d32371f1502fd170000', 'hex');

const WATER_METER: TelegramSpec = {
  address: { manufacturer: 'KAM', ident: '87654321', version: 0x1b, deviceType: 0x16 },
  accessNumber: 0x5c,
  records: Buffer.from('0413e80300000259c4090c2b000000002f2f', 'hex'),
};

describe('decodeTelegram on the fixtures', () => {
  it('has fixtures to run', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(4);
  });

  it.each(CASES)('decodes %s to the fields and application data its .json states', (name) => {
    const { hex, fixture } = loadCase(name);
    const key = Buffer.from(fixture.key, 'hex');
    const decoded = decodeTelegram(hex, { ...fixture.options, keyFor: () => key });
    const { applicationData, ...fields } = fixture.expected;
    expect(decoded).toMatchObject(fields);
    expect(decoded.ell === undefined).toBe(fixture.expected.ell === undefined);
    expect(hexOf(decoded.applicationData)).toBe(applicationData);
  });

  it('re-encrypts the records of OMS Annex N.2.1 to the published ciphertext', () => {
    const published = Buffer.from(loadCase('oms-n2-1-mode5-short-header').hex, 'hex').subarray(15);
    const { encrypted } = encryptMode5(N21_RECORDS, N21_KEY, meterAddress(0x1593, 0x12345678, 0x33, 0x03), 0x2a);
    expect(hexOf(encrypted)).toBe(hexOf(published));
  });
});

describe('encodeTelegram', () => {
  it('builds a format A telegram with CRCs that decodes back to its records', () => {
    const bytes = encodeTelegram(WATER_METER);
    // L, C M A, CI, short header, records, and the CRCs of 3 blocks.
    expect(bytes.length).toBe(1 + 9 + 1 + 4 + 18 + 2 * 3);
    const decoded = decodeTelegram(bytes);
    expect(decoded).toMatchObject({
      link: { control: 0x44, crcPresent: true, ci: 0x7a, address: { id: '876543212C2D1B16' } },
      transport: { kind: 'short', accessNumber: 0x5c, status: 0, configuration: { securityMode: 0 } },
      encrypted: false,
      meterId: '876543212C2D1B16',
    });
    expect(hexOf(decoded.applicationData)).toBe(hexOf(WATER_METER.records));
  });

  it('encrypts with mode 5 when given a key, and decodes back with the same key', () => {
    const bytes = encodeTelegram({ ...WATER_METER, key: N21_KEY, status: 0x04 });
    const decoded = decodeTelegram(bytes, { keyFor: () => N21_KEY });
    expect(decoded.transport).toMatchObject({ status: 0x04, configuration: { securityMode: 5, encryptedBlocks: 2 } });
    expect(decoded.encrypted).toBe(true);
    expect(hexOf(decoded.applicationData)).toBe(hexOf(WATER_METER.records) + '2f'.repeat(12));
  });

  it("sends a long header with the meter's address when the sender is a repeater", () => {
    const bytes = encodeTelegram({
      ...WATER_METER,
      address: { manufacturer: 'TCH', ident: '11223344', version: 0x01, deviceType: 0x31 },
      meter: WATER_METER.address,
      key: N21_KEY,
    });
    const decoded = decodeTelegram(bytes, { keyFor: (meter) => (meter.id === '876543212C2D1B16' ? N21_KEY : undefined) });
    expect(decoded.link.address.id).toBe('1122334450680131');
    expect(decoded.meterId).toBe('876543212C2D1B16');
    expect(decoded.transport.kind).toBe('long');
  });

  it('leaves the CRCs out when asked, as a CRC-stripping gateway delivers telegrams', () => {
    const bytes = encodeTelegram({ ...WATER_METER, crc: false });
    expect(bytes.length).toBe(bytes[0]! + 1);
    expect(decodeTelegram(bytes).link.crcPresent).toBe(false);
  });

  it('rejects fields out of range, naming them', () => {
    expect(() => encodeTelegram({ ...WATER_METER, accessNumber: 256 })).toThrow(
      new RangeError('accessNumber: expected an integer 0-255, got 256'),
    );
    expect(() => encodeTelegram({ ...WATER_METER, address: { ...WATER_METER.address, ident: '1234567' } })).toThrow(
      new RangeError("address.ident: expected 8 decimal digits, got '1234567'"),
    );
    expect(() => encodeTelegram({ ...WATER_METER, address: { ...WATER_METER.address, manufacturer: 'kam' } })).toThrow(
      new RangeError("address.manufacturer: expected three letters A-Z, got 'kam'"),
    );
    expect(() => encodeTelegram({ ...WATER_METER, records: new Uint8Array(300) })).toThrow(RangeError);
  });
});

describe('decodeTelegram on bad input', () => {
  it('rejects a telegram whose extended link layer is encrypted, naming the encryption', () => {
    const stripped = Uint8Array.from([0x00, 0x44, 0x2d, 0x2c, 0x21, 0x43, 0x65, 0x87, 0x1b, 0x16, 0x8d, 0x20, 0x75, 0, 0, 0, 0x20, 0xaa, 0xbb, 0x99, 0x98]);
    stripped[0] = stripped.length - 1;
    try {
      decodeTelegram(stripped);
      expect.unreachable('an encrypted ELL must not decode');
    } catch (error) {
      expect(error).toBeInstanceOf(WmbusSecurityError);
      expect((error as WmbusSecurityError).reason).toBe('UNSUPPORTED_SECURITY_MODE');
      expect((error as WmbusSecurityError).message).toBe('ELL encryption: expected 0 (none), got 1 (1 is AES-128-CTR)');
    }
  });

  it('hands the data of a compact frame (CI 0x79) on as sent', () => {
    const stripped = Uint8Array.from([0x00, 0x44, 0x2d, 0x2c, 0x21, 0x43, 0x65, 0x87, 0x1b, 0x16, 0x79, 0xc4, 0xd7, 0x88, 0xb0, 0x01]);
    stripped[0] = stripped.length - 1;
    const decoded = decodeTelegram(stripped);
    expect(decoded.transport).toEqual({ kind: 'none', ci: 0x79 });
    expect(hexOf(decoded.applicationData)).toBe('c4d788b001');
  });

  it.each(CASES)('answers every truncation of %s with a typed error, never a crash or a wrong result', (name) => {
    const { hex, fixture } = loadCase(name);
    const bytes = Buffer.from(hex, 'hex');
    const key = Buffer.from(fixture.key, 'hex');
    for (let length = 0; length < bytes.length; length++) {
      let outcome: string;
      try {
        // A format B telegram cut just before its CRC is exactly its CRC-stripped form, which
        // decodes, and must decode to the same data.
        outcome = hexOf(decodeTelegram(bytes.subarray(0, length), { ...fixture.options, keyFor: () => key }).applicationData);
      } catch (error) {
        if (!(error instanceof WmbusFrameError || error instanceof WmbusSecurityError)) throw error;
        outcome = 'typed error';
      }
      expect({ length, outcome }).toEqual({
        length,
        outcome: expect.toBeOneOf(['typed error', fixture.expected.applicationData]),
      });
    }
  });

  it('answers random bytes and random corruptions with a result or a typed error only', () => {
    let seed = 0x2f2f;
    const random = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const valid = [
      encodeTelegram(WATER_METER),
      encodeTelegram({ ...WATER_METER, key: N21_KEY }),
      encodeTelegram({ ...WATER_METER, key: N21_KEY, crc: false }),
    ];
    for (let round = 0; round < 5000; round++) {
      let input: Uint8Array;
      if (round % 2 === 0) {
        input = Uint8Array.from(valid[round % valid.length]!);
        for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--) {
          input[Math.floor(random() * input.length)]! ^= 1 << Math.floor(random() * 8);
        }
      } else {
        input = new Uint8Array(Math.floor(random() * 64));
        for (let i = 0; i < input.length; i++) input[i] = Math.floor(random() * 256);
        if (input.length > 0) input[0] = input.length - 1 - (round % 3 === 0 ? 0 : Math.floor(random() * 4));
        if (input.length > 10) input[10] = [0x72, 0x7a, 0x78, 0x8c, 0x8d][round % 5]!;
      }
      for (const frameFormat of ['A', 'B'] as const) {
        try {
          decodeTelegram(input, { frameFormat, keyFor: () => N21_KEY });
        } catch (error) {
          if (!(error instanceof WmbusFrameError || error instanceof WmbusSecurityError)) throw error;
        }
      }
    }
  });
});
