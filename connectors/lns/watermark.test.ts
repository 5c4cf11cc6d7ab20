import { describe, expect, it } from 'vitest';
import { reconnectDelay } from './backoff.js';
import { Watermark } from './watermark.js';

describe('the resume watermark', () => {
  it('holds the seed while the first resume has not completed, whatever is written meanwhile', () => {
    const mark = new Watermark(1_000);
    mark.settle(mark.begin(5_000));
    expect(mark.value).toBe(1_000);
    mark.release();
    expect(mark.value).toBe(5_000);
  });

  it('stays below the oldest uplink still in flight to Kafka', () => {
    const mark = new Watermark();
    mark.release();
    const older = mark.begin(10);
    mark.settle(mark.begin(20));
    expect(mark.value).toBe(9);
    mark.settle(older);
    expect(mark.value).toBe(20);
  });

  it('stops at a failed write until a later resume has refetched it', () => {
    const mark = new Watermark(100);
    mark.release();
    const failed = mark.begin(150);
    mark.settle(mark.begin(140));
    mark.fail(failed);
    mark.settle(mark.begin(200));
    expect(mark.value).toBe(140);
    mark.release();
    expect(mark.value).toBe(200);
  });

  it('never goes back, even when an older uplink is written late', () => {
    const mark = new Watermark(500);
    mark.release();
    mark.settle(mark.begin(100));
    expect(mark.value).toBe(500);
  });

  it('is unknown until something is complete', () => {
    const mark = new Watermark();
    mark.release();
    expect(mark.value).toBeUndefined();
  });
});

describe('the reconnect delay', () => {
  it('doubles from the initial delay up to the maximum, with jitter between half and all of the step', () => {
    expect([0, 1, 2, 3, 10].map((attempt) => reconnectDelay(attempt, 500, 4_000, () => 1))).toEqual([500, 1_000, 2_000, 4_000, 4_000]);
    expect(reconnectDelay(2, 500, 4_000, () => 0)).toBe(1_000);
  });
});

describe('the watermark under many uplinks in flight', () => {
  it('always stays below the oldest uplink still in flight, whatever order writes settle in', () => {
    const watermark = new Watermark();
    watermark.release();
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const open = new Map<number, number>();
    for (let i = 0; i < 5000; i++) open.set(watermark.begin(1000 + i), 1000 + i);
    const order = [...open.keys()].sort(() => random() - 0.5);
    let maxSettled = -Infinity;
    for (const token of order) {
      maxSettled = Math.max(maxSettled, open.get(token)!);
      open.delete(token);
      watermark.settle(token);
      // Checked every 500 settles: the naive minimum over what is open is what the heap must agree with.
      if (open.size % 500 === 0) {
        const expected = open.size === 0 ? maxSettled : Math.min(maxSettled, Math.min(...open.values()) - 1);
        expect(watermark.value).toBe(expected);
      }
    }
    expect(watermark.value).toBe(5999);
  });
});
