/**
 * Delay before reconnect attempt `attempt` (0 for the first retry): exponential, capped, with
 * jitter between half and all of the step, so a fleet of connectors that lost the same server does
 * not come back in lockstep.
 */
export function reconnectDelay(attempt: number, initialDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const step = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + (step / 2) * random());
}
