import { describe, expect, it } from 'vitest';
import { registerNode } from './registry.js';

/** A registers row as PostgreSQL returns it: numerics as text with their full scale. */
const row = {
  id: 'mbus:0000000000000c01/volume',
  device_id: 'mbus:0000000000000c01',
  register_key: 'volume',
  quantity: 'volume',
  unit: 'm3',
  multiplier: '1.000000000000',
  digits: 8,
  resolution: '0.001000000000',
  cumulative: true,
  max_gap_s: null,
  billing_day_start_hour: 0,
  replaced_at: null,
};

describe('register rows', () => {
  it('give the multiplier and the resolution as decimals without trailing zeros', () => {
    expect(registerNode(row)).toMatchObject({ multiplier: '1', digits: 8, resolution: '0.001' });
    expect(registerNode({ ...row, resolution: '1000.000000000000' }).resolution).toBe('1000');
  });

  it('give an unknown resolution as null', () => {
    expect(registerNode({ ...row, resolution: null }).resolution).toBeNull();
  });
});
