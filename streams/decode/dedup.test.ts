import { describe, expect, it } from 'vitest';
import { dayOf, hashIdempotencyKey, isDuplicate, remember } from './dedup.js';
import { seenKey, type DecodeState } from './state.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-29T07:00:00Z');

/** The runner's state as a plain map (our own interface). */
function store(): Map<string, DecodeState> & { put(key: string, value: DecodeState): void } {
  const map = new Map<string, DecodeState>() as Map<string, DecodeState> & { put(key: string, value: DecodeState): void };
  map.put = (key, value) => void map.set(key, value);
  return map;
}

describe('duplicate suppression by idempotency key', () => {
  it('hashes keys to 16 url-safe characters, the same for the same key', () => {
    expect(hashIdempotencyKey('lns-dedup-1')).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(hashIdempotencyKey('lns-dedup-1')).toBe(hashIdempotencyKey('lns-dedup-1'));
    expect(hashIdempotencyKey('lns-dedup-2')).not.toBe(hashIdempotencyKey('lns-dedup-1'));
  });

  it('finds a key remembered earlier, and only for the same device', () => {
    const state = store();
    const days = remember(state, 'dev-a', {}, 'k1', T0);
    expect(isDuplicate(state, 'dev-a', days, 'k1', T0 + 1000)).toBe(true);
    expect(isDuplicate(state, 'dev-a', days, 'k2', T0 + 1000)).toBe(false);
    expect(isDuplicate(state, 'dev-b', days, 'k1', T0 + 1000)).toBe(false);
  });

  it('keeps one state value per day of receipt, so a batch rewrites only the current day', () => {
    const state = store();
    let days = remember(state, 'dev', {}, 'k1', T0);
    days = remember(state, 'dev', days, 'k2', T0 + DAY);
    expect(days).toEqual({ [dayOf(T0)]: 1, [dayOf(T0) + 1]: 1 });
    expect(state.get(seenKey('dev', dayOf(T0) + 1))).toEqual({ t: 'seen', keys: ['k2'] });
  });

  it('remembers a key for 7 whole days after its day, and forgets it after that', () => {
    const state = store();
    let days = remember(state, 'dev', {}, 'old', T0);
    expect(isDuplicate(state, 'dev', days, 'old', T0 + 7 * DAY)).toBe(true);
    expect(isDuplicate(state, 'dev', days, 'old', T0 + 8 * DAY)).toBe(false);
    days = remember(state, 'dev', days, 'new', T0 + 8 * DAY);
    expect(Object.keys(days)).toEqual([String(dayOf(T0) + 8)]);
    expect(state.has(seenKey('dev', dayOf(T0)))).toBe(false);
  });

  it('keeps at most maxKeys keys per device, dropping the oldest days first', () => {
    const state = store();
    let days: Record<string, number> = {};
    for (let day = 0; day < 3; day++) for (let i = 0; i < 3; i++) days = remember(state, 'dev', days, `k${day}.${i}`, T0 + day * DAY, { maxKeys: 5 });
    expect(Object.values(days).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(5);
    expect(isDuplicate(state, 'dev', days, 'k0.0', T0 + 2 * DAY)).toBe(false);
    expect(isDuplicate(state, 'dev', days, 'k2.2', T0 + 2 * DAY)).toBe(true);
  });

  it('trims the current day itself when it alone exceeds maxKeys', () => {
    const state = store();
    let days: Record<string, number> = {};
    for (let i = 0; i < 4; i++) days = remember(state, 'dev', days, `k${i}`, T0 + i, { maxKeys: 3 });
    expect(state.get(seenKey('dev', dayOf(T0)))).toEqual({ t: 'seen', keys: ['k1', 'k2', 'k3'] });
  });

  it('never changes a stored value in place (an aborted batch must leave no trace)', () => {
    const state = store();
    const days = remember(state, 'dev', {}, 'k1', T0);
    const before = state.get(seenKey('dev', dayOf(T0)));
    const frozen = Object.freeze({ ...days });
    remember(state, 'dev', frozen, 'k2', T0 + 1);
    expect(before).toEqual({ t: 'seen', keys: ['k1'] });
  });
});
