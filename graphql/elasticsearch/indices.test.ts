import { describe, expect, it } from 'vitest';
import { indexNames, INDEX_TYPES } from './indices.js';

describe('read aliases', () => {
  it('are `{prefix}{type}` for every type the indexing worker writes (streams/index/index-names.ts)', () => {
    expect(INDEX_TYPES).toEqual(['readings', 'devices', 'consumption', 'concentrations', 'footprint', 'alerts', 'rejects']);
    expect(indexNames('it-1.')).toMatchObject({ readings: 'it-1.readings', rejects: 'it-1.rejects' });
    expect(indexNames().alerts).toBe('alerts');
  });
});
