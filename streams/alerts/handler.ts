/**
 * What the alerts worker does with one reading and with a due timer (README.md has the rules):
 *
 * 1. The device was heard: a silence in progress clears (silence.ts), and the device's silence
 *    timer moves to `receivedAt` + k × its expected interval.
 * 2. A water or gas meter's volume or flow reading extends or ends its continuous-flow evidence
 *    (flow.ts).
 * 3. A station's CO₂, CH₄ or N₂O sample is held against its thresholds (concentration.ts).
 * 4. A due timer reads the device's registry row again; when its `last_seen_at` (decode keeps it
 *    for every uplink it takes, readings or not, throttled) is newer than the time the device was
 *    last heard, the device was heard then, as by a reading received at that time (1). Then it
 *    raises, escalates, re-checks or clears DEVICE_SILENT.
 *
 * Every change goes through decode's {@link AlertLedger}, so ids, revisions and the
 * RAISED/UPDATED/CLEARED lifecycle are the same as for the alerts decode raises; this worker never
 * writes ACKNOWLEDGED (operators acknowledge through the API).
 */
import type { TopicCatalogue } from '../../core/topics.js';
import type { Alert, QualityFlag, Reading } from '../../schemas/avro/index.js';
import { AlertLedger } from '../decode/alerts.js';
import type { WorkerContext, WorkerInput } from '../runtime/stateful-worker.js';
import { GAS_OF_QUANTITY, trackConcentration } from './concentration.js';
import { observeFlow, trackContinuousFlow, type FlowObservation, type FlowRules } from './flow.js';
import type { AlertsRegistry } from './registry.js';
import { checkSilence, heard, silenceClock, silenceDueAt, silenceWindowMs, type SilenceRules } from './silence.js';
import { asDeviceState, newestReceivedAt, PARTITION_KEY, type AlertsState } from './state.js';

/** The worker's rules. */
export interface AlertsRules extends SilenceRules, FlowRules {}

/** What the handler works with. */
export interface AlertsHandlerDeps {
  readonly catalogue: TopicCatalogue;
  readonly registry: AlertsRegistry;
  readonly rules: AlertsRules;
  /** Told about every record emitted (metrics). */
  readonly onEmitted?: (alert: Alert) => void;
}

/** The handler and the hooks worker.ts hands to the stateful runner. */
export interface AlertsHandler {
  handle(record: WorkerInput<'Reading'>, ctx: WorkerContext<AlertsState>): void;
  /** Loads the batch's device rows, then the thresholds of the organisations of its gas samples. */
  beforeBatch(partition: number, records: readonly WorkerInput<'Reading'>[]): Promise<void>;
  timerOf(state: AlertsState): number | undefined;
  /**
   * Re-reads the device's registry row (cached), takes a newer `last_seen_at` as contact, then
   * raises, escalates, re-checks or clears its silence.
   */
  onTimer(key: string, ctx: WorkerContext<AlertsState>): Promise<void>;
}

/** Media whose volume never pauses only when something leaks (heating circuits flow all the time). */
const FLOW_MEDIA = new Set(['water', 'warm_water', 'hot_water', 'cold_water', 'dual_water', 'gas']);

/** Flags that keep a value out of the flow and threshold rules (it still proves the device talked). */
const UNUSABLE: ReadonlySet<QualityFlag> = new Set(['SUSPECTED_RESET', 'OUT_OF_RANGE', 'CLOCK_IN_FUTURE', 'CLOCK_TOO_OLD', 'DEVICE_ERROR']);

/** Whether a reading is a current, usable value (not a stored one, a tariff register or an extreme). */
function usable(reading: Reading): boolean {
  return reading.function === 'INSTANTANEOUS' && reading.storageNumber === 0 && reading.tariff === 0 && !reading.qualityFlags.some((f) => UNUSABLE.has(f));
}

/** The flow evidence a reading carries, if its register is watched. */
export function flowObservationOf(reading: Reading): FlowObservation | undefined {
  if (!usable(reading)) return undefined;
  if (reading.quantity === 'volume' && reading.cumulative) {
    return { kind: 'cumulative', at: reading.observedAt, value: reading.value, wrapped: reading.qualityFlags.includes('ROLLOVER') };
  }
  if (reading.quantity === 'volume_flow') return { kind: 'rate', at: reading.observedAt, value: reading.value };
  return undefined;
}

export function createAlertsHandler(deps: AlertsHandlerDeps): AlertsHandler {
  const { catalogue, registry, rules } = deps;
  const busyForMs = rules.busyForMs ?? 30_000;
  /**
   * Per input partition, wall clock: when this instance last handled a record of it, since when it
   * has had it, and when it last looked at it at all. The runner does not say when a partition is
   * (re)assigned; a partition not looked at for longer than `busyForMs` counts as taken over anew.
   */
  const activity = new Map<number, { handledAt: number; since: number; touchedAt: number }>();

  /** The partition clock of the silence rule (silence.ts). */
  function clockOf(ctx: WorkerContext<AlertsState>, handling: boolean): number {
    const now = ctx.now();
    let seen = activity.get(ctx.partition);
    if (seen === undefined || now - seen.touchedAt > busyForMs) {
      seen = { handledAt: Number.NEGATIVE_INFINITY, since: now, touchedAt: now };
      activity.set(ctx.partition, seen);
    }
    if (handling) seen.handledAt = now;
    seen.touchedAt = now;
    const busy = now - Math.max(seen.handledAt, seen.since) < busyForMs;
    return silenceClock(now, newestReceivedAt(ctx.get(PARTITION_KEY)), busy);
  }

  function emit(ctx: WorkerContext<AlertsState>, ledger: AlertLedger): void {
    for (const alert of ledger.emitted) {
      ctx.emit(catalogue.alerts, alert);
      deps.onEmitted?.(alert);
    }
  }

  return {
    handle({ value: reading }, ctx) {
      const { deviceId } = reading;
      const previous = asDeviceState(ctx.get(deviceId));
      const device = registry.device(deviceId);
      if (reading.receivedAt > newestReceivedAt(ctx.get(PARTITION_KEY))) ctx.put(PARTITION_KEY, { t: 'partition', newestReceivedAt: reading.receivedAt });
      const organisationId = reading.organisationId ?? device?.organisationId ?? previous?.organisationId ?? null;
      const siteId = reading.siteId ?? previous?.siteId ?? null;
      const ledger = new AlertLedger({ deviceId, organisationId, siteId }, previous?.alerts ?? {});

      const windowMs = silenceWindowMs(device, rules);
      const silence = heard(ledger, previous?.silence, reading.receivedAt, windowMs, clockOf(ctx, true));

      let flows = previous?.flows ?? {};
      const observation = device?.medium != null && FLOW_MEDIA.has(device.medium) ? flowObservationOf(reading) : undefined;
      if (observation !== undefined) {
        const key = reading.registerKey;
        const track = trackContinuousFlow(ledger, key, reading.unit, observeFlow(flows[key], observation), rules);
        if (track !== flows[key]) flows = { ...flows, [key]: track };
      }

      let gases = previous?.gases ?? {};
      const gas = GAS_OF_QUANTITY[reading.quantity];
      if (gas !== undefined && reading.unit === 'ppm' && usable(reading)) {
        const thresholds = registry.thresholds(organisationId, deviceId, gas);
        const track = trackConcentration(ledger, gas, gases[gas], { at: reading.observedAt, valuePpm: reading.value }, thresholds);
        if (track !== gases[gas]) gases = { ...gases, [gas]: track };
      }

      ctx.put(deviceId, { t: 'device', organisationId, siteId, silence, flows, gases, alerts: ledger.emitted.length === 0 ? (previous?.alerts ?? {}) : ledger.marks() });
      emit(ctx, ledger);
    },

    async beforeBatch(_partition, records) {
      const deviceIds = new Set<string>();
      for (const { value } of records) deviceIds.add(value.deviceId);
      await registry.prefetchDevices(deviceIds);
      const organisations = new Set<string>();
      for (const { value } of records) {
        if (GAS_OF_QUANTITY[value.quantity] === undefined) continue;
        const owner = value.organisationId ?? registry.device(value.deviceId)?.organisationId;
        if (owner) organisations.add(owner);
      }
      if (organisations.size > 0) await registry.prefetchThresholds(organisations);
    },

    timerOf: (state) => (state.t === 'device' ? silenceDueAt(state.silence, rules) : undefined),

    async onTimer(key, ctx) {
      const state = asDeviceState(ctx.get(key));
      if (state === undefined) return;
      await registry.prefetchDevices([key]);
      const device = registry.device(key);
      const windowMs = silenceWindowMs(device, rules);
      const clock = clockOf(ctx, false);
      const ledger = new AlertLedger({ deviceId: key, organisationId: state.organisationId, siteId: state.siteId }, state.alerts);
      let silence = state.silence;
      // Contact decode recorded in the registry (uplinks without readings count): heard then, as by
      // a reading received at that time. It clears an open silence only when it is within the window
      // of the wall clock, not of the partition clock: that clock says how far this worker has read
      // its own input (and is stale when a quiet partition is looked at anew), while the registry is
      // not behind it; so contact older than a window by the wall clock never clears, and a silence
      // cleared here is not raised again by the next check. For the same reason the registry's time
      // does not move the partition clock. A retired device is left to checkSilence.
      const lastSeenAt = device?.lastSeenAt ?? null;
      if (windowMs > 0 && lastSeenAt !== null && lastSeenAt > silence.heardAt) silence = heard(ledger, silence, lastSeenAt, windowMs, ctx.now(), 'registry');
      silence = checkSilence(ledger, silence, windowMs, ctx.now(), clock, rules);
      ctx.put(key, { ...state, silence, alerts: ledger.marks() });
      emit(ctx, ledger);
    },
  };
}
