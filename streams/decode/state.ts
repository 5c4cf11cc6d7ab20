/**
 * The decode worker's state, kept per input partition by the stateful runner and backed by
 * `decode.changelog.v1`. Two kinds of value share the store (README.md, "State"):
 *
 * - `{deviceId}` → {@link DeviceState}: what the worker knows of a device between its uplinks.
 * - `{deviceId}#seen#{day}` → {@link SeenKeys}: idempotency keys of the uplinks decoded on one
 *   UTC day of their receipt, for duplicate suppression (dedup.ts).
 *
 * Values are never mutated in place: the runner stages every `put` until the batch's transaction
 * commits, and an object changed in place would survive an aborted batch.
 */
import { jsonStateCodec, type StateCodec } from '../runtime/state-codec.js';

/** The last value of a cumulative register, for the monotonicity check (registers.ts). */
export interface RegisterMark {
  /** In the canonical unit, before the registry's multiplier. */
  readonly value: number;
  /** observedAt of that value, epoch ms. */
  readonly at: number;
  /**
   * Resolution estimate (core/register-range.ts): the register counts in steps of 10^step, the
   * smallest step seen so far; absent while no nonzero value was seen.
   */
  readonly step?: number;
}

/** One problem an alert was raised for (alerts.ts); kept after it clears so revisions continue. */
export interface AlertMark {
  /** Revision of the last Alert record emitted for this alertId. */
  readonly revision: number;
  /** raisedAt of the current (or last) occurrence, event time. */
  readonly raisedAt: number;
  readonly open: boolean;
  /** What raised a LOW_BATTERY alert: the status (`status`) or a battery percentage (`percent`). */
  readonly by?: 'status' | 'percent';
}

/** What the worker keeps of a device. */
export interface DeviceState {
  readonly t: 'device';
  /** Revision of the last device.v1 record this worker emitted for the device. */
  readonly revision: number;
  /** receivedAt of the first decoded uplink, epoch ms. */
  readonly firstSeenAt: number;
  /** Latest receivedAt of a decoded uplink, epoch ms. */
  readonly lastSeenAt: number;
  /** receivedAt of the uplink whose facts were last written to PostgreSQL and device.v1 (throttling). */
  readonly reportedAt: number;
  /** Battery band of that write (device-events.ts); a new band is written at once. */
  readonly batteryBand: string;
  /** Latest reported battery and radio facts; device.v1 carries the latest known ones. */
  readonly batteryPercent?: number;
  readonly batteryVolts?: number;
  readonly rssiDbm?: number;
  readonly snrDb?: number;
  /**
   * Latest position the device reported (WGS 84 degrees, both or neither) and firmware version;
   * kept while later uplinks do not report them, and carried by every device.v1 record.
   */
  readonly latitudeDeg?: number;
  readonly longitudeDeg?: number;
  readonly firmwareVersion?: string;
  /** registerKey → last value of each cumulative register. */
  readonly registers: Readonly<Record<string, RegisterMark>>;
  /** alertId → state of each problem raised for the device. */
  readonly alerts: Readonly<Record<string, AlertMark>>;
  /** UTC day (days since the epoch) → number of idempotency keys kept for it. */
  readonly seenDays: Readonly<Record<string, number>>;
}

/** Idempotency keys (hashed) of the uplinks decoded on one day, oldest first. */
export interface SeenKeys {
  readonly t: 'seen';
  readonly keys: readonly string[];
}

/** A value of the decode worker's store. */
export type DecodeState = DeviceState | SeenKeys;

/** JSON in the changelog. */
export const decodeStateCodec: StateCodec<DecodeState> = jsonStateCodec<DecodeState>();

/** The state key of the idempotency keys of `deviceId` received on `day`. */
export function seenKey(deviceId: string, day: number): string {
  return `${deviceId}#seen#${day}`;
}

/** Narrows a stored value to a device state (the key decides the kind; this guards the type). */
export function asDeviceState(value: DecodeState | undefined): DeviceState | undefined {
  return value?.t === 'device' ? value : undefined;
}
