/**
 * Live against replayed: figures per family, period and dimension (readings per day and quantity,
 * consumption per period, alerts per kind…), joined and differenced, as a table and as JSON.
 * Pure: figures.ts reads them from Elasticsearch.
 */

/** One figure of one generation: how many documents, and the sum of their value where one adds up. */
export interface FigureRow {
  /** What is counted, e.g. `readings`, `readings.flagged`, `alerts`, `consumption.monthly`. */
  readonly family: string;
  /** The period, e.g. a UTC day `2026-03-14` or a local period `2026-03`; `all` when not split by time. */
  readonly period: string;
  /** What the figures are split by within the period, e.g. a quantity or an alert kind; `all` for none. */
  readonly dimension: string;
  readonly count: number;
  /** Sum of the values (readings in their canonical unit, consumption deltas); null where values do not add up. */
  readonly total: number | null;
}

/** The two sides of one figure and how they differ. */
export interface ComparisonRow {
  readonly family: string;
  readonly period: string;
  readonly dimension: string;
  readonly live: { readonly count: number; readonly total: number | null };
  readonly replay: { readonly count: number; readonly total: number | null };
  /** replay − live. */
  readonly countDelta: number;
  /** replay − live; null where either side has no total. */
  readonly totalDelta: number | null;
  readonly changed: boolean;
}

/** Per family: documents on each side and how many of its rows changed. */
export interface FamilySummary {
  readonly family: string;
  readonly liveCount: number;
  readonly replayCount: number;
  readonly rows: number;
  readonly changedRows: number;
}

/** A whole comparison. */
export interface Comparison {
  readonly rows: readonly ComparisonRow[];
  readonly families: readonly FamilySummary[];
  /** Whether any figure differs. */
  readonly differs: boolean;
}

/** Options of {@link compareFigures}. */
export interface CompareOptions {
  /**
   * Totals closer than this, relative to the larger magnitude, are equal: sums of doubles taken in
   * a different order differ in the last bits.
   * @default 1e-9
   */
  readonly relativeTolerance?: number;
}

const keyOf = (r: { family: string; period: string; dimension: string }): string => `${r.family}\u0000${r.period}\u0000${r.dimension}`;

function totalsDiffer(a: number | null, b: number | null, tolerance: number): boolean {
  if (a === null || b === null) return a !== b;
  const scale = Math.max(Math.abs(a), Math.abs(b));
  return Math.abs(a - b) > tolerance * scale;
}

/**
 * Joins the two sides on family, period and dimension; a figure present on one side only counts
 * as zero documents (and a zero total when its family has totals) on the other. Rows are sorted by
 * family, period and dimension.
 *
 * @throws TypeError when one side lists the same figure twice.
 */
export function compareFigures(live: readonly FigureRow[], replay: readonly FigureRow[], options: CompareOptions = {}): Comparison {
  const tolerance = options.relativeTolerance ?? 1e-9;
  const index = (rows: readonly FigureRow[], side: string): Map<string, FigureRow> => {
    const out = new Map<string, FigureRow>();
    for (const row of rows) {
      const key = keyOf(row);
      if (out.has(key)) throw new TypeError(`the ${side} figures list ${row.family} ${row.period} ${row.dimension} twice`);
      out.set(key, row);
    }
    return out;
  };
  const liveRows = index(live, 'live');
  const replayRows = index(replay, 'replay');
  const keys = [...new Set([...liveRows.keys(), ...replayRows.keys()])].sort();

  const rows: ComparisonRow[] = keys.map((key) => {
    const l = liveRows.get(key);
    const r = replayRows.get(key);
    const any = (l ?? r)!;
    const hasTotals = (l?.total ?? r?.total ?? null) !== null;
    const side = (row: FigureRow | undefined) => ({ count: row?.count ?? 0, total: row ? row.total : hasTotals ? 0 : null });
    const liveSide = side(l);
    const replaySide = side(r);
    const totalDelta = liveSide.total === null || replaySide.total === null ? null : replaySide.total - liveSide.total;
    return {
      family: any.family,
      period: any.period,
      dimension: any.dimension,
      live: liveSide,
      replay: replaySide,
      countDelta: replaySide.count - liveSide.count,
      totalDelta,
      changed: replaySide.count !== liveSide.count || totalsDiffer(liveSide.total, replaySide.total, tolerance),
    };
  });

  const families = new Map<string, { liveCount: number; replayCount: number; rows: number; changedRows: number }>();
  for (const row of rows) {
    const f = families.get(row.family) ?? { liveCount: 0, replayCount: 0, rows: 0, changedRows: 0 };
    f.liveCount += row.live.count;
    f.replayCount += row.replay.count;
    f.rows += 1;
    if (row.changed) f.changedRows += 1;
    families.set(row.family, f);
  }
  return {
    rows,
    families: [...families].map(([family, f]) => ({ family, ...f })),
    differs: rows.some((row) => row.changed),
  };
}

/** A number for the table: integers with thousands separators, others to 6 significant digits. */
function figure(value: number | null): string {
  if (value === null) return '';
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return Number(value.toPrecision(6)).toLocaleString('en-US', { maximumFractionDigits: 6 });
}

const signed = (value: number | null): string => (value === null ? '' : value > 0 ? `+${figure(value)}` : value === 0 ? '0' : figure(value));

/** Options of {@link formatComparison}. */
export interface FormatOptions {
  /**
   * Only rows that differ (the family summary still covers every row).
   * @default false
   */
  readonly changedOnly?: boolean;
}

/** The comparison as a plain-text table, one line per figure, `*` marking a difference, then a summary per family. */
export function formatComparison(comparison: Comparison, options: FormatOptions = {}): string {
  const header = ['', 'family', 'period', 'dimension', 'live', 'replay', 'Δ count', 'live total', 'replay total', 'Δ total'];
  const shown = options.changedOnly ? comparison.rows.filter((r) => r.changed) : comparison.rows;
  const body = shown.map((r) => [
    r.changed ? '*' : '',
    r.family,
    r.period,
    r.dimension,
    figure(r.live.count),
    figure(r.replay.count),
    signed(r.countDelta),
    figure(r.live.total),
    figure(r.replay.total),
    signed(r.totalDelta),
  ]);
  const table = [header, ...body];
  const numeric = new Set([4, 5, 6, 7, 8, 9]);
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const lines = table.map((row) =>
    row.map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd(),
  );
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const summary = comparison.families.map(
    (f) => `${f.family}: live ${figure(f.liveCount)}, replay ${figure(f.replayCount)}, ${f.changedRows} of ${f.rows} figures differ`,
  );
  const verdict = comparison.differs ? 'the replay differs from live' : 'the replay matches live';
  return `${lines.join('\n')}\n\n${summary.join('\n')}\n${verdict}\n`;
}
