import { describe, expect, it } from 'vitest';
import { canonicalJson, parseRfc3339 } from './fields.js';

describe('parseRfc3339', () => {
  const cases: Array<[string, string | undefined]> = [
    ['2026-03-29T09:15:00Z', '2026-03-29T09:15:00.000Z'],
    ['2026-03-29t09:15:00z', '2026-03-29T09:15:00.000Z'],
    ['2026-03-29T12:15:00+03:00', '2026-03-29T09:15:00.000Z'],
    ['2026-03-28T23:30:00-09:30', '2026-03-29T09:00:00.000Z'],
    ['2026-03-29T09:15:02.381516+00:00', '2026-03-29T09:15:02.381Z'],
    ['2026-03-29T09:15:02.381516123Z', '2026-03-29T09:15:02.381Z'],
    ['2026-03-29T09:15:02.5Z', '2026-03-29T09:15:02.500Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['2026-02-30T00:00:00Z', undefined],
    ['2025-02-29T00:00:00Z', undefined],
    ['2026-13-01T00:00:00Z', undefined],
    ['2026-03-29T24:00:00Z', undefined],
    ['2026-03-29T09:15:00', undefined],
    ['2026-03-29 09:15:00Z', undefined],
    ['2026-03-29T09:15Z', undefined],
    ['2026-03-29T09:15:00.Z', undefined],
    ['2026-03-29T09:15:00+0300', undefined],
    ['1969-12-31T23:59:59Z', undefined],
    ['', undefined],
  ];
  for (const [text, iso] of cases) {
    it(`reads "${text}" as ${iso ?? 'not a time'}`, () => {
      const epochMs = parseRfc3339(text);
      expect(epochMs === undefined ? undefined : new Date(epochMs).toISOString()).toBe(iso);
    });
  }
});

describe('canonicalJson', () => {
  it('sorts keys at every depth, keeps array order and leaves no whitespace', () => {
    expect(canonicalJson(JSON.parse('{ "b": [3, {"y": 1, "x": 2}], "a": { "d": null, "c": "é" } }')))
      .toBe('{"a":{"c":"é","d":null},"b":[3,{"x":2,"y":1}]}');
  });

  it('writes numbers as ECMAScript prints them, so equal values give equal bytes', () => {
    expect(canonicalJson(JSON.parse('{"n": [1.0, 1e2, 0.10, -0, 1E-7]}'))).toBe('{"n":[1,100,0.1,0,1e-7]}');
  });

  it('orders keys by UTF-16 code units, as RFC 8785 asks', () => {
    expect(canonicalJson({ é: 1, z: 2, Z: 3, '10': 4, '9': 5 })).toBe('{"10":4,"9":5,"Z":3,"z":2,"é":1}');
  });
});
