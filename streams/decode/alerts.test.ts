import { describe, expect, it } from 'vitest';
import { AlertLedger, alertIdOf, raiseNewDevice, raiseSuspectedReset, reportsStatus, trackLowBattery, trackStatusErrors, type StatusReport } from './alerts.js';
import type { AlertMark } from './state.js';

const DEVICE = 'mbus:1002038704771403';
const T0 = Date.parse('2026-03-29T07:00:00Z');
const target = { deviceId: DEVICE, organisationId: 'org-1', siteId: 'site-1' };

/** Runs one uplink's tracking on the marks of the previous ones, as the handler does. */
function step(marks: Record<string, AlertMark>, track: (ledger: AlertLedger) => void) {
  const ledger = new AlertLedger(target, marks);
  track(ledger);
  return { emitted: ledger.emitted, marks: ledger.marks() };
}

const frame = (statusErrors: string[], at: number, fields: Partial<StatusReport> = {}): StatusReport => ({
  format: 'MBUS_LONG_FRAME',
  reportsStatus: true,
  statusErrors,
  at,
  ...fields,
});

describe('status error alerts', () => {
  it('raises an error once while it persists, and clears it when a frame no longer reports it', () => {
    let marks: Record<string, AlertMark> = {};
    const states: string[] = [];
    for (const [i, errors] of [['PERMANENT_ERROR'], ['PERMANENT_ERROR'], ['PERMANENT_ERROR'], []].entries()) {
      const result = step(marks, (ledger) => trackStatusErrors(ledger, frame(errors, T0 + i * 1000)));
      marks = result.marks;
      states.push(...result.emitted.map((a) => `${a.state}:${a.revision}`));
    }
    expect(states).toEqual(['RAISED:1', 'CLEARED:2']);
  });

  it('names the problem by kind, device and code, and rates a permanent error critical', () => {
    const { emitted } = step({}, (ledger) => trackStatusErrors(ledger, frame(['PERMANENT_ERROR', 'TEMPORARY_ERROR'], T0)));
    expect(emitted.map((a) => [a.alertId, a.severity])).toEqual([
      [`MBUS_STATUS_ERROR|${DEVICE}|PERMANENT_ERROR`, 'CRITICAL'],
      [`MBUS_STATUS_ERROR|${DEVICE}|TEMPORARY_ERROR`, 'WARNING'],
    ]);
    expect(emitted[0]).toMatchObject({ kind: 'MBUS_STATUS_ERROR', subject: 'PERMANENT_ERROR', state: 'RAISED', organisationId: 'org-1', siteId: 'site-1', raisedAt: T0, clearedAt: null });
  });

  it('does not treat a busy meter or a low battery as an error', () => {
    const { emitted } = step({}, (ledger) => trackStatusErrors(ledger, frame(['APPLICATION_BUSY', 'POWER_LOW'], T0)));
    expect(emitted).toEqual([]);
  });

  it('leaves an error open on an uplink that says nothing about the status', () => {
    const raised = step({}, (ledger) => trackStatusErrors(ledger, frame(['LEAK'], T0, { format: 'CHIRPSTACK_EVENT' })));
    const quiet = step(raised.marks, (ledger) => trackStatusErrors(ledger, frame([], T0 + 1000, { format: 'CHIRPSTACK_EVENT', reportsStatus: false })));
    expect(quiet.emitted).toEqual([]);
    expect(quiet.marks[alertIdOf('MBUS_STATUS_ERROR', DEVICE, 'LEAK')]?.open).toBe(true);
  });

  it('raises station faults as STATION_DIAGNOSTIC and clears them with the next status message', () => {
    const raised = step({}, (ledger) => trackStatusErrors(ledger, frame(['SENSOR_FAULT:ch4'], T0, { format: 'STATION_STATUS' })));
    expect(raised.emitted.map((a) => a.alertId)).toEqual([`STATION_DIAGNOSTIC|${DEVICE}|SENSOR_FAULT:ch4`]);
    const telemetry = step(raised.marks, (ledger) => trackStatusErrors(ledger, frame([], T0 + 1, { format: 'STATION_TELEMETRY', reportsStatus: false })));
    expect(telemetry.emitted).toEqual([]);
    const status = step(telemetry.marks, (ledger) => trackStatusErrors(ledger, frame([], T0 + 2, { format: 'STATION_STATUS' })));
    expect(status.emitted.map((a) => a.state)).toEqual(['CLEARED']);
  });

  it('keeps the alertId and counts the revision on when a cleared problem comes back', () => {
    let marks: Record<string, AlertMark> = {};
    const seen: string[] = [];
    for (const [i, errors] of [['TEMPORARY_ERROR'], [], ['TEMPORARY_ERROR']].entries()) {
      const result = step(marks, (ledger) => trackStatusErrors(ledger, frame(errors, T0 + i)));
      marks = result.marks;
      seen.push(...result.emitted.map((a) => `${a.alertId}#${a.revision}:${a.state}`));
    }
    const id = `MBUS_STATUS_ERROR|${DEVICE}|TEMPORARY_ERROR`;
    expect(seen).toEqual([`${id}#1:RAISED`, `${id}#2:CLEARED`, `${id}#3:RAISED`]);
  });
});

describe('which uplinks state the device status', () => {
  it.each([
    ['MBUS_LONG_FRAME', 'readings', true],
    ['WMBUS_TELEGRAM', 'readings', true],
    ['STATION_STATUS', 'status', true],
    ['STATION_TELEMETRY', 'readings', false],
    ['CHIRPSTACK_EVENT', 'readings', true],
    ['CHIRPSTACK_EVENT', 'status', false],
    ['DECODED_VALUES_JSON', 'readings', false],
  ] as const)('%s with %s: %s', (format, kind, expected) => {
    expect(reportsStatus(format, kind)).toBe(expected);
  });
});

describe('low battery alert', () => {
  it('raises on a percentage below the threshold once, and clears only above threshold plus hysteresis', () => {
    let marks: Record<string, AlertMark> = {};
    const trail: string[] = [];
    for (const [i, percent] of [40, 12, 10, 17, 21].entries()) {
      const ledger = new AlertLedger(target, marks);
      const low = trackLowBattery(ledger, frame([], T0 + i, { batteryPercent: percent, format: 'CHIRPSTACK_EVENT', reportsStatus: false }));
      marks = ledger.marks();
      trail.push(`${percent}:${low}:${ledger.emitted.map((a) => a.state).join('')}`);
    }
    expect(trail).toEqual(['40:false:', '12:true:RAISED', '10:true:', '17:true:', '21:false:CLEARED']);
  });

  it('raises on a POWER_LOW status and clears when a frame reports the status without it', () => {
    const raised = step({}, (ledger) => trackLowBattery(ledger, frame(['POWER_LOW'], T0)));
    expect(raised.emitted.map((a) => [a.alertId, a.state])).toEqual([[`LOW_BATTERY|${DEVICE}|`, 'RAISED']]);
    const cleared = step(raised.marks, (ledger) => trackLowBattery(ledger, frame([], T0 + 1)));
    expect(cleared.emitted.map((a) => a.state)).toEqual(['CLEARED']);
  });

  it('does not clear a percentage alarm on an uplink without a percentage', () => {
    const raised = step({}, (ledger) => trackLowBattery(ledger, frame([], T0, { batteryPercent: 5 })));
    const later = step(raised.marks, (ledger) => trackLowBattery(ledger, frame([], T0 + 1)));
    expect(later.emitted).toEqual([]);
  });
});

describe('reset and new-device alerts', () => {
  it('raises SUSPECTED_RESET per register, then updates the open one on the next reset', () => {
    const reset = { registerKey: 'volume', unit: 'm3', from: 300, fromAt: T0, to: 2, at: T0 + 1 };
    const first = step({}, (ledger) => raiseSuspectedReset(ledger, reset));
    const second = step(first.marks, (ledger) => raiseSuspectedReset(ledger, { ...reset, from: 40, to: 1, at: T0 + 2 }));
    expect(first.emitted[0]).toMatchObject({ alertId: `SUSPECTED_RESET|${DEVICE}|volume`, state: 'RAISED', revision: 1, details: { previousValue: '300', value: '2', unit: 'm3' } });
    expect(second.emitted[0]).toMatchObject({ state: 'UPDATED', revision: 2, raisedAt: T0 + 1, updatedAt: T0 + 2 });
  });

  it('raises NEW_DEVICE only once', () => {
    const first = step({}, (ledger) => raiseNewDevice(ledger, { deviceId: DEVICE, details: { medium: 'water' }, at: T0 }));
    const again = step(first.marks, (ledger) => raiseNewDevice(ledger, { deviceId: DEVICE, details: {}, at: T0 + 1 }));
    expect(first.emitted.map((a) => [a.alertId, a.severity, a.state])).toEqual([[`NEW_DEVICE|${DEVICE}|`, 'INFO', 'RAISED']]);
    expect(again.emitted).toEqual([]);
  });

  it('forgets the oldest cleared problems beyond 64, never an open one', () => {
    const marks: Record<string, AlertMark> = { [alertIdOf('LOW_BATTERY', DEVICE, null)]: { revision: 1, raisedAt: 0, open: true } };
    for (let i = 0; i < 70; i++) marks[alertIdOf('MBUS_STATUS_ERROR', DEVICE, `ERROR_FLAGS:0x${i}`)] = { revision: 2, raisedAt: T0 + i, open: false };
    const kept = new AlertLedger(target, marks).marks();
    expect(Object.keys(kept)).toHaveLength(64);
    expect(kept[alertIdOf('LOW_BATTERY', DEVICE, null)]?.open).toBe(true);
    expect(kept[alertIdOf('MBUS_STATUS_ERROR', DEVICE, 'ERROR_FLAGS:0x0')]).toBeUndefined();
  });
});
