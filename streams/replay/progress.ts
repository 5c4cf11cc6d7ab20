/**
 * Progress of a long replay: records done of the total, throughput over a sliding window, and the
 * time left at that throughput; and a one-line bar on standard error.
 */

/** What {@link ProgressMeter.snapshot} reports. */
export interface ProgressSnapshot {
  readonly done: number;
  readonly total: number;
  /** Records per second over the meter's window; 0 before two samples. */
  readonly ratePerSecond: number;
  /** Milliseconds left at that rate; undefined while the rate is unknown or zero. */
  readonly etaMs: number | undefined;
  /** Milliseconds since the meter started. */
  readonly elapsedMs: number;
}

/** Options of {@link ProgressMeter}. */
export interface ProgressMeterOptions {
  readonly total: number;
  /**
   * Span of the samples the rate is taken over: long enough to smooth batchy progress, short
   * enough to follow a change of pace.
   * @default 10000
   */
  readonly windowMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Records progress samples and derives rate and ETA from them. */
export class ProgressMeter {
  readonly #total: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #startedAt: number;
  #samples: Array<{ at: number; done: number }> = [];

  constructor(options: ProgressMeterOptions) {
    if (!Number.isFinite(options.total) || options.total < 0) throw new RangeError(`total must be a non-negative number, got ${options.total}`);
    this.#total = options.total;
    this.#windowMs = options.windowMs ?? 10_000;
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#now();
  }

  /** Records that `done` records are done now (capped at the total; progress never goes back). */
  update(done: number): void {
    const at = this.#now();
    const last = this.#samples.at(-1);
    const value = Math.min(this.#total, Math.max(done, last?.done ?? 0));
    this.#samples.push({ at, done: value });
    // Keep one sample older than the window, so the rate always spans the whole window.
    while (this.#samples.length > 2 && this.#samples[1]!.at <= at - this.#windowMs) this.#samples.shift();
  }

  snapshot(): ProgressSnapshot {
    const now = this.#now();
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    const done = last?.done ?? 0;
    let ratePerSecond = 0;
    if (first !== undefined && last !== undefined && last.at > first.at) ratePerSecond = ((last.done - first.done) * 1000) / (last.at - first.at);
    const left = this.#total - done;
    const etaMs = left === 0 ? 0 : ratePerSecond > 0 ? Math.round((left / ratePerSecond) * 1000) : undefined;
    return { done, total: this.#total, ratePerSecond, etaMs, elapsedMs: now - this.#startedAt };
  }
}

/** `1h02m`, `4m05s`, `12s`; `--` when unknown. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '--';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** One line: `label [#####.....] 1,200/5,000  24.0%  830 rec/s  ETA 4s`. */
export function formatProgress(label: string, snapshot: ProgressSnapshot, width = 24): string {
  const fraction = snapshot.total === 0 ? 1 : snapshot.done / snapshot.total;
  const filled = Math.round(fraction * width);
  const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
  const percent = `${(fraction * 100).toFixed(1)}%`;
  return `${label} [${bar}] ${count(snapshot.done)}/${count(snapshot.total)}  ${percent}  ${count(snapshot.ratePerSecond)} rec/s  ETA ${formatDuration(snapshot.etaMs)}`;
}

/** Where a progress line is written. */
export interface ProgressOutput {
  write(text: string): unknown;
  /** A terminal redraws one line in place; anything else gets a line per interval. */
  readonly isTTY?: boolean;
}

/**
 * Redraws the progress line on `output` every `intervalMs` (in place on a terminal; a new line
 * every 10 intervals otherwise, so logs are not flooded). `stop` prints the final line.
 */
export function startProgressLine(
  output: ProgressOutput,
  label: string,
  meter: ProgressMeter,
  intervalMs = 500,
): { stop(): void } {
  let ticks = 0;
  const draw = (final: boolean): void => {
    const line = formatProgress(label, meter.snapshot());
    if (output.isTTY) output.write(`\r${line}\u001b[K${final ? '\n' : ''}`);
    else if (final || ticks % 10 === 0) output.write(`${line}\n`);
  };
  const timer = setInterval(() => {
    ticks += 1;
    draw(false);
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      draw(true);
    },
  };
}
