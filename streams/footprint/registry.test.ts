import { describe, expect, it } from 'vitest';
import { expectedRegisterOf, type RegisterRow } from './registry.js';

const row = (over: Partial<RegisterRow>): RegisterRow => ({
  id: 'mbus:a/energy', register_key: 'energy', unit: 'Wh', medium: 'electricity', billing_day_start_hour: 0, time_zone: 'Europe/Minsk',
  status: 'active', first_seen_ms: Date.parse('2026-02-10T08:00:00Z'), last_seen_ms: Date.parse('2026-04-02T08:00:00Z'), ...over,
});

describe('expectedRegisterOf', () => {
  it('expects a register from the first month that starts after its device was first heard, in the site\'s months', () => {
    expect(expectedRegisterOf(row({}))).toEqual({ registerId: 'mbus:a/energy', scope: 'SCOPE_2', after: '2026-02', through: null });
    // Minsk's March starts at 2026-02-28T21:00Z: heard exactly then, March has a point at its start.
    expect(expectedRegisterOf(row({ first_seen_ms: Date.parse('2026-02-28T21:00:00Z') }))?.after).toBe('2026-02');
    expect(expectedRegisterOf(row({ first_seen_ms: Date.parse('2026-02-28T21:00:00.001Z') }))?.after).toBe('2026-03');
    // UTC without a site, or for a zone this runtime does not know.
    expect(expectedRegisterOf(row({ time_zone: null, first_seen_ms: Date.parse('2026-02-28T21:00:00Z') }))?.after).toBe('2026-02');
    expect(expectedRegisterOf(row({ time_zone: 'Mars/Olympus', first_seen_ms: Date.parse('2026-03-01T00:00:00Z') }))?.after).toBe('2026-02');
  });

  it('starts the months at the register\'s billing-day start hour', () => {
    // A gas day from 10:00 Minsk: March starts at 2026-03-01T07:00Z.
    const gas = row({ medium: 'gas', register_key: 'volume', unit: 'm3', billing_day_start_hour: 10 });
    expect(expectedRegisterOf({ ...gas, first_seen_ms: Date.parse('2026-03-01T06:59:00Z') })).toMatchObject({ scope: 'SCOPE_1', after: '2026-02' });
    expect(expectedRegisterOf({ ...gas, first_seen_ms: Date.parse('2026-03-01T07:00:00.001Z') })?.after).toBe('2026-03');
  });

  it('expects a retired device\'s register in the months that start before it was last heard', () => {
    expect(expectedRegisterOf(row({ status: 'retired' }))?.through).toBe('2026-04');
    expect(expectedRegisterOf(row({ status: 'retired', last_seen_ms: Date.parse('2026-03-31T20:59:00Z') }))?.through).toBe('2026-03');
    expect(expectedRegisterOf(row({ status: 'retired', last_seen_ms: null }))?.through).toBe('2026-02');
  });

  it('applies the counting rules of resources.ts', () => {
    expect(expectedRegisterOf(row({ register_key: 'energy.tariff1' }))).toBeUndefined();
    expect(expectedRegisterOf(row({ medium: 'water', register_key: 'volume', unit: 'm3' }))).toBeUndefined();
    expect(expectedRegisterOf(row({ medium: 'steam' }))).toMatchObject({ scope: 'SCOPE_2' });
  });
});
