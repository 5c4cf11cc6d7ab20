import { describe, expect, it } from 'vitest';
import { optionalNumber, parseJsonObject, requiredInstant, requiredNumber } from './json-fields.js';

describe('requiredInstant', () => {
  const accepted: [string, string][] = [
    ['2026-03-29T07:15:00Z', '2026-03-29T07:15:00.000Z'],
    ['2026-03-29T10:15:00+03:00', '2026-03-29T07:15:00.000Z'],
    ['2026-03-29T07:15:02.318274112+00:00', '2026-03-29T07:15:02.318Z'],
    ['2024-02-29T23:59:59.5-01:00', '2024-03-01T00:59:59.500Z'],
  ];
  for (const [text, iso] of accepted) {
    it(`reads ${text} as ${iso}`, () => {
      expect(new Date(requiredInstant({ time: text }, 'time')).toISOString()).toBe(iso);
    });
  }

  for (const text of ['2026-03-29T07:15:00', '2026-03-29', '2026-03-29 07:15:00Z', '2025-02-29T00:00:00Z', '2026-03-29T24:00:00Z', '1774768500000']) {
    it(`refuses ${text}`, () => {
      expect(() => requiredInstant({ time: text }, 'time')).toThrow(expect.objectContaining({ reason: 'INVALID_FIELD', field: 'time' }));
    });
  }

  it('refuses a number', () => {
    expect(() => requiredInstant({ time: 1774768500000 }, 'time')).toThrow(/got number 1774768500000/);
  });
});

describe('numbers', () => {
  it('reads null as absent for optional fields and as wrong for required ones', () => {
    expect(optionalNumber({ ch4Ppm: null }, 'ch4Ppm')).toBeUndefined();
    expect(() => requiredNumber({ pressurePa: null }, 'pressurePa')).toThrow('pressurePa must be a number, got null');
  });

  it('names the path inside a parent object', () => {
    expect(() => optionalNumber({ rssi: 'strong' }, 'rssi', {}, 'rxInfo.1')).toThrow('rxInfo.1.rssi must be a number, got string "strong"');
  });

  it('refuses fractions where an integer is required and states bounds with their unit', () => {
    expect(() => optionalNumber({ fCnt: 1.5 }, 'fCnt', { integer: true })).toThrow('fCnt must be an integer, got number 1.5');
    expect(() => optionalNumber({ co2Ppm: -1 }, 'co2Ppm', { min: 0, max: 1e6, unit: 'ppm' })).toThrow('co2Ppm must be from 0 to 1000000 ppm, got number -1');
  });

  it('shortens long strings in messages', () => {
    expect(() => requiredNumber({ co2Ppm: 'x'.repeat(100) }, 'co2Ppm')).toThrow(`got string "${'x'.repeat(40)}…"`);
  });
});

describe('parseJsonObject', () => {
  it('reads a UTF-8 JSON object', () => {
    expect(parseJsonObject(Buffer.from('{"stationName":"Мінск"}'))).toEqual({ stationName: 'Мінск' });
  });

  it('refuses JSON that is not an object', () => {
    expect(() => parseJsonObject(Buffer.from('null'))).toThrow('payload must be a JSON object, got null');
    expect(() => parseJsonObject(Buffer.from('"text"'))).toThrow('payload must be a JSON object, got string "text"');
  });
});
