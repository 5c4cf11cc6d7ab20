import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { convert, convertExact, quantities, quantityInfo } from './units.js';

/** The rows of the table in UNITS.md: quantity → [canonical unit, cumulative, other units]. */
function documentedTable(): Map<string, [string, boolean, string[]]> {
  const markdown = readFileSync(new URL('UNITS.md', import.meta.url), 'utf8');
  const rows = new Map<string, [string, boolean, string[]]>();
  for (const line of markdown.split('\n').filter((text) => text.startsWith('| `'))) {
    const [quantity, unit, cumulative, others] = line.split('|').slice(1, 5).map((cell) => cell.trim());
    const units = others === '—' ? [] : [...others!.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
    rows.set(quantity!.slice(1, -1), [unit!.slice(1, -1), cumulative === 'yes', units]);
  }
  return rows;
}

describe('canonical units', () => {
  it('are exactly the table in UNITS.md', () => {
    const implemented = new Map(
      [...quantities()].map((info) => [
        info.name,
        [info.unit, info.cumulative, [...info.conversions.keys()].filter((unit) => unit !== info.unit)] as [string, boolean, string[]],
      ]),
    );
    expect(documentedTable()).toEqual(implemented);
  });

  it('accept each quantity\'s canonical unit as it is', () => {
    for (const info of quantities()) expect(convert(info.conversions.get(info.unit)!, 42.5)).toBe(42.5);
  });

  it.each([
    ['energy', 'kWh', 1.5, 1500],
    ['energy', 'GJ', 1, 277_777.777_777_777_8],
    ['energy', 'J', 3600, 1],
    ['volume', 'l', 1234.5, 1.2345],
    ['volume', 'ft3', 100, 2.8316846592],
    ['volume', 'US gal', 1000, 3.785411784],
    ['power', 'J/h', 36_000, 10],
    ['power', 'kW', 2.5, 2500],
    ['volume_flow', 'l/min', 10, 0.6],
    ['volume_flow', 'm3/s', 0.001, 3.6],
    ['temperature', 'K', 293.15, 20],
    ['temperature', 'degF', 212, 100],
    ['temperature_difference', 'degF', 9, 5],
    ['pressure', 'bar', 1.01325, 101_325],
    ['pressure', 'hPa', 1013.25, 101_325],
    ['ch4', 'ppb', 1987, 1.987],
    ['on_time', 'h', 2, 7200],
    ['wind_speed', 'km/h', 36, 10],
  ])('convert %s in %s: %d → %d', (quantity, unit, value, expected) => {
    expect(convert(quantityInfo(quantity)!.conversions.get(unit)!, value)).toBeCloseTo(expected, 9);
  });

  it('keep an exact decimal through powers of ten only', () => {
    const volume = quantityInfo('volume')!;
    expect(convertExact(volume.conversions.get('l')!, '12345678')).toBe('12345.678');
    expect(convertExact(volume.conversions.get('m3')!, '0.069')).toBe('0.069');
    expect(convertExact(volume.conversions.get('ft3')!, '100')).toBeUndefined();
    expect(convertExact(quantityInfo('energy')!.conversions.get('J')!, '3600')).toBeUndefined();
  });

  it('have no entry for a quantity without a canonical unit', () => {
    expect(quantityInfo('noise')).toBeUndefined();
  });
});
