/**
 * Measurement helpers for `make bench`: repeat a run, take the median, report a ratio against a
 * baseline measured in the same run. Machines here are shared and noisy, so single runs mean little.
 */

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Seconds since `since`, a `process.hrtime.bigint()`. */
export function secondsSince(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

/** Percentile (0..100) by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Runs `once` `repeats` times and returns the per-run throughputs (items per second). */
export async function throughputs(repeats: number, items: number, once: (run: number) => Promise<void>): Promise<number[]> {
  const rates: number[] = [];
  for (let run = 0; run < repeats; run++) {
    const started = process.hrtime.bigint();
    await once(run);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    rates.push(items / seconds);
  }
  return rates;
}

/**
 * Answer latency at a fixed offered rate (open loop: the client sends on a schedule, whatever the
 * answers do), per record, from send to the answer defined by the benchmark that measured it.
 */
export interface LatencyResult {
  /** Offered rate, records per second. */
  readonly ratePerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** One line of the results table. */
export interface BenchResult {
  readonly name: string;
  /** Median items/s of the thing measured. */
  readonly subject: number;
  /** Median items/s of the baseline, measured in the same run. */
  readonly baseline: number;
  readonly baselineName: string;
  /** The target ratio from the issue, if any. */
  readonly aim?: number;
  readonly unit: string;
  /** Answer latency at a fixed rate, for benchmarks that measure one; shown in an extra column. */
  readonly latency?: LatencyResult;
}

/**
 * Prints results as a markdown table (the README keeps the latest). The latency column appears
 * only when some result has a latency.
 */
export function renderResults(results: readonly BenchResult[]): string {
  const withLatency = results.some((r) => r.latency !== undefined);
  const rows = results.map((r) => {
    const ratio = r.subject / r.baseline;
    const aim = r.aim === undefined ? '' : ` (aim ≥ ${r.aim})`;
    const row = `| ${r.name} | ${Math.round(r.subject).toLocaleString('en')} ${r.unit} | ${r.baselineName}: ${Math.round(r.baseline).toLocaleString('en')} ${r.unit} | **${ratio.toFixed(2)}**${aim} |`;
    return withLatency ? `${row} ${r.latency === undefined ? '' : renderLatency(r.latency, r.unit)} |` : row;
  });
  const header = withLatency
    ? ['| benchmark | meterflux (median) | baseline, same run (median) | ratio | answer latency p50 / p99 (median) |', '| --- | --- | --- | --- | --- |']
    : ['| benchmark | meterflux (median) | baseline, same run (median) | ratio |', '| --- | --- | --- | --- |'];
  return [...header, ...rows].join('\n');
}

function renderLatency(latency: LatencyResult, unit: string): string {
  return `${latency.p50Ms.toFixed(1)} / ${latency.p99Ms.toFixed(1)} ms at ${Math.round(latency.ratePerS).toLocaleString('en')} ${unit}`;
}
