/**
 * The alerts worker's state, one value per device (key `{deviceId}`, the input key), kept per input
 * partition by the stateful runner and backed by `alerts.changelog.v1`. Values are never mutated in
 * place: the runner stages every `put` until the batch's transaction commits, and an object changed
 * in place would survive an aborted batch.
 */
import type { AlertMark } from '../decode/state.js';
import { jsonStateCodec, type StateCodec } from '../runtime/state-codec.js';
import type { FlowTrack } from './flow.js';
import type { GasTrack } from './concentration.js';
import type { SilenceTrack } from './silence.js';

export type { AlertMark };

/** What the worker keeps of a device. */
export interface DeviceAlertState {
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

/** JSON in the changelog. */
export const alertsStateCodec: StateCodec<DeviceAlertState> = jsonStateCodec<DeviceAlertState>();
