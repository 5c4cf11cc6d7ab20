import { describe, expect, it } from 'vitest';
import { nextFootprint } from './compute.js';
import { chooseFactor, type EmissionFactor } from './factors.js';
import { factorConversion, registerResource } from './resources.js';

const factor = (over: Partial<EmissionFactor>): EmissionFactor => ({
  id: 'f', resource: 'electricity', region: 'BY', kgCo2ePerUnit: '0.4', unit: 'kWh', scope: 2, source: 's',
  validFrom: '2026-01-01', validTo: null, organisationId: null, ...over,
});

describe('chooseFactor', () => {
  const query = { resource: 'electricity', scope: 2 as const, region: 'BY', month: '2026-03', organisationId: 'org-1' };

  it('takes the factor valid on the month\'s first day, both validity ends inclusive', () => {
    const table = { version: 'v', factors: [
      factor({ id: 'old', validFrom: '2025-01-01', validTo: '2026-02-28' }),
      factor({ id: 'now', validFrom: '2026-03-01', validTo: '2026-03-01' }),
      factor({ id: 'later', validFrom: '2026-03-02' }),
    ] };
    expect(chooseFactor(table, query)?.id).toBe('now');
    expect(chooseFactor(table, { ...query, month: '2026-02' })?.id).toBe('old');
  });

  it('prefers the organisation\'s own factor, then the latest valid_from, then the smallest id; never another tenant\'s', () => {
    const table = { version: 'v', factors: [
      factor({ id: 'b', validFrom: '2026-01-01' }),
      factor({ id: 'a', validFrom: '2026-01-01' }),
      factor({ id: 'newer', validFrom: '2026-02-01' }),
      factor({ id: 'theirs', organisationId: 'org-2', validFrom: '2026-03-01' }),
    ] };
    expect(chooseFactor(table, query)?.id).toBe('newer');
    expect(chooseFactor({ version: 'v', factors: table.factors.filter((f) => f.id !== 'newer') }, query)?.id).toBe('a');
    expect(chooseFactor({ version: 'v', factors: [...table.factors, factor({ id: 'mine', organisationId: 'org-1', validFrom: '2025-01-01' })] }, query)?.id).toBe('mine');
  });

  it('matches resource, scope and region exactly', () => {
    const table = { version: 'v', factors: [factor({ id: 'x', region: 'PL' }), factor({ id: 'y', scope: 1 }), factor({ id: 'z', resource: 'heat' })] };
    expect(chooseFactor(table, query)).toBeUndefined();
  });
});

describe('registers that count', () => {
  it.each([
    ['gas', 'volume', 'm3', 'GAS', 'SCOPE_1'],
    ['electricity', 'energy', 'Wh', 'ELECTRICITY', 'SCOPE_2'],
    ['heat', 'energy', 'Wh', 'HEAT', 'SCOPE_2'],
    ['steam', 'energy', 'Wh', 'HEAT', 'SCOPE_2'],
  ])('a %s meter\'s %s register (%s) is %s in %s', (medium, key, unit, resource, scope) => {
    expect(registerResource(medium, key, unit)).toMatchObject({ resource, scope });
  });

  it.each([
    ['water', 'volume', 'm3'],
    ['gas', 'volume.tariff1', 'm3'],
    ['electricity', 'energy.tariff2', 'Wh'],
    ['heat', 'volume', 'm3'],
    [null, 'energy', 'Wh'],
  ])('a %s meter\'s %s register does not count', (medium, key, unit) => {
    expect(registerResource(medium, key, unit)).toBeUndefined();
  });

  it('converts factor units to the canonical unit exactly (1 GJ = 277.7… kWh, so per Wh × 0.0000036)', () => {
    expect(factorConversion('Wh', 'kWh')).toEqual([1n, 1000n]);
    expect(factorConversion('Wh', 'GJ')).toEqual([36n, 10_000_000n]);
    expect(factorConversion('m3', 'kWh')).toBeUndefined();
  });
});

describe('nextFootprint', () => {
  const computed = {
    lines: [], emissionsKgCo2e: '5.000000000', baseStatus: 'FINAL' as const, periodStartAt: 10, periodEndAt: 20, issues: [],
  };

  it('writes revision 1 FINAL, nothing for the same result again, and RESTATED for a change after FINAL', () => {
    const first = nextFootprint('org', '2026-03', 'SCOPE_2', computed, undefined, 1)!;
    expect(first.record).toMatchObject({ revision: 1, status: 'FINAL', emissionsKgCo2e: '5.000000000' });
    expect(nextFootprint('org', '2026-03', 'SCOPE_2', computed, first.mark, 2)).toBeUndefined();
    const changed = nextFootprint('org', '2026-03', 'SCOPE_2', { ...computed, emissionsKgCo2e: '6.000000000' }, first.mark, 3)!;
    expect(changed.record).toMatchObject({ revision: 2, status: 'RESTATED' });
  });

  it('writes an empty record over the last period when the scope\'s last register stopped counting, and nothing when there never was one', () => {
    const first = nextFootprint('org', '2026-03', 'SCOPE_1', computed, undefined, 1)!;
    const empty = nextFootprint('org', '2026-03', 'SCOPE_1', undefined, first.mark, 2)!;
    expect(empty.record).toMatchObject({ revision: 2, status: 'RESTATED', lines: [], emissionsKgCo2e: '0.000000000', periodStartAt: 10, periodEndAt: 20 });
    expect(nextFootprint('org', '2026-03', 'SCOPE_1', undefined, empty.mark, 3)).toBeUndefined();
    expect(nextFootprint('org', '2026-03', 'SCOPE_1', undefined, undefined, 3)).toBeUndefined();
  });
});
