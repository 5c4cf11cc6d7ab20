/** Reconnect delays. Pure. */

/** Bounds of the reconnect delay. */
export interface BackoffBounds {
  readonly initialMs: number;
  readonly maxMs: number;
}

/**
 * Delay before reconnect attempt number `failures` (1 for the first after a failure): doubling from
 * `initialMs` up to `maxMs`, then a random point in the upper half, so connectors that lost the
 * broker together do not all return in the same instant.
 */
export function reconnectDelayMs(failures: number, bounds: BackoffBounds, random: () => number = Math.random): number {
  const ceiling = Math.min(bounds.maxMs, bounds.initialMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
