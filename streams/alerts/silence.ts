/**
 * DEVICE_SILENT: a device sent nothing for k × its expected interval. Pure; the wall clock comes in
 * as `now`, and the worker keeps the next due time in state through the runner's `timerOf`, so a
 * pending silence survives restarts and rebalances.
 *
 * A device is *heard* when a reading of it arrives; the time it was heard is the reading's
 * `receivedAt` (the connector's clock at receipt), not its `observedAt`, so a meter that uploads a
 * day of stored values at once is heard now, and a backfill does not look like silence. Uplinks
 * that produce no reading (a status-only message, one that was dead-lettered) are not seen here.
 *
 * **The partition clock.** While the worker is working through its input partition (it handled a
 * record of it within `busyForMs`, or took the partition over less than that ago), silence is
 * measured against the newest `receivedAt` it has seen in that partition, not against the wall
 * clock; once the partition is idle — the worker has read everything there is — the wall clock
 * counts. So a worker catching up after an outage, or behind a decode stage working off a backlog,
 * does not take devices whose newer readings are still on their way for silent, and no wallboard
 * fills with alerts that clear a minute later; yet a device alone in its partition, or a whole fleet
 * gone quiet, is still reported, about `busyForMs` late (the time it takes to see the partition
 * idle).
 *
 * | level | when (clock: see above) | record |
 * | --- | --- | --- |
 * | talking | a reading arrived within the window | — |
 * | silent | clock ≥ heardAt + window | RAISED, WARNING, `raisedAt` = heardAt + window |
 * | long silent | clock ≥ heardAt + window × `criticalAfterWindows` | UPDATED, CRITICAL |
 * | talking again | a reading received later than heardAt, within the window of the clock | CLEARED at its receivedAt |
 */
import type { AlertLedger } from '../decode/alerts.js';

/** The silence rule's parameters. */
export interface SilenceRules {
  /** k: silent after this many expected intervals (`ALERTS_SILENCE_FACTOR`). */
  readonly factor: number;
  /** Expected interval of devices whose registry row has none, in seconds (`ALERTS_DEFAULT_INTERVAL_S`). */
  readonly defaultIntervalS: number;
  /**
   * A silence lasting this many windows becomes CRITICAL.
   * @default 4
   */
  readonly criticalAfterWindows?: number;
  /**
   * A partition counts as being worked through (busy) for this long after a record of it was
   * handled, or after the worker took it over; see the partition clock.
   * @default 30000
   */
  readonly busyForMs?: number;
}

/** What the rule keeps of a device. */
export interface SilenceTrack {
  /** Latest receivedAt of a reading of the device, epoch ms. */
  readonly heardAt: number;
  /** k × expected interval in force, ms; 0 while the device is retired (not watched). */
  readonly windowMs: number;
  /** 0 talking, 1 silent (WARNING raised), 2 long silent (CRITICAL). */
  readonly level: 0 | 1 | 2;
  /**
   * Look again no earlier than this (wall clock, epoch ms): set when the timer fell due by the wall
   * clock but the partition clock says not yet (the worker is working through a backlog).
   */
  readonly checkAt?: number;
}

/** What the rule needs of the registry row; undefined when the device has none. */
export interface SilenceDevice {
  readonly status: string;
  readonly expectedIntervalS: number | null;
}

const HOUR_MS = 3_600_000;

/** The silence window of a device, ms; 0 for a retired device. */
export function silenceWindowMs(device: SilenceDevice | undefined, rules: SilenceRules): number {
  if (device?.status === 'retired') return 0;
  return rules.factor * (device?.expectedIntervalS ?? rules.defaultIntervalS) * 1000;
}

/** When the rule wants to look at the device again (the runner's timer), epoch ms; undefined for never. */
export function silenceDueAt(track: SilenceTrack, rules: SilenceRules): number | undefined {
  if (track.windowMs === 0) return undefined;
  let due: number;
  if (track.level === 0) due = track.heardAt + track.windowMs;
  else if (track.level === 1) due = track.heardAt + track.windowMs * (rules.criticalAfterWindows ?? 4);
  else return undefined;
  return track.checkAt !== undefined && track.checkAt > due ? track.checkAt : due;
}

/**
 * The time silence is measured against (see the module docs): while the partition is `busy`, its
 * newest `receivedAt` (never ahead of the wall clock); when it is idle, the wall clock.
 */
export function silenceClock(now: number, newestReceivedAt: number, busy: boolean): number {
  return busy ? Math.min(newestReceivedAt, now) : now;
}

/**
 * A reading of the device arrived. A silence in progress clears when the reading was received after
 * the device was last heard and within the window of `clock` ({@link silenceClock}); a reading
 * older than that (a long backlog being worked off) moves `heardAt` on but leaves the silence open,
 * so catching up does not clear and raise the alert again.
 */
export function heard(ledger: AlertLedger, track: SilenceTrack | undefined, receivedAt: number, windowMs: number, clock: number): SilenceTrack {
  if (track === undefined) return { heardAt: receivedAt, windowMs, level: 0 };
  if (receivedAt <= track.heardAt) return track.windowMs === windowMs ? track : { ...track, windowMs };
  const current = windowMs === 0 || receivedAt + windowMs > clock;
  if (track.level === 0 || !current) return { heardAt: receivedAt, windowMs, level: track.level };
  ledger.clear({
    kind: 'DEVICE_SILENT',
    subject: null,
    severity: 'INFO',
    message: windowMs === 0 ? 'Device retired' : `Device sent a reading again after ${formatDuration(receivedAt - track.heardAt)}`,
    at: receivedAt,
    details: { lastHeardAt: new Date(track.heardAt).toISOString(), silentForMs: String(receivedAt - track.heardAt) },
  });
  return { heardAt: receivedAt, windowMs, level: 0 };
}

/**
 * The device's timer is due: raises DEVICE_SILENT, escalates it, or clears it for a device retired
 * meanwhile. `windowMs` is the window from the registry now (an operator may have changed the
 * expected interval); `clock` is the partition clock ({@link silenceClock}), `now` the wall clock.
 * The returned track's {@link silenceDueAt} is later than `now`, or undefined.
 */
export function checkSilence(ledger: AlertLedger, track: SilenceTrack, windowMs: number, now: number, clock: number, rules: SilenceRules): SilenceTrack {
  if (windowMs === 0) {
    if (track.level > 0) {
      ledger.clear({ kind: 'DEVICE_SILENT', subject: null, severity: 'INFO', message: 'Device retired', at: now, details: { lastHeardAt: new Date(track.heardAt).toISOString() } });
    }
    return { heardAt: track.heardAt, windowMs: 0, level: 0 };
  }
  let level = track.level;
  const silentAt = track.heardAt + windowMs;
  const details = (at: number): Record<string, string> => ({
    lastHeardAt: new Date(track.heardAt).toISOString(),
    silentForMs: String(at - track.heardAt),
    windowMs: String(windowMs),
    silenceFactor: String(rules.factor),
  });
  if (level === 0 && clock >= silentAt) {
    ledger.raise({
      kind: 'DEVICE_SILENT',
      subject: null,
      severity: 'WARNING',
      message: `No uplink for ${formatDuration(windowMs)} (${rules.factor} × the expected interval)`,
      at: silentAt,
      details: details(silentAt),
    });
    level = 1;
  }
  const criticalAt = track.heardAt + windowMs * (rules.criticalAfterWindows ?? 4);
  if (level === 1 && clock >= criticalAt) {
    ledger.raiseOrUpdate({
      kind: 'DEVICE_SILENT',
      subject: null,
      severity: 'CRITICAL',
      message: `No uplink for ${formatDuration(criticalAt - track.heardAt)}`,
      at: criticalAt,
      details: details(criticalAt),
    });
    level = 2;
  }
  const next: SilenceTrack = { heardAt: track.heardAt, windowMs, level };
  const due = silenceDueAt(next, rules);
  // Due by the wall clock, not yet by the partition's: look again a little later, not on every tick
  // (within busyForMs, so the worker keeps counting the partition as its own; see handler.ts).
  return due !== undefined && due <= now ? { ...next, checkAt: now + Math.min(windowMs, (rules.busyForMs ?? 30_000) / 2) } : next;
}

/** `45 min`, `3 h`, `2 d 4 h`: durations for operators' messages. */
export function formatDuration(ms: number): string {
  if (ms < HOUR_MS) return `${Math.max(0, Math.round(ms / 60_000))} min`;
  const hours = Math.floor(ms / HOUR_MS);
  const minutes = Math.round((ms % HOUR_MS) / 60_000);
  if (hours < 48) return minutes === 0 ? `${hours} h` : `${hours} h ${minutes} min`;
  const rest = hours % 24;
  return rest === 0 ? `${Math.floor(hours / 24)} d` : `${Math.floor(hours / 24)} d ${rest} h`;
}
