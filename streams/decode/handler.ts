/**
 * What the decode worker does with one raw uplink (README.md has the rules in full):
 *
 * 1. Skip it when its idempotency key was decoded within the window (dedup.ts).
 * 2. Look up the device (registry.ts), its profile (profiles.ts) and, for wM-Bus, its key
 *    (device-key-cache.ts); decode (decoders/). A decoder's BadInputError propagates: the runner
 *    dead-letters the uplink with its reason, and nothing is remembered of it.
 * 3. Auto-register an unknown device (registry row, registers, device.v1 FIRST_SEEN, NEW_DEVICE);
 *    keep a known device's last seen, battery, signal, position and firmware current, throttled
 *    (device-events.ts).
 * 4. Map the values to readings with quality flags (readings.ts), raise and clear alerts
 *    (alerts.ts), and keep the device's state.
 */
import { performance } from 'node:perf_hooks';
import { BadInputError, DecodeError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { TopicCatalogue } from '../../core/topics.js';
import type { RawUplink } from '../../schemas/avro/index.js';
import type { WorkerContext, WorkerInput } from '../runtime/stateful-worker.js';
import {
  AlertLedger,
  deviceErrorsOf,
  raiseNewDevice,
  raiseSuspectedReset,
  reportsStatus,
  trackLowBattery,
  trackStatusErrors,
  type BatteryLimits,
  type StatusReport,
} from './alerts.js';
import { decodeUplink, type DecodedDevice, type DecodedUplink, type Ts013Runner } from './decoders/index.js';
import { hashIdempotencyKey, isDuplicate, remember, type DedupOptions } from './dedup.js';
import type { DeviceKeySource } from './device-key-cache.js';
import { batteryBand, deviceRecord, newPositionOrFirmware, seenIsDue, type SeenOptions } from './device-events.js';
import { REDRIVEN_FROM_HEADER } from './headers.js';
import type { DecodeMetrics } from './metrics.js';
import type { ProfileSource } from './profiles.js';
import type { ClockLimits } from './quality.js';
import { mapReadings } from './readings.js';
import type { Registry, RegistryChange } from './registry.js';
import { transportIdsOf, type RegistryEntry } from './registry-entry.js';
import type { DeviceInsert, DeviceUpdate, RegisterInsert } from './registry-writes.js';
import { asDeviceState, type DecodeState, type DeviceState } from './state.js';

/** The decode stage's rules, each with its default. */
export interface DecodeOptions extends DedupOptions, ClockLimits, BatteryLimits, SeenOptions {}

/** What the handler works with. */
export interface DecodeHandlerDeps {
  readonly catalogue: TopicCatalogue;
  readonly registry: Registry;
  readonly keys: DeviceKeySource;
  readonly profiles: ProfileSource;
  /** Shared by the process; only `ts013` profiles use it. */
  readonly ts013: Ts013Runner;
  readonly metrics: DecodeMetrics;
  readonly logger: Logger;
  readonly options?: DecodeOptions;
}

/**
 * The handler and the per-batch hooks that batch its lookups and writes; worker.ts hands all three
 * to the stateful runner (its `handle`, `beforeBatch` and `beforeCommit`).
 */
export interface DecodeHandler {
  handle(record: WorkerInput<'RawUplink'>, ctx: WorkerContext<DecodeState>): Promise<void>;
  /**
   * Before a fetched batch is handled: loads the registry entries, keys and codecs of its devices at
   * once. A throw (PostgreSQL or Redis down) aborts the batch, which is processed again.
   */
  beforeBatch(partition: number, records: readonly WorkerInput<'RawUplink'>[]): Promise<void>;
  /**
   * Inside the batch's transaction, just before it commits: writes its registry changes. A throw
   * aborts the transaction, so Kafka never announces a device PostgreSQL does not have.
   */
  beforeCommit(partition: number): Promise<void>;
}

const MBUS = 'mbus:';

export function createDecodeHandler(deps: DecodeHandlerDeps): DecodeHandler {
  const { catalogue, registry, keys, profiles, ts013, metrics } = deps;
  const options = deps.options ?? {};
  const logger = deps.logger.child({ component: 'decode' });

  const keyFor = (meterId: string) => keys.keyFor(meterId);

  async function decode(uplink: RawUplink, entry: RegistryEntry | undefined, fresh: boolean): Promise<DecodedUplink> {
    const profile = await profiles.profileOf(entry, { fresh });
    if (uplink.payloadFormat === 'WMBUS_TELEGRAM') await keys.prefetch([uplink.deviceId], { fresh });
    const context = { profile, keyFor, ts013, timeZone: entry?.timeZone ?? undefined };
    try {
      return await decodeUplink(uplink, context);
    } catch (err) {
      const meterId = keyMissingFor(err);
      if (meterId === undefined) throw err;
      // A repeater or gateway may relay another meter's telegram under its own id: that meter's key was not loaded.
      if (!keys.has(meterId)) {
        await keys.prefetch([MBUS + meterId]);
        if (keys.keyFor(meterId) !== undefined) return decodeUplink(uplink, context);
      }
      const problem = keys.problemOf(meterId);
      if (problem !== undefined) throw new DecodeError(problem.reason, problem.message, { cause: problem, context: { meterId } });
      throw err;
    }
  }

  return {
    async handle({ message, value: uplink }, ctx) {
      const started = performance.now();
      const { deviceId, receivedAt } = uplink;
      const previous = asDeviceState(ctx.get(deviceId));
      const hash = hashIdempotencyKey(uplink.idempotencyKey);
      if (previous !== undefined && isDuplicate(ctx, deviceId, previous.seenDays, hash, receivedAt, options)) {
        metrics.duplicate();
        return;
      }
      const fresh = message.headers[REDRIVEN_FROM_HEADER] !== undefined;
      const known = await registry.entry(ctx.partition, deviceId, { fresh });
      let decoded: DecodedUplink;
      try {
        decoded = await decode(uplink, known, fresh);
      } catch (err) {
        if (err instanceof BadInputError) metrics.deadLettered(err.reason);
        throw err;
      }
      const facts = decoded.device;
      const at = uplink.deviceTimeAt ?? receivedAt;

      // First contact of this state with the device: announce it when it has no row, or when the
      // row is the one this very uplink created in an attempt whose transaction aborted.
      const announcing = previous === undefined && (known === undefined || known.firstUplinkId === uplink.uplinkId);
      let entry = known ?? newEntry(uplink, facts);
      const registers = newRegisters(entry, decoded);
      const fills = known === undefined ? undefined : fillIns(known, facts);
      entry = withChanges(entry, registers, fills);

      const organisationId = entry.organisationId ?? uplink.organisationId;
      const ledger = new AlertLedger({ deviceId, organisationId, siteId: entry.siteId }, previous?.alerts ?? {});
      if (announcing) raiseNewDevice(ledger, { deviceId, details: newDeviceDetails(entry, uplink), at });
      const report: StatusReport = {
        format: uplink.payloadFormat,
        reportsStatus: reportsStatus(uplink.payloadFormat, decoded.kind),
        statusErrors: facts.statusErrors,
        ...(facts.batteryPercent === undefined ? {} : { batteryPercent: facts.batteryPercent }),
        at,
      };
      trackStatusErrors(ledger, report);
      const lowBattery = trackLowBattery(ledger, report, options);
      const mapped = mapReadings({
        uplink,
        decoded,
        organisationId,
        siteId: entry.siteId,
        registers: entry.registers,
        marks: previous?.registers ?? {},
        deviceError: deviceErrorsOf(facts.statusErrors).length > 0,
        lowBattery,
        clock: options,
      });
      for (const reset of mapped.resets) raiseSuspectedReset(ledger, reset);

      // Built once and completed below before it is put: the stored value is never changed afterwards.
      const state = observed(previous, uplink, facts, mapped.marks, ledger.marks());
      const band = batteryBand(state.batteryPercent, state.batteryVolts);
      const change: { -readonly [K in keyof RegistryChange]: RegistryChange[K] } = { entry, registers };
      if (announcing) {
        state.revision = 1;
        state.reportedAt = receivedAt;
        state.batteryBand = band;
        change.insert = deviceInsert(entry, state, uplink);
        ctx.emit(catalogue.devices, deviceRecord(entry, state, 'FIRST_SEEN', ctx.now()));
        metrics.registered();
        logger.info({ deviceId, manufacturer: entry.manufacturer, medium: entry.medium }, 'new device registered itself');
      } else {
        if (fills !== undefined || seenIsDue(previous, band, receivedAt, options) || newPositionOrFirmware(previous, state)) {
          state.revision = Math.max(state.revision, entry.revision) + 1;
          state.reportedAt = receivedAt;
          state.batteryBand = band;
          change.update = deviceUpdate(deviceId, state, fills);
          ctx.emit(catalogue.devices, deviceRecord(entry, state, fills === undefined ? 'SEEN' : 'UPDATED', ctx.now()));
        }
        // The row is gone (deleted by hand) although this state knows the device: put it back quietly.
        if (known === undefined) change.insert = deviceInsert(entry, state, uplink);
      }
      if (change.insert !== undefined || change.update !== undefined || registers.length > 0) registry.stage(ctx.partition, change);

      for (const reading of mapped.readings) ctx.emit(catalogue.readings, reading);
      for (const alert of ledger.emitted) ctx.emit(catalogue.alerts, alert);
      state.seenDays = remember(ctx, deviceId, state.seenDays, hash, receivedAt, options);
      ctx.put(deviceId, state);

      if (decoded.warnings.length > 0) {
        metrics.warned(decoded.warnings.length);
        logger.debug({ deviceId, uplinkId: uplink.uplinkId, warnings: decoded.warnings }, 'decoder warnings');
      }
      metrics.decoded(mapped.readings.length, (performance.now() - started) / 1000);
    },

    async beforeBatch(partition, records) {
      const deviceIds = new Set<string>();
      for (const { value } of records) deviceIds.add(value.deviceId);
      const [entries] = await Promise.all([registry.prefetch(partition, deviceIds), keys.prefetch(deviceIds)]);
      await profiles.prefetch(entries.values());
    },

    beforeCommit: (partition) => registry.flush(partition),
  };
}

/** The meter whose key a `KEY_MISSING` rejection asked for. */
function keyMissingFor(err: unknown): string | undefined {
  if (!(err instanceof DecodeError) || err.reason !== 'KEY_MISSING') return undefined;
  const meterId = err.context['meterId'];
  return typeof meterId === 'string' ? meterId : undefined;
}

/** The entry of a device that registers itself with this uplink. */
function newEntry(uplink: RawUplink, facts: DecodedDevice): RegistryEntry {
  return {
    deviceId: uplink.deviceId,
    organisationId: null,
    siteId: null,
    timeZone: null,
    status: 'new',
    manufacturer: facts.manufacturer ?? null,
    model: null,
    deviceVersion: facts.version ?? null,
    medium: facts.medium ?? null,
    expectedIntervalS: facts.reportIntervalS ?? null,
    codec: null,
    firstSeenAt: uplink.receivedAt,
    firstUplinkId: uplink.uplinkId,
    revision: 1,
    registers: {},
  };
}

/** The registers an uplink reports that the entry does not have yet. */
function newRegisters(entry: RegistryEntry, decoded: DecodedUplink): RegisterInsert[] {
  const found = new Map<string, RegisterInsert>();
  for (const value of decoded.values) {
    if (entry.registers[value.registerKey] !== undefined || found.has(value.registerKey)) continue;
    found.set(value.registerKey, {
      deviceId: entry.deviceId,
      registerKey: value.registerKey,
      quantity: value.quantity,
      unit: value.unit,
      cumulative: value.cumulative,
      resolution: value.resolution ?? null,
    });
  }
  return [...found.values()];
}

/** Facts the uplink reports that the registry row lacks; decode never overwrites what people entered. */
interface FillIns {
  readonly manufacturer?: string;
  readonly deviceVersion?: number;
  readonly medium?: string;
  readonly expectedIntervalS?: number;
}

function fillIns(entry: RegistryEntry, facts: DecodedDevice): FillIns | undefined {
  const fills: { -readonly [K in keyof FillIns]?: FillIns[K] } = {};
  if (entry.manufacturer === null && facts.manufacturer !== undefined) fills.manufacturer = facts.manufacturer;
  if (entry.deviceVersion === null && facts.version !== undefined) fills.deviceVersion = facts.version;
  if (entry.medium === null && facts.medium !== undefined) fills.medium = facts.medium;
  if (entry.expectedIntervalS === null && facts.reportIntervalS !== undefined) fills.expectedIntervalS = facts.reportIntervalS;
  return Object.keys(fills).length === 0 ? undefined : fills;
}

function withChanges(entry: RegistryEntry, registers: readonly RegisterInsert[], fills: FillIns | undefined): RegistryEntry {
  if (registers.length === 0 && fills === undefined) return entry;
  const added = Object.fromEntries(registers.map((r) => [r.registerKey, { multiplier: '1', digits: null, resolution: r.resolution }]));
  return { ...entry, ...fills, registers: { ...entry.registers, ...added } };
}

type DraftState = { -readonly [K in keyof DeviceState]: DeviceState[K] };

/**
 * The device's state after hearing from it: times, the latest known battery, radio, position and
 * firmware facts (a fact the uplink does not report keeps its last value), and the given register
 * and alert marks. A fresh object, one copy of the previous state.
 */
function observed(
  previous: DeviceState | undefined,
  uplink: RawUplink,
  facts: DecodedDevice,
  registers: DeviceState['registers'],
  alerts: DeviceState['alerts'],
): DraftState {
  const at = uplink.receivedAt;
  let state: DraftState;
  if (previous === undefined) {
    state = { t: 'device', revision: 0, firstSeenAt: at, lastSeenAt: at, reportedAt: at, batteryBand: 'unknown', registers, alerts, seenDays: {} };
  } else {
    state = { ...previous, registers, alerts };
    if (at < state.firstSeenAt) state.firstSeenAt = at;
    if (at > state.lastSeenAt) state.lastSeenAt = at;
  }
  if (facts.batteryPercent !== undefined) state.batteryPercent = facts.batteryPercent;
  if (facts.batteryVolts !== undefined) state.batteryVolts = facts.batteryVolts;
  if (facts.rssiDbm !== undefined) state.rssiDbm = facts.rssiDbm;
  if (facts.snrDb !== undefined) state.snrDb = facts.snrDb;
  if (facts.location !== undefined) {
    state.latitudeDeg = facts.location.latitudeDeg;
    state.longitudeDeg = facts.location.longitudeDeg;
  }
  if (facts.firmwareVersion !== undefined) state.firmwareVersion = facts.firmwareVersion;
  return state;
}

function deviceInsert(entry: RegistryEntry, state: DeviceState, uplink: RawUplink): DeviceInsert {
  return {
    id: entry.deviceId,
    ...transportIdsOf(entry.deviceId),
    manufacturer: entry.manufacturer,
    deviceVersion: entry.deviceVersion,
    medium: entry.medium,
    expectedIntervalS: entry.expectedIntervalS,
    firstSeenAt: state.firstSeenAt,
    lastSeenAt: state.lastSeenAt,
    batteryPercent: state.batteryPercent ?? null,
    batteryVolts: state.batteryVolts ?? null,
    rssiDbm: state.rssiDbm ?? null,
    snrDb: state.snrDb ?? null,
    latitudeDeg: state.latitudeDeg ?? null,
    longitudeDeg: state.longitudeDeg ?? null,
    firmwareVersion: state.firmwareVersion ?? null,
    firstUplinkId: uplink.uplinkId,
    revision: state.revision,
  };
}

function deviceUpdate(deviceId: string, state: DeviceState, fills: FillIns | undefined): DeviceUpdate {
  return {
    id: deviceId,
    lastSeenAt: state.lastSeenAt,
    batteryPercent: state.batteryPercent ?? null,
    batteryVolts: state.batteryVolts ?? null,
    rssiDbm: state.rssiDbm ?? null,
    snrDb: state.snrDb ?? null,
    latitudeDeg: state.latitudeDeg ?? null,
    longitudeDeg: state.longitudeDeg ?? null,
    firmwareVersion: state.firmwareVersion ?? null,
    manufacturer: fills?.manufacturer ?? null,
    deviceVersion: fills?.deviceVersion ?? null,
    medium: fills?.medium ?? null,
    expectedIntervalS: fills?.expectedIntervalS ?? null,
    revision: state.revision,
  };
}

function newDeviceDetails(entry: RegistryEntry, uplink: RawUplink): Record<string, string> {
  const details: Record<string, string> = { transport: uplink.transport, payloadFormat: uplink.payloadFormat, uplinkId: uplink.uplinkId };
  if (entry.manufacturer !== null) details['manufacturer'] = entry.manufacturer;
  if (entry.medium !== null) details['medium'] = entry.medium;
  if (entry.deviceVersion !== null) details['deviceVersion'] = String(entry.deviceVersion);
  return details;
}
