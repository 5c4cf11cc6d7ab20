import { describe, expect, it } from 'vitest';
import { formatDuration, formatProgress, ProgressMeter, startProgressLine } from './progress.js';

function clock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('replay progress', () => {
  it('knows no rate or ETA before two samples', () => {
    const c = clock();
    const meter = new ProgressMeter({ total: 1000, now: c.now });
    meter.update(0);
    expect(meter.snapshot()).toMatchObject({ done: 0, ratePerSecond: 0, etaMs: undefined });
  });

  it('takes the rate over the window and the ETA from what is left', () => {
    const c = clock();
    const meter = new ProgressMeter({ total: 10_000, windowMs: 2000, now: c.now });
    meter.update(0);
    for (let i = 1; i <= 4; i += 1) {
      c.advance(1000);
      meter.update(i * 1000);
    }
    // 1000 records per second over the last two seconds; 6000 left.
    expect(meter.snapshot()).toMatchObject({ done: 4000, total: 10_000, ratePerSecond: 1000, etaMs: 6000, elapsedMs: 4000 });
    c.advance(1000);
    meter.update(4500);
    expect(meter.snapshot().ratePerSecond).toBe(750);
  });

  it('never goes back or beyond the total, and reports zero time left when done', () => {
    const c = clock();
    const meter = new ProgressMeter({ total: 100, now: c.now });
    meter.update(60);
    c.advance(1000);
    meter.update(40);
    expect(meter.snapshot().done).toBe(60);
    meter.update(150);
    expect(meter.snapshot()).toMatchObject({ done: 100, etaMs: 0 });
  });

  it('draws a bar with counts, percentage, throughput and ETA', () => {
    expect(formatProgress('replay', { done: 1200, total: 5000, ratePerSecond: 830.4, etaMs: 4_600, elapsedMs: 0 }, 10)).toBe(
      'replay [##........] 1,200/5,000  24.0%  830 rec/s  ETA 5s',
    );
    expect(formatProgress('x', { done: 0, total: 0, ratePerSecond: 0, etaMs: 0, elapsedMs: 0 }, 4)).toBe('x [####] 0/0  100.0%  0 rec/s  ETA 0s');
  });

  it('formats durations in the largest sensible units', () => {
    expect(formatDuration(undefined)).toBe('--');
    expect(formatDuration(12_400)).toBe('12s');
    expect(formatDuration(245_000)).toBe('4m05s');
    expect(formatDuration(3_720_000)).toBe('1h02m');
  });

  it('redraws in place on a terminal and ends the line when stopped', () => {
    const written: string[] = [];
    const meter = new ProgressMeter({ total: 10 });
    meter.update(10);
    const line = startProgressLine({ isTTY: true, write: (text) => written.push(text) }, 'replay', meter, 60_000);
    line.stop();
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^\rreplay \[#+\] 10\/10 {2}100\.0%.*\n$/);
  });
});
