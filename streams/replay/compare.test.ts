import { describe, expect, it } from 'vitest';
import { compareFigures, formatComparison, type FigureRow } from './compare.js';

const row = (family: string, period: string, dimension: string, count: number, total: number | null): FigureRow => ({ family, period, dimension, count, total });

describe('replay comparison', () => {
  const live = [
    row('readings', '2026-03-01', 'volume', 100, 1234.5),
    row('readings', '2026-03-02', 'volume', 90, 1000),
    row('readings.flagged', '2026-03-01', 'CLOCK_TOO_OLD', 12, null),
    row('alerts', 'all', 'DEVICE_NEW', 3, null),
  ];
  const replay = [
    row('readings', '2026-03-01', 'volume', 100, 1234.5 + 1e-12),
    row('readings', '2026-03-02', 'volume', 91, 1010),
    row('readings', '2026-03-02', 'energy', 5, 40),
    row('alerts', 'all', 'DEVICE_NEW', 3, null),
  ];

  it('finds equal figures equal, sums of doubles within the tolerance included', () => {
    const comparison = compareFigures(live, live.map((r) => ({ ...r, total: r.total === null ? null : r.total * (1 + 1e-12) })));
    expect(comparison.differs).toBe(false);
  });

  it('reports changed counts and totals, and figures present on one side only', () => {
    const comparison = compareFigures(live, replay);
    expect(comparison.differs).toBe(true);
    const byKey = new Map(comparison.rows.map((r) => [`${r.family}|${r.period}|${r.dimension}`, r]));
    expect(byKey.get('readings|2026-03-01|volume')).toMatchObject({ changed: false, countDelta: 0 });
    expect(byKey.get('readings|2026-03-02|volume')).toMatchObject({ changed: true, countDelta: 1, totalDelta: 10 });
    expect(byKey.get('readings|2026-03-02|energy')).toMatchObject({ changed: true, live: { count: 0, total: 0 }, replay: { count: 5, total: 40 } });
    expect(byKey.get('readings.flagged|2026-03-01|CLOCK_TOO_OLD')).toMatchObject({ changed: true, live: { count: 12, total: null }, replay: { count: 0, total: null }, totalDelta: null });
    expect(comparison.families).toEqual([
      { family: 'alerts', liveCount: 3, replayCount: 3, rows: 1, changedRows: 0 },
      { family: 'readings', liveCount: 190, replayCount: 196, rows: 3, changedRows: 2 },
      { family: 'readings.flagged', liveCount: 12, replayCount: 0, rows: 1, changedRows: 1 },
    ]);
  });

  it('refuses a side that lists one figure twice', () => {
    expect(() => compareFigures([live[0]!, live[0]!], [])).toThrow('the live figures list readings 2026-03-01 volume twice');
  });

  it('prints a table with the differences marked and a summary per family', () => {
    const text = formatComparison(compareFigures(live, replay));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^ {3}family +period +dimension +live +replay +Δ count +live total +replay total +Δ total$/);
    expect(lines.find((l) => l.includes('2026-03-02') && l.includes('volume'))).toMatch(/^\* +readings +2026-03-02 +volume +90 +91 +\+1 +1,000 +1,010 +\+10$/);
    expect(text).toContain('readings: live 190, replay 196, 2 of 3 figures differ');
    expect(text.trimEnd().endsWith('the replay differs from live')).toBe(true);
    const changedOnly = formatComparison(compareFigures(live, replay), { changedOnly: true });
    expect(changedOnly).not.toMatch(/2026-03-01 +volume/);
  });
});
