import { describe, expect, it } from 'vitest';
import { AlertLedger } from '../decode/alerts.js';
import { checkSilence, formatDuration, heard, silenceClock, silenceDueAt, silenceWindowMs, type SilenceRules, type SilenceTrack } from './silence.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 2, 1, 12);
const rules: SilenceRules = { factor: 3, defaultIntervalS: 3600 };
const target = { deviceId: 'mbus:1002038704771403', organisationId: 'org-1', siteId: 'site-1' };

describe('the silence window', () => {
  it('is k times the expected interval of the registry row, else of the configured default', () => {
    expect(silenceWindowMs({ status: 'active', expectedIntervalS: 900 }, rules)).toBe(3 * 900_000);
    expect(silenceWindowMs({ status: 'new', expectedIntervalS: null }, rules)).toBe(3 * H);
    expect(silenceWindowMs(undefined, rules)).toBe(3 * H);
  });

  it('is zero for a retired device, which is not watched', () => {
    const track: SilenceTrack = { heardAt: T0, windowMs: silenceWindowMs({ status: 'retired', expectedIntervalS: 900 }, rules), level: 0 };
    expect(silenceDueAt(track, rules)).toBeUndefined();
  });
});

describe('DEVICE_SILENT', () => {
  it('is raised by the timer at heardAt + window, escalated to CRITICAL after four windows, and cleared when the device talks', () => {
    let ledger = new AlertLedger(target, {});
    let track = heard(ledger, undefined, T0, 3 * H, T0);
    expect(silenceDueAt(track, rules)).toBe(T0 + 3 * H);

    // The timer loop is late: it looks at T0 + 3 h 20 min.
    track = checkSilence(ledger, track, 3 * H, T0 + 3 * H + 20 * 60_000, T0 + 3 * H + 20 * 60_000, rules);
    expect(ledger.emitted).toEqual([
      expect.objectContaining({ alertId: 'DEVICE_SILENT|mbus:1002038704771403|', state: 'RAISED', severity: 'WARNING', raisedAt: T0 + 3 * H, updatedAt: T0 + 3 * H, revision: 1 }),
    ]);
    expect(ledger.emitted[0]!.details).toMatchObject({ lastHeardAt: new Date(T0).toISOString(), silentForMs: String(3 * H) });
    // Open: looked at again 15 minutes later (contact may show in the registry), not only at the escalation.
    expect(silenceDueAt(track, rules)).toBe(T0 + 3 * H + 35 * 60_000);

    ledger = new AlertLedger(target, ledger.marks());
    track = checkSilence(ledger, track, 3 * H, T0 + 12 * H, T0 + 12 * H, rules);
    expect(ledger.emitted).toEqual([expect.objectContaining({ state: 'UPDATED', severity: 'CRITICAL', raisedAt: T0 + 3 * H, updatedAt: T0 + 12 * H, revision: 2 })]);
    expect(silenceDueAt(track, rules)).toBe(T0 + 12 * H + 15 * 60_000);

    ledger = new AlertLedger(target, ledger.marks());
    track = heard(ledger, track, T0 + 13 * H, 3 * H, T0 + 13 * H + 1000);
    expect(ledger.emitted).toEqual([expect.objectContaining({ state: 'CLEARED', clearedAt: T0 + 13 * H, raisedAt: T0 + 3 * H, revision: 3 })]);
    expect(ledger.emitted[0]!.message).toBe('Device sent a reading again after 13 h');
    expect(ledger.emitted[0]!.details).toMatchObject({ heardVia: 'reading.v1' });
    expect(track).toEqual({ heardAt: T0 + 13 * H, windowMs: 3 * H, level: 0 });
  });

  it('re-checks an open silence at min(window, recheckOpenMs) after each check, or at the escalation when that comes first', () => {
    const M = 60_000;
    // Window 3 h: every 15 min by default, or as configured.
    let ledger = new AlertLedger(target, {});
    let track = checkSilence(ledger, { heardAt: T0, windowMs: 3 * H, level: 0 }, 3 * H, T0 + 3 * H, T0 + 3 * H, rules);
    expect(track).toEqual({ heardAt: T0, windowMs: 3 * H, level: 1, checkAt: T0 + 3 * H + 15 * M });
    track = checkSilence(new AlertLedger(target, ledger.marks()), track, 3 * H, T0 + 3 * H + 15 * M, T0 + 3 * H + 15 * M, rules);
    expect(silenceDueAt(track, rules)).toBe(T0 + 3 * H + 30 * M);
    expect(silenceDueAt(checkSilence(new AlertLedger(target, ledger.marks()), track, 3 * H, T0 + 4 * H, T0 + 4 * H, { ...rules, recheckOpenMs: 5 * M }), rules)).toBe(T0 + 4 * H + 5 * M);
    // Escalation 5 min after the check: that comes first.
    expect(checkSilence(new AlertLedger(target, ledger.marks()), track, 3 * H, T0 + 12 * H - 5 * M, T0 + 12 * H - 5 * M, rules).checkAt).toBe(T0 + 12 * H);
    // Window 6 min (2-minute interval): never longer than the window.
    ledger = new AlertLedger(target, {});
    track = checkSilence(ledger, { heardAt: T0, windowMs: 6 * M, level: 0 }, 6 * M, T0 + 6 * M, T0 + 6 * M, rules);
    expect(silenceDueAt(track, rules)).toBe(T0 + 12 * M);
  });

  it('falls due at once for a CRITICAL silence kept before re-checks existed (no checkAt), and at the escalation for a WARNING one', () => {
    expect(silenceDueAt({ heardAt: T0, windowMs: 3 * H, level: 2 }, rules)).toBe(T0 + 12 * H);
    expect(silenceDueAt({ heardAt: T0, windowMs: 3 * H, level: 1 }, rules)).toBe(T0 + 12 * H);
  });

  it('clears an open silence on contact the registry shows, naming it; older contact moves heardAt and keeps the next look', () => {
    const open: SilenceTrack = { heardAt: T0, windowMs: 3 * H, level: 1, checkAt: T0 + 4 * H };
    let ledger = new AlertLedger(target, {});
    checkSilence(ledger, { heardAt: T0, windowMs: 3 * H, level: 0 }, 3 * H, T0 + 3 * H, T0 + 3 * H, rules);
    const marks = ledger.marks();

    ledger = new AlertLedger(target, marks);
    // Contact at T0 + 30 min, learnt at T0 + 4 h: older than a window, still silent.
    expect(heard(ledger, open, T0 + H / 2, 3 * H, T0 + 4 * H, 'registry')).toEqual({ heardAt: T0 + H / 2, windowMs: 3 * H, level: 1, checkAt: T0 + 4 * H });
    expect(ledger.emitted).toEqual([]);

    ledger = new AlertLedger(target, marks);
    expect(heard(ledger, open, T0 + 3 * H + H / 2, 3 * H, T0 + 4 * H, 'registry')).toEqual({ heardAt: T0 + 3 * H + H / 2, windowMs: 3 * H, level: 0 });
    expect(ledger.emitted).toEqual([
      expect.objectContaining({
        state: 'CLEARED',
        clearedAt: T0 + 3 * H + H / 2,
        message: 'Device sent an uplink again after 3 h 30 min',
        details: { lastHeardAt: new Date(T0).toISOString(), silentForMs: String(3 * H + H / 2), heardVia: 'devices.last_seen_at' },
      }),
    ]);
  });

  it('raises and escalates at once when the timer runs after both were due (a long outage of the worker)', () => {
    const ledger = new AlertLedger(target, {});
    const track = checkSilence(ledger, { heardAt: T0, windowMs: 3 * H, level: 0 }, 3 * H, T0 + 48 * H, T0 + 48 * H, rules);
    expect(ledger.emitted.map((a) => [a.state, a.severity, a.updatedAt])).toEqual([
      ['RAISED', 'WARNING', T0 + 3 * H],
      ['UPDATED', 'CRITICAL', T0 + 12 * H],
    ]);
    expect(track.level).toBe(2);
  });

  it('does nothing before the window has passed, and moves the timer when the registry has a longer interval now', () => {
    const ledger = new AlertLedger(target, {});
    const track = checkSilence(ledger, { heardAt: T0, windowMs: 3 * H, level: 0 }, 6 * H, T0 + 3 * H, T0 + 3 * H, rules);
    expect(ledger.emitted).toEqual([]);
    expect(silenceDueAt(track, rules)).toBe(T0 + 6 * H);
  });

  it('keeps the silence open while a backlog of readings older than the window is worked off', () => {
    let ledger = new AlertLedger(target, {});
    let track = checkSilence(ledger, { heardAt: T0, windowMs: 3 * H, level: 0 }, 3 * H, T0 + 4 * H, T0 + 4 * H, rules);
    ledger = new AlertLedger(target, ledger.marks());
    // Received at T0 + 1 h but processed at T0 + 10 h: it proves nothing about now.
    track = heard(ledger, track, T0 + H, 3 * H, T0 + 10 * H);
    expect(ledger.emitted).toEqual([]);
    // Still open: the next look (the re-check set when it was raised) stays.
    expect(track).toEqual({ heardAt: T0 + H, windowMs: 3 * H, level: 1, checkAt: T0 + 4 * H + 15 * 60_000 });
  });

  it('ignores a reading received before the device was last heard (a re-drive, a reordering)', () => {
    const ledger = new AlertLedger(target, {});
    const track: SilenceTrack = { heardAt: T0 + H, windowMs: 3 * H, level: 1 };
    expect(heard(ledger, track, T0, 3 * H, T0 + H)).toBe(track);
    expect(ledger.emitted).toEqual([]);
  });

  it('judges silence by the partition clock: other devices\' newer readings prove the time has passed', () => {
    const ledger = new AlertLedger(target, {});
    const track = checkSilence(ledger, { heardAt: T0, windowMs: 3 * H, level: 0 }, 3 * H, T0 + 5 * H, T0 + 5 * H - 10 * 60_000, rules);
    expect(ledger.emitted).toEqual([expect.objectContaining({ state: 'RAISED', raisedAt: T0 + 3 * H })]);
    expect(track.level).toBe(1);
  });

  it('raises nothing while the partition clock is behind the wall clock, and looks again within busyForMs', () => {
    const ledger = new AlertLedger(target, {});
    // By the wall clock the meter is silent since T0 + 3 h, but the partition has only been read up to T0 + 1 h.
    const now = T0 + 10 * H;
    const track = checkSilence(ledger, { heardAt: T0, windowMs: 3 * H, level: 0 }, 3 * H, now, T0 + H, rules);
    expect(ledger.emitted).toEqual([]);
    expect(silenceDueAt(track, rules)).toBe(now + 15_000);
    // Its next reading moves the timer on as usual.
    expect(silenceDueAt(heard(ledger, track, T0 + 2 * H, 3 * H, T0 + 2 * H), rules)).toBe(T0 + 5 * H);
  });

  it('takes the partition\'s newest reading as the clock while the partition is busy, and the wall clock when it is idle', () => {
    expect(silenceClock(T0 + 10 * H, T0 + H, true)).toBe(T0 + H);
    expect(silenceClock(T0 + 10 * H, T0 + H, false)).toBe(T0 + 10 * H);
    // A newest reading stamped ahead of the wall clock counts as now.
    expect(silenceClock(T0, T0 + H, true)).toBe(T0);
  });

  it('clears an open silence when the device has been retired meanwhile', () => {
    const ledger = new AlertLedger(target, {});
    checkSilence(ledger, { heardAt: T0, windowMs: 3 * H, level: 0 }, 3 * H, T0 + 3 * H, T0 + 3 * H, rules);
    const after = new AlertLedger(target, ledger.marks());
    const track = checkSilence(after, { heardAt: T0, windowMs: 3 * H, level: 1 }, 0, T0 + 5 * H, T0 + 5 * H, rules);
    expect(after.emitted).toEqual([expect.objectContaining({ state: 'CLEARED', message: 'Device retired', revision: 2 })]);
    expect(silenceDueAt(track, rules)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it('writes minutes, hours and days for operators', () => {
    expect([formatDuration(45 * 60_000), formatDuration(3 * H), formatDuration(3 * H + 1_800_000), formatDuration(52 * H), formatDuration(48 * H), formatDuration(2 * H - 1000)]).toEqual([
      '45 min', '3 h', '3 h 30 min', '2 d 4 h', '2 d', '2 h',
    ]);
  });
});
