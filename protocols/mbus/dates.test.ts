import { describe, expect, it } from 'vitest';

import { decodeDateTime } from './dates.js';
import { parseHex } from './testing/libmbus-fixtures.js';

function decode(hex: string, msbFirst = false) {
  const bytes = parseHex(hex);
  return decodeDateTime(bytes, 0, bytes.length, msbFirst);
}

describe('decodeDateTime', () => {
  it('decodes type G (date)', () => {
    expect(decode('BF 1C')).toEqual({
      type: 'G',
      year: 2013,
      month: 12,
      day: 31,
      hour: null,
      minute: null,
      second: null,
      invalid: null,
      summerTime: null,
      iso: '2013-12-31',
    });
  });

  it('decodes type F (date and time) with its flags', () => {
    expect(decode('0B 0B CD 13')).toMatchObject({ type: 'F', year: 2014, month: 3, day: 13, hour: 11, minute: 11, invalid: false, summerTime: false, iso: '2014-03-13T11:11' });
    expect(decode('0B 8B CD 13')).toMatchObject({ summerTime: true, iso: '2014-03-13T11:11' });
  });

  it('gives no ISO text when the IV flag marks the time invalid', () => {
    expect(decode('A1 15 E9 17')).toMatchObject({ year: 2015, month: 7, day: 9, hour: 21, minute: 33, invalid: true, iso: null });
  });

  it('decodes type I (date and time with seconds)', () => {
    expect(decode('05 00 08 16 27 00')).toMatchObject({ type: 'I', year: 2016, month: 7, day: 22, hour: 8, minute: 0, second: 5, iso: '2016-07-22T08:00:05' });
  });

  it('decodes type J (time of day)', () => {
    expect(decode('05 1E 17')).toMatchObject({ type: 'J', year: null, hour: 23, minute: 30, second: 5, iso: '23:30:05' });
  });

  it('puts years 0–80 in the 2000s and 81–99 in the 1900s', () => {
    expect(decode('01 A1')).toMatchObject({ year: 2080 });
    expect(decode('21 A1')).toMatchObject({ year: 1981 });
  });

  it('uses the century bits of type F when a meter sends them', () => {
    expect(decode('00 20 21 A1')).toMatchObject({ year: 2081, iso: '2081-01-01T00:00' });
  });

  it('keeps impossible fields as sent but gives no ISO text', () => {
    expect(decode('00 00')).toMatchObject({ year: 2000, month: 0, day: 0, iso: null });
    expect(decode('00 00 E1 F1')).toMatchObject({ year: 2027, month: 1, day: 1, iso: null });
    expect(decode('3E 02')).toMatchObject({ month: 2, day: 30, iso: null });
    expect(decode('00 18 01 01')).toMatchObject({ hour: 24, iso: null });
  });

  it('reads MSB first when asked', () => {
    expect(decode('13 CD 0B 0B', true)).toMatchObject({ iso: '2014-03-13T11:11' });
  });

  it('has no date type for other lengths', () => {
    expect(decode('00 00 00 00 00')).toBeNull();
  });
});
