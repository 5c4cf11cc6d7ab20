/**
 * Alerts the decode stage raises, one per problem rather than one per reading: the open problems
 * of a device are kept in its state ({@link AlertMark}), a problem is RAISED once, UPDATED when it
 * recurs while open (a second reset), and CLEARED when the condition is gone. Pure.
 *
 * | kind | subject | raised when | cleared when |
 * | --- | --- | --- | --- |
 * | NEW_DEVICE | — | an unknown device is auto-registered | never here: an operator confirms it |
 * | SUSPECTED_RESET | registerKey | a cumulative register went back without a wrap | never here: each reset updates it |
 * | MBUS_STATUS_ERROR | status code | a meter reports an error (status byte, error flags, a codec alarm) | an uplink that reports status lacks the code |
 * | STATION_DIAGNOSTIC | code | a station status reports a fault | the next station status lacks it |
 * | LOW_BATTERY | — | status POWER_LOW / LOW_BATTERY, or battery below `lowBatteryPercent` | status without it, or battery ≥ `lowBatteryPercent` + `batteryHysteresisPercent` |
 */
import type { Alert, AlertKind, AlertSeverity, PayloadFormat } from '../../schemas/avro/index.js';
import type { AlertMark } from './state.js';

/** Who the alerts of one uplink are about. */
export interface AlertTarget {
  readonly deviceId: string;
  readonly organisationId: string | null;
  readonly siteId: string | null;
}

/** Cleared problems kept per device beyond which the oldest are forgotten (their next revision restarts at 1). */
const MAX_MARKS = 64;

/** The alert changes of one uplink: starts from the device's marks and collects the records to emit. */
export class AlertLedger {
  readonly #target: AlertTarget;
  /** The device's marks, copied on the first change (most uplinks change none). */
  #marks: Readonly<Record<string, AlertMark>>;
  #copied = false;
  readonly #emitted: Alert[] = [];

  /** No marks at all (most devices, most uplinks): every lookup can answer without building an alertId. */
  #none: boolean;

  constructor(target: AlertTarget, marks: Readonly<Record<string, AlertMark>>) {
    this.#target = target;
    this.#marks = marks;
    this.#none = isEmpty(marks);
  }

  /** The Alert records to emit, in the order the changes happened. */
  get emitted(): readonly Alert[] {
    return this.#emitted;
  }

  /** The marks to keep in state; the oldest cleared ones are dropped past {@link MAX_MARKS}. */
  marks(): Readonly<Record<string, AlertMark>> {
    if (this.#none) return this.#marks;
    const ids = Object.keys(this.#marks);
    if (ids.length <= MAX_MARKS) return this.#marks;
    const cleared = ids.filter((id) => !this.#marks[id]!.open).sort((a, b) => this.#marks[a]!.raisedAt - this.#marks[b]!.raisedAt);
    const kept = { ...this.#marks };
    for (const id of cleared.slice(0, ids.length - MAX_MARKS)) delete kept[id];
    return kept;
  }

  isOpen(kind: AlertKind, subject: string | null): boolean {
    if (this.#none) return false;
    return this.#marks[alertIdOf(kind, this.#target.deviceId, subject)]?.open === true;
  }

  /** The mark of an open problem, if it is open. */
  openMark(kind: AlertKind, subject: string | null): AlertMark | undefined {
    if (this.#none) return undefined;
    const mark = this.#marks[alertIdOf(kind, this.#target.deviceId, subject)];
    return mark?.open === true ? mark : undefined;
  }

  /** Subjects of the open problems of `kind`. */
  openSubjects(kind: AlertKind): string[] {
    if (this.#none) return [];
    const prefix = `${kind}|${this.#target.deviceId}|`;
    return Object.keys(this.#marks)
      .filter((id) => id.startsWith(prefix) && this.#marks[id]!.open)
      .map((id) => id.slice(prefix.length));
  }

  /** Raises a problem unless it is already open. */
  raise(change: AlertChange, by?: AlertMark['by']): void {
    if (this.isOpen(change.kind, change.subject)) return;
    this.#record('RAISED', change, change.at, by);
  }

  /** Raises a problem, or updates it when it is already open. */
  raiseOrUpdate(change: AlertChange): void {
    const open = this.openMark(change.kind, change.subject);
    this.#record(open ? 'UPDATED' : 'RAISED', change, open?.raisedAt ?? change.at);
  }

  /** Clears a problem if it is open. */
  clear(change: AlertChange): void {
    const open = this.openMark(change.kind, change.subject);
    if (open === undefined) return;
    this.#record('CLEARED', change, open.raisedAt, open.by);
  }

  #record(state: 'RAISED' | 'UPDATED' | 'CLEARED', change: AlertChange, raisedAt: number, by?: AlertMark['by']): void {
    const alertId = alertIdOf(change.kind, this.#target.deviceId, change.subject);
    const revision = (this.#marks[alertId]?.revision ?? 0) + 1;
    const marks: Record<string, AlertMark> = this.#copied ? (this.#marks as Record<string, AlertMark>) : { ...this.#marks };
    marks[alertId] = { revision, raisedAt, open: state !== 'CLEARED', ...(by === undefined ? {} : { by }) };
    this.#marks = marks;
    this.#copied = true;
    this.#none = false;
    this.#emitted.push({
      alertId,
      deviceId: this.#target.deviceId,
      organisationId: this.#target.organisationId,
      siteId: this.#target.siteId,
      kind: change.kind,
      subject: change.subject,
      severity: change.severity,
      state,
      message: change.message,
      raisedAt,
      updatedAt: change.at,
      clearedAt: state === 'CLEARED' ? change.at : null,
      acknowledgedAt: null,
      acknowledgedBy: null,
      details: change.details ?? {},
      revision,
    });
  }
}

/** One change of a problem. */
export interface AlertChange {
  readonly kind: AlertKind;
  readonly subject: string | null;
  readonly severity: AlertSeverity;
  readonly message: string;
  /** Event time of the change, epoch ms. */
  readonly at: number;
  readonly details?: Record<string, string>;
}

/** Whether a record has no keys (without listing them). */
function isEmpty(record: object): boolean {
  for (const _ in record) return false;
  return true;
}

/** `Alert.alertId`: `{kind}|{deviceId}|{subject or empty}`. */
export function alertIdOf(kind: AlertKind, deviceId: string, subject: string | null): string {
  return `${kind}|${deviceId}|${subject ?? ''}`;
}

/** Status codes that are no error: the meter is busy answering. */
const NOT_ERRORS = new Set(['APPLICATION_BUSY']);
/** Status codes that mean a low battery, tracked as LOW_BATTERY rather than as errors. */
const LOW_POWER = new Set(['POWER_LOW', 'LOW_BATTERY']);
const CRITICAL = new Set(['PERMANENT_ERROR', 'LEAK', 'BURST']);

/** The error codes among a device's status codes (decoders' `statusErrors`). */
export function deviceErrorsOf(statusErrors: readonly string[]): string[] {
  return statusErrors.filter((code) => !NOT_ERRORS.has(code) && !LOW_POWER.has(code));
}

/** Whether the status codes report a low battery. */
export function reportsLowPower(statusErrors: readonly string[]): boolean {
  return statusErrors.some((code) => LOW_POWER.has(code));
}

/**
 * Whether an uplink states the device's status, so that a code missing from it means the problem
 * is gone: M-Bus frames and telegrams (status byte), station status messages, and LoRaWAN uplinks
 * whose codec produced data. Station telemetry, decoded-values JSON and LoRaWAN uplinks without
 * data (a ChirpStack `status` event) say nothing about it.
 */
export function reportsStatus(format: PayloadFormat, kind: 'readings' | 'status'): boolean {
  switch (format) {
    case 'MBUS_LONG_FRAME':
    case 'WMBUS_TELEGRAM':
    case 'STATION_STATUS':
      return true;
    case 'LORAWAN_PAYLOAD':
    case 'CHIRPSTACK_EVENT':
      return kind === 'readings';
    default:
      return false;
  }
}

/** What an uplink said about the device's status. */
export interface StatusReport {
  readonly format: PayloadFormat;
  /** Whether the uplink states the status at all ({@link reportsStatus}). */
  readonly reportsStatus: boolean;
  readonly statusErrors: readonly string[];
  readonly batteryPercent?: number;
  /** Event time of the uplink, epoch ms. */
  readonly at: number;
}

/** Thresholds of the battery alert. */
export interface BatteryLimits {
  /**
   * A battery below this percentage is low.
   * @default 15
   */
  readonly lowBatteryPercent?: number;
  /**
   * A low battery alert clears only at `lowBatteryPercent` plus this, so a level wavering around
   * the threshold does not raise and clear it over and over.
   * @default 5
   */
  readonly batteryHysteresisPercent?: number;
}

/** Raises and clears the device's error alerts (MBUS_STATUS_ERROR or STATION_DIAGNOSTIC) for one uplink. */
export function trackStatusErrors(ledger: AlertLedger, report: StatusReport): void {
  const station = report.format === 'STATION_STATUS' || report.format === 'STATION_TELEMETRY';
  const kind: AlertKind = station ? 'STATION_DIAGNOSTIC' : 'MBUS_STATUS_ERROR';
  const errors = deviceErrorsOf(report.statusErrors);
  for (const code of errors) {
    ledger.raise({
      kind,
      subject: code,
      severity: CRITICAL.has(code) ? 'CRITICAL' : 'WARNING',
      message: station ? `Station reports ${code}` : `Device reports ${code}`,
      at: report.at,
      details: { code, payloadFormat: report.format },
    });
  }
  if (!report.reportsStatus) return;
  for (const code of ledger.openSubjects(kind)) {
    if (errors.includes(code)) continue;
    ledger.clear({ kind, subject: code, severity: 'INFO', message: `${code} is no longer reported`, at: report.at, details: { code } });
  }
}

/** Raises and clears LOW_BATTERY for one uplink; returns whether the battery counts as low after it. */
export function trackLowBattery(ledger: AlertLedger, report: StatusReport, limits: BatteryLimits = {}): boolean {
  const low = limits.lowBatteryPercent ?? 15;
  const hysteresis = limits.batteryHysteresisPercent ?? 5;
  const percent = report.batteryPercent;
  const statusLow = reportsLowPower(report.statusErrors);
  if (statusLow || (percent !== undefined && percent < low)) {
    const details: Record<string, string> = percent === undefined ? {} : { batteryPercent: String(percent) };
    ledger.raise(
      {
        kind: 'LOW_BATTERY',
        subject: null,
        severity: 'WARNING',
        message: percent === undefined ? 'Device reports a low battery' : `Battery at ${percent} %`,
        at: report.at,
        details: { ...details, thresholdPercent: String(low) },
      },
      statusLow ? 'status' : 'percent',
    );
    return true;
  }
  const open = ledger.openMark('LOW_BATTERY', null);
  if (open === undefined) return false;
  const recharged = percent !== undefined && percent >= low + hysteresis;
  const statusFine = report.reportsStatus && open.by === 'status' && (percent === undefined || percent >= low);
  if (!recharged && !statusFine) return true;
  ledger.clear({
    kind: 'LOW_BATTERY',
    subject: null,
    severity: 'INFO',
    message: percent === undefined ? 'Device no longer reports a low battery' : `Battery back at ${percent} %`,
    at: report.at,
    details: percent === undefined ? {} : { batteryPercent: String(percent) },
  });
  return false;
}

/** A cumulative register went back without a wrap: raises SUSPECTED_RESET for it, or updates the open one. */
export function raiseSuspectedReset(
  ledger: AlertLedger,
  reset: { readonly registerKey: string; readonly unit: string; readonly from: number; readonly fromAt: number; readonly to: number; readonly at: number },
): void {
  ledger.raiseOrUpdate({
    kind: 'SUSPECTED_RESET',
    subject: reset.registerKey,
    severity: 'WARNING',
    message: `Register ${reset.registerKey} went back from ${reset.from} to ${reset.to} ${reset.unit} without a wrap; the reading is quarantined`,
    at: reset.at,
    details: {
      previousValue: String(reset.from),
      previousObservedAt: new Date(reset.fromAt).toISOString(),
      value: String(reset.to),
      unit: reset.unit,
    },
  });
}

/** An unknown device was auto-registered: raises NEW_DEVICE, for an operator to confirm or retire it. */
export function raiseNewDevice(ledger: AlertLedger, device: { readonly deviceId: string; readonly details: Record<string, string>; readonly at: number }): void {
  ledger.raise({
    kind: 'NEW_DEVICE',
    subject: null,
    severity: 'INFO',
    message: `New device ${device.deviceId} registered itself; confirm it to use its data`,
    at: device.at,
    details: device.details,
  });
}
