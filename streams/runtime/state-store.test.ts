import { describe, expect, it } from 'vitest';
import { PartitionState } from './state-store.js';

describe('the partition state', () => {
  it('serves staged writes and deletions before the committed values, and commits them in order', () => {
    const state = new PartitionState<number>();
    state.restore('a', 1);
    state.restore('b', 2);
    state.put('b', 20);
    state.delete('a');
    state.put('c', 3);
    expect([state.get('a'), state.get('b'), state.get('c')]).toEqual([undefined, 20, 3]);
    expect(state.changes()).toEqual([['b', 20], ['a', undefined], ['c', 3]]);
    state.commit();
    expect(state.changes()).toEqual([]);
    expect([...state.entries()]).toEqual([['b', 20], ['c', 3]]);
    expect(state.size).toBe(2);
  });

  it('forgets everything staged on rollback, deletions included', () => {
    const state = new PartitionState<string>();
    state.restore('kept', 'v1');
    state.delete('kept');
    state.put('new', 'x');
    state.rollback();
    expect([state.get('kept'), state.get('new')]).toEqual(['v1', undefined]);
    expect(state.changes()).toEqual([]);
  });

  it('reads a key written again after its deletion in the same batch', () => {
    const state = new PartitionState<number>();
    state.restore('k', 1);
    state.delete('k');
    state.put('k', 2);
    expect(state.get('k')).toBe(2);
    expect(state.changes()).toEqual([['k', 2]]);
  });
});
