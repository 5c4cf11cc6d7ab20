import { describe, expect, it } from 'vitest';
import { reconnectDelayMs } from './backoff.js';

const bounds = { initialMs: 250, maxMs: 30_000 };

describe('reconnectDelayMs', () => {
  it('doubles with each consecutive failure up to the maximum', () => {
    const ceilings = [1, 2, 3, 4, 8, 20].map((failures) => reconnectDelayMs(failures, bounds, () => 1));
    expect(ceilings).toEqual([250, 500, 1000, 2000, 30_000, 30_000]);
  });

  it('spreads delays over the upper half of the ceiling', () => {
    expect(reconnectDelayMs(3, bounds, () => 0)).toBe(500);
    expect(reconnectDelayMs(3, bounds, () => 0.5)).toBe(750);
  });

  it('treats zero failures like the first', () => {
    expect(reconnectDelayMs(0, bounds, () => 1)).toBe(250);
  });
});
