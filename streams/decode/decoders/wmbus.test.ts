import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { BadInputError } from '../../../core/errors.js';
import { encodeTelegram, type TelegramSpec } from '../../../protocols/wmbus/index.js';
import { decodeUplink, type DecodeContext } from './index.js';
import { contextOf, radioOf, rejection, uplinkOf } from './testing/uplinks.js';

const WMBUS_FIXTURES = new URL('../../../test/fixtures/wmbus/', import.meta.url);

/** The OMS Volume 2 Annex N.2.1 gas meter: ELS 12345678, version 0x33, mode 5. */
const OMS_KEY = Buffer.from('0102030405060708090A0B0C0D0E0F11', 'hex');
const OMS_METER = '1234567815933303';

function omsTelegram(name: string): Buffer {
  return Buffer.from(readFileSync(new URL(`${name}.hex`, WMBUS_FIXTURES), 'utf8').trim(), 'hex');
}

const WATER_METER: TelegramSpec = {
  address: { manufacturer: 'KAM', ident: '87654321', version: 0x1b, deviceType: 0x16 },
  accessNumber: 0x5c,
  // volume 1.000 m3 (VIF 0x13, 32-bit), flow temperature 25.00 °C (VIF 0x59), idle fillers
  records: Buffer.from('0413e80300000259c4092f2f', 'hex'),
};
const WATER_KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

function decodeTelegram(telegram: Uint8Array, ctx: Partial<DecodeContext> = {}, frameFormat?: string) {
  const uplink = uplinkOf('WMBUS_TELEGRAM', telegram, {
    deviceId: 'mbus:876543212c2d1b16',
    radio: radioOf(null, -71),
    metadata: frameFormat === undefined ? {} : { frameFormat },
  });
  return decodeUplink(uplink, contextOf(ctx));
}

describe('wireless M-Bus telegrams', () => {
  it.each([
    { name: 'oms-n2-1-mode5-short-header', frameFormat: undefined },
    { name: 'oms-n2-1-format-a-crc', frameFormat: 'A' },
    { name: 'oms-n2-1-format-b-crc', frameFormat: 'B' },
  ])('decrypts $name with the meter\'s key and reads its volume and time', async ({ name, frameFormat }) => {
    const keyFor = vi.fn(() => OMS_KEY);
    const decoded = await decodeTelegram(omsTelegram(name), { keyFor, timeZone: 'Europe/Berlin' }, frameFormat);
    expect(keyFor).toHaveBeenCalledWith(OMS_METER.toLowerCase());
    expect(decoded.values).toEqual([
      {
        quantity: 'volume',
        unit: 'm3',
        value: 28504.27,
        exact: '28504.27',
        resolution: '0.01',
        originalValue: 28504.27,
        originalUnit: 'm3',
        function: 'INSTANTANEOUS',
        storageNumber: 0,
        tariff: 0,
        subunit: 0,
        cumulative: true,
        registerKey: 'volume',
        // 2008-05-31 23:50 on the meter's clock, central European summer time
        observedAt: Date.parse('2008-05-31T21:50:00Z'),
      },
    ]);
    expect(decoded.device).toEqual({ manufacturer: 'ELS', version: 0x33, medium: 'gas', rssiDbm: -71, statusErrors: [] });
    expect(decoded).toMatchObject({ kind: 'readings', warnings: [], decoderVersion: 'wmbus@1.0.0' });
  });

  it('reads a plain telegram without asking for a key, with its status byte', async () => {
    const keyFor = vi.fn(() => undefined);
    const decoded = await decodeTelegram(encodeTelegram({ ...WATER_METER, status: 0x04 }), { keyFor });
    expect(keyFor).not.toHaveBeenCalled();
    expect(decoded.values.map((value) => [value.registerKey, value.value, value.unit])).toEqual([
      ['volume', 1, 'm3'],
      ['flow_temperature', 25, 'degC'],
    ]);
    expect(decoded.device).toMatchObject({ manufacturer: 'KAM', version: 0x1b, medium: 'cold_water', statusErrors: ['POWER_LOW'] });
  });

  it('reads a telegram encrypted with a key it is given', async () => {
    const decoded = await decodeTelegram(encodeTelegram({ ...WATER_METER, key: WATER_KEY }), { keyFor: () => WATER_KEY });
    expect(decoded.values.map((value) => value.registerKey)).toEqual(['volume', 'flow_temperature']);
  });

  it('names the meter, not the repeater, when a long header carries another address', async () => {
    const meter = { manufacturer: 'ELS', ident: '11223344', version: 0x01, deviceType: 0x03 };
    const keyFor = vi.fn(() => WATER_KEY);
    const decoded = await decodeTelegram(encodeTelegram({ ...WATER_METER, meter, key: WATER_KEY }), { keyFor });
    expect(keyFor).toHaveBeenCalledWith('1122334415930103');
    expect(decoded.device).toMatchObject({ manufacturer: 'ELS', version: 1, medium: 'gas' });
    expect(decoded.warnings).toEqual(['telegram of meter 1122334415930103 sent by 876543212c2d1b16 (repeater or radio converter)']);
  });
});

describe('telegrams that cannot be decoded as they are', () => {
  it.each([
    { case: 'no key is stored for the meter', key: undefined, reason: 'KEY_MISSING' },
    { case: 'the stored key is wrong', key: Buffer.from('ffeeddccbbaa99887766554433221100', 'hex'), reason: 'DECRYPTION_FAILED' },
    { case: 'the stored key is not 16 bytes', key: Buffer.from('0102', 'hex'), reason: 'BAD_KEY' },
  ])('rejects an encrypted telegram with $reason when $case, naming the meter', async ({ key, reason }) => {
    const err = await rejection(decodeTelegram(omsTelegram('oms-n2-1-mode5-short-header'), { keyFor: () => key }));
    expect(err).toBeInstanceOf(BadInputError);
    expect(err).toMatchObject({ reason, retriable: false, context: { meterId: OMS_METER.toLowerCase() } });
  });

  it.each([
    {
      case: 'a link-layer CRC does not match',
      telegram: () => {
        const telegram = encodeTelegram(WATER_METER);
        telegram[3] = telegram[3]! ^ 0x01;
        return telegram;
      },
      reason: 'WMBUS_BAD_CRC',
    },
    { case: 'it ends before its L field says', telegram: () => encodeTelegram(WATER_METER).subarray(0, 9), reason: 'WMBUS_TRUNCATED' },
    {
      case: 'it is a compact frame (CI 0x79)',
      telegram: () => {
        const telegram = encodeTelegram({ ...WATER_METER, crc: false });
        telegram[10] = 0x79;
        return telegram;
      },
      reason: 'WMBUS_COMPACT_FRAME',
    },
    {
      case: 'its records are malformed',
      telegram: () => encodeTelegram({ ...WATER_METER, records: Buffer.from('0413e803', 'hex') }),
      reason: 'MBUS_PREMATURE_END_OF_DATA',
    },
  ])('rejects a telegram with $reason when $case', async ({ telegram, reason }) => {
    const err = await rejection(decodeTelegram(telegram()));
    expect(err).toMatchObject({ reason, retriable: false });
  });
});
