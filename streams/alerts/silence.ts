/**
 * DEVICE_SILENT: a device sent nothing for k × its expected interval. Pure; the wall clock comes in
 * as `now`, and the worker keeps the next due time in state through the runner's `timerOf`, so a
 * pending silence survives restarts and rebalances.
 *
 * A device is *heard* when a reading of it arrives; the time it was heard is the reading's
 * `receivedAt` (the connector's clock at receipt), not its `observedAt`, so a meter that uploads a
 * day of stored values at once is heard now, and a backfill does not look like silence. The
 * registry row is evidence too: `devices.last_seen_at` is the `receivedAt` of an uplink decode
 * took, readings or not (a station's status message), written at most every few minutes per
 * device. The worker reads it when the device's timer is due, before {@link checkSilence}, and
 * passes it to {@link heard} as contact at that time, so a device that talks without readings is
 * not taken for silent. An uplink decode dead-letters (`KEY_MISSING`, a bad checksum) yields
 * neither, and is not seen here.
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
 * | talking | heard (a reading, the registry's last_seen_at) within the window | — |
 * | silent | clock ≥ heardAt + window | RAISED, WARNING, `raisedAt` = heardAt + window |
 * | long silent | clock ≥ heardAt + window × `criticalAfterWindows` | UPDATED, CRITICAL |
 * | talking again | heard later than heardAt, within the window of the clock | CLEARED at that receivedAt |
 *
 * **Re-checks.** While a silence is open (silent or long silent) the timer does not wait for the
 * escalation alone: it falls due again at most `recheckOpenMs` (default 15 min, never more than
 * the window) after each check, so contact that shows only in the registry clears the silence
 * within that bound (plus the registry cache's TTL). The next look is kept in the track's
 * `checkAt`, one number; each re-check writes the device's state to the changelog once.
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
  /**
   * While a silence is open, the timer falls due again at most this long after each check (and
   * never more than a window after it), so contact seen only in the registry clears it in time.
   * @default 900000 (15 min)
   */
  readonly recheckOpenMs?: number;
}

/** What the rule keeps of a device. */
export interface SilenceTrack {
  /** When the device was last heard (a reading's receivedAt, the registry's last_seen_at), epoch ms. */
  readonly heardAt: number;
  /** k × expected interval in force, ms; 0 while the device is retired (not watched). */
  readonly windowMs: number;
  /** 0 talking, 1 silent (WARNING raised), 2 long silent (CRITICAL). */
  readonly level: 0 | 1 | 2;
  /**
   * The next look (wall clock, epoch ms), set by {@link checkSilence}: while talking, when the
   * timer fell due by the wall clock but the partition clock says not yet (the worker is working
   * through a backlog); while a silence is open, always (the re-check or the escalation, whichever
   * comes first).
   */
  readonly checkAt?: number;
}

/** Where the evidence that a device was heard came from (the CLEARED record says it). */
export type HeardVia = 'reading' | 'registry';

const HEARD_VIA: Readonly<Record<HeardVia, string>> = { reading: 'reading.v1', registry: 'devices.last_seen_at' };

/** Default of {@link SilenceRules.recheckOpenMs}. */
const RECHECK_OPEN_MS = 900_000;

/** What the rule needs of the registry row; undefined when the device has none. */
export interface SilenceDevice {
  readonly status: string;
  readonly expectedIntervalS: number | null;
}

/** The silence window of a device, ms; 0 for a retired device. */
export function silenceWindowMs(device: SilenceDevice | undefined, rules: SilenceRules): number {
  if (device?.status === 'retired') return 0;
  return rules.factor * (device?.expectedIntervalS ?? rules.defaultIntervalS) * 1000;
}

/**
 * When the rule wants to look at the device again (the runner's timer), epoch ms; undefined for
 * never (a retired device). While talking: heardAt + window, or `checkAt` when later. While a
 * silence is open: `checkAt` ({@link checkSilence} always sets it); a track written before
 * re-checks existed has none and falls due at heardAt + window × `criticalAfterWindows` (for one
 * already CRITICAL that is past, so it is looked at once and re-checked from then on).
 */
export function silenceDueAt(track: SilenceTrack, rules: SilenceRules): number | undefined {
  if (track.windowMs === 0) return undefined;
  if (track.level === 0) {
    const due = track.heardAt + track.windowMs;
    return track.checkAt !== undefined && track.checkAt > due ? track.checkAt : due;
  }
  return track.checkAt ?? track.heardAt + track.windowMs * (rules.criticalAfterWindows ?? 4);
}

/**
 * The time silence is measured against (see the module docs): while the partition is `busy`, its
 * newest `receivedAt` (never ahead of the wall clock); when it is idle, the wall clock.
 */
export function silenceClock(now: number, newestReceivedAt: number, busy: boolean): number {
  return busy ? Math.min(newestReceivedAt, now) : now;
}

/**
 * The device was heard at `receivedAt` (a reading's, or the registry's `last_seen_at`). A silence
 * in progress clears when that was after the device was last heard and within the window of
 * `clock`: the partition clock ({@link silenceClock}) for a reading, the wall clock for the
 * registry's contact (the registry is not behind the worker's input). Evidence older than that (a
 * long backlog being worked off, a last contact longer than a window ago) moves `heardAt` on but
 * leaves the silence open, keeping its next look, so catching up does not clear and raise the
 * alert again.
 */
export function heard(
  ledger: AlertLedger,
  track: SilenceTrack | undefined,
  receivedAt: number,
  windowMs: number,
  clock: number,
  via: HeardVia = 'reading',
): SilenceTrack {
  if (track === undefined) return { heardAt: receivedAt, windowMs, level: 0 };
  if (receivedAt <= track.heardAt) return track.windowMs === windowMs ? track : { ...track, windowMs };
  const current = windowMs === 0 || receivedAt + windowMs > clock;
  if (track.level === 0) return { heardAt: receivedAt, windowMs, level: 0 };
  if (!current) return track.checkAt === undefined ? { heardAt: receivedAt, windowMs, level: track.level } : { heardAt: receivedAt, windowMs, level: track.level, checkAt: track.checkAt };
  ledger.clear({
    kind: 'DEVICE_SILENT',
    subject: null,
    severity: 'INFO',
    message: windowMs === 0 ? 'Device retired' : `Device sent ${via === 'reading' ? 'a reading' : 'an uplink'} again after ${formatDuration(receivedAt - track.heardAt)}`,
    at: receivedAt,
    details: { lastHeardAt: new Date(track.heardAt).toISOString(), silentForMs: String(receivedAt - track.heardAt), heardVia: HEARD_VIA[via] },
  });
  return { heardAt: receivedAt, windowMs, level: 0 };
}

/**
 * The device's timer is due: raises DEVICE_SILENT, escalates it, or clears it for a device retired
 * meanwhile. `windowMs` is the window from the registry now (an operator may have changed the
 * expected interval); `clock` is the partition clock ({@link silenceClock}), `now` the wall clock.
 * Contact the registry shows is applied before, through {@link heard}. The returned track's
 * {@link silenceDueAt} is later than `now`, or undefined; while the silence is open it is at most
 * `recheckOpenMs` (and a window) away.
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
  // Due by the wall clock, not yet by the partition's: look again a little later, not on every tick
  // (within busyForMs, so the worker keeps counting the partition as its own; see handler.ts).
  const deferred = now + Math.min(windowMs, (rules.busyForMs ?? 30_000) / 2);
  if (level === 0) return silentAt <= now ? { ...next, checkAt: deferred } : next;
  // Open: the re-check, or the escalation when that comes first (deferred when already due by the wall clock).
  const recheckAt = now + Math.min(windowMs, rules.recheckOpenMs ?? RECHECK_OPEN_MS);
  const escalation = level === 1 ? (criticalAt > now ? criticalAt : deferred) : Number.POSITIVE_INFINITY;
  return { ...next, checkAt: Math.min(recheckAt, escalation) };
}

/** `45 min`, `3 h`, `2 d 4 h`: durations for operators' messages. */
export function formatDuration(ms: number): string {
  // Rounded to whole minutes first, so 1 h 59 min 59 s is `2 h`, not `1 h 60 min`.
  const total = Math.max(0, Math.round(ms / 60_000));
  if (total < 60) return `${total} min`;
  const hours = Math.floor(total / 60);
  const minutes = total % 60;
  if (hours < 48) return minutes === 0 ? `${hours} h` : `${hours} h ${minutes} min`;
  const rest = hours % 24;
  return rest === 0 ? `${Math.floor(hours / 24)} d` : `${Math.floor(hours / 24)} d ${rest} h`;
}
