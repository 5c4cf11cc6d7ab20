/**
 * Duplicate suppression by idempotency key. `uplink.raw.v1` is at-least-once: a message a
 * connector received twice (an LNS resend, an MQTT redelivery, an HTTP retry) arrives again with
 * the same `idempotencyKey` and a new uplinkId, and must not become a second set of readings.
 *
 * Keys are kept per device in state, hashed (96 bits), in one state value per UTC day of receipt,
 * so a batch rewrites only the current day's list in the changelog, not the whole window. A key is
 * remembered for {@link DedupOptions.windowDays} whole days after the day it was received, and a
 * device keeps at most {@link DedupOptions.maxKeys} keys (the oldest days go first). Only uplinks
 * that decoded are remembered: a dead-lettered uplink, re-driven after a fix, is not a duplicate.
 */
import { hash } from 'node:crypto';
import { seenKey, type DecodeState } from './state.js';

/** Window of duplicate suppression. */
export interface DedupOptions {
  /**
   * Days after the day of receipt a key is remembered.
   * @default 7
   */
  readonly windowDays?: number;
  /**
   * Keys remembered per device at most; a device sending every minute keeps about 34 hours.
   * @default 2048
   */
  readonly maxKeys?: number;
}

/** The part of the runner's context the window needs. */
export interface StateAccess {
  get(key: string): DecodeState | undefined;
  put(key: string, value: DecodeState): void;
  delete(key: string): void;
}

const DAY_MS = 86_400_000;

/** UTC day number (days since the epoch) of an epoch-ms time. */
export function dayOf(epochMs: number): number {
  return Math.floor(epochMs / DAY_MS);
}

/** The stored form of an idempotency key: 16 base64url characters of its SHA-256 (its first 12 bytes). */
export function hashIdempotencyKey(key: string): string {
  // Encoding only the 12 bytes kept gives a flat string; a slice of a longer one would be a V8
  // sliced string, several times slower to compare in the window's `includes`.
  return hash('sha256', key, 'buffer').toString('base64url', 0, 12);
}

/** Whether `keyHash` was remembered for the device within the window before `receivedAt`. */
export function isDuplicate(
  state: StateAccess,
  deviceId: string,
  seenDays: Readonly<Record<string, number>>,
  keyHash: string,
  receivedAt: number,
  options: DedupOptions = {},
): boolean {
  const oldest = dayOf(receivedAt) - (options.windowDays ?? 7);
  for (const day in seenDays) {
    if (Number(day) < oldest) continue;
    const seen = state.get(seenKey(deviceId, Number(day)));
    if (seen?.t === 'seen' && seen.keys.includes(keyHash)) return true;
  }
  return false;
}

/**
 * Remembers `keyHash` for the day of `receivedAt`, forgets days that left the window (counted from
 * the newest day) and the oldest days beyond `maxKeys` (never the newest), and returns the
 * device's new day index.
 */
export function remember(
  state: StateAccess,
  deviceId: string,
  seenDays: Readonly<Record<string, number>>,
  keyHash: string,
  receivedAt: number,
  options: DedupOptions = {},
): Record<string, number> {
  const windowDays = options.windowDays ?? 7;
  const maxKeys = options.maxKeys ?? 2048;
  const today = dayOf(receivedAt);
  const current = state.get(seenKey(deviceId, today));
  const previous = current?.t === 'seen' ? current.keys : [];
  // concat and slice copy on V8's fast path; spreading an array goes through its iterator.
  const keys = (previous.length < maxKeys ? previous : previous.slice(previous.length - maxKeys + 1)).concat(keyHash);
  state.put(seenKey(deviceId, today), { t: 'seen', keys });

  const days: Record<string, number> = { ...seenDays, [today]: keys.length };
  if (keys.length < maxKeys && onlyDay(days, today)) return days;
  const ordered = Object.keys(days).map(Number).sort((a, b) => a - b);
  const newest = ordered[ordered.length - 1]!;
  let total = ordered.reduce((sum, day) => sum + days[day]!, 0);
  for (const day of ordered) {
    if (day >= newest - windowDays && (total <= maxKeys || day === newest)) continue;
    total -= days[day]!;
    delete days[day];
    state.delete(seenKey(deviceId, day));
  }
  return days;
}

/** Whether `today` is the only day of `days` (without listing the keys). */
function onlyDay(days: Readonly<Record<string, number>>, today: number): boolean {
  for (const day in days) if (Number(day) !== today) return false;
  return true;
}
