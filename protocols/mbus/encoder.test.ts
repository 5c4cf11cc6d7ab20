import { describe, expect, it } from 'vitest';
import { bcd, dateTimeF, encodeLongFrame, manufacturerValue } from './encoder.js';
import { decodeFrame, parseTelegram, secondaryAddress } from './index.js';

describe('the long-frame encoder', () => {
  it('writes FLAG codes, BCD and type F dates as the standard defines them', () => {
    expect(manufacturerValue('ACW')).toBe(0x0477);
    expect(bcd(10020387, 8)).toEqual([0x87, 0x03, 0x02, 0x10]);
    expect(dateTimeF(new Date('2026-03-29T07:15:00Z'))).toEqual([15, 7, 29 | (2 << 5), 3 | (3 << 4)]);
    expect(() => bcd(123, 2)).toThrow('does not fit 2 digits');
  });

  it('builds frames the decoder reads back to the same header and values', () => {
    const frame = encodeLongFrame({
      id: 12345678, manufacturer: 'KAM', version: 0x1b, medium: 0x07, accessNumber: 42,
      records: [
        { kind: 'bcd', digits: 8, vif: 0x13, value: 1234567 },
        { kind: 'dateTime', at: new Date('2026-11-21T10:30:00Z') },
      ],
    });
    const telegram = parseTelegram(frame);
    expect(telegram.kind).toBe('long');
    if (telegram.kind !== 'long') return;
    const decoded = decodeFrame(telegram);
    expect(decoded.structure).toBe('variable');
    if (decoded.structure !== 'variable' || decoded.header?.kind !== 'long') return;
    expect(secondaryAddress(decoded.header)).toBe('12345678' + manufacturerValue('KAM').toString(16).toUpperCase().padStart(4, '0') + '1B07');
    expect(decoded.header.accessNumber).toBe(42);
    const [volume, time] = decoded.records;
    expect(volume?.quantity).toBe('volume');
    expect(volume?.value).toMatchObject({ kind: 'number', decimal: '1234.567' });
    expect(time?.value).toMatchObject({ kind: 'date' });
  });
});
