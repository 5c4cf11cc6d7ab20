/**
 * The alerts worker's state, kept per input partition by the stateful runner and backed by
 * `alerts.changelog.v1`. Two kinds of value share the store:
 *
 * - `{deviceId}` (the input key) → {@link DeviceAlertState}: what the rules keep of a device.
 * - {@link PARTITION_KEY} → {@link PartitionMark}: the newest `receivedAt` of the partition, the
 *   silence rule's clock (silence.ts).
 *
 * Values are never mutated in place: the runner stages every `put` until the batch's transaction
 * commits, and an object changed in place would survive an aborted batch.
 */
import type { AlertMark } from '../decode/state.js';
import { jsonStateCodec, type StateCodec } from '../runtime/state-codec.js';
import type { FlowTrack } from './flow.js';
import type { GasTrack } from './concentration.js';
import type { SilenceTrack } from './silence.js';

export type { AlertMark };

/** What the worker keeps of a device. */
export interface DeviceAlertState {
  readonly t: 'device';
  /** Owner and site from the device's latest reading, for alerts raised by a timer (no reading at hand). */
  readonly organisationId: string | null;
  readonly siteId: string | null;
  readonly silence: SilenceTrack;
  /** registerKey → the continuous-flow evidence of a water or gas register. */
  readonly flows: Readonly<Record<string, FlowTrack>>;
  /** Gas symbol (`CO2`, `CH4`, `N2O`) → the threshold level a station's gas holds. */
  readonly gases: Readonly<Record<string, GasTrack>>;
  /** alertId → state of each problem this worker raised for the device (same scheme as decode's). */
  readonly alerts: Readonly<Record<string, AlertMark>>;
}

/** What the worker keeps of its partition. */
export interface PartitionMark {
  readonly t: 'partition';
  /** The newest receivedAt of a reading in the partition, epoch ms. */
  readonly newestReceivedAt: number;
}

/** A value of the alerts worker's store. */
export type AlertsState = DeviceAlertState | PartitionMark;

/** The key of the partition's {@link PartitionMark}; device ids never start with `~`. */
export const PARTITION_KEY = '~partition';

/** JSON in the changelog. */
export const alertsStateCodec: StateCodec<AlertsState> = jsonStateCodec<AlertsState>();

/** Narrows a stored value to a device's state (the key decides the kind; this guards the type). */
export function asDeviceState(value: AlertsState | undefined): DeviceAlertState | undefined {
  return value?.t === 'device' ? value : undefined;
}

/** The partition's newest receivedAt, 0 before any reading. */
export function newestReceivedAt(value: AlertsState | undefined): number {
  return value?.t === 'partition' ? value.newestReceivedAt : 0;
}
