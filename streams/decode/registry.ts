/**
 * The registry as the decode handler sees it: entries read through the cache, and changes staged
 * per input partition during a batch and written to PostgreSQL in one statement just before the
 * batch's Kafka transaction commits (the runner's `beforeCommit` hook). A failed write aborts the
 * transaction, so Kafka never announces a device PostgreSQL does not have; a write whose
 * transaction then aborts is repeated, idempotently, when the batch is processed again.
 */
import type { Logger } from '../../core/log.js';
import type { RegistryCache } from './registry-cache.js';
import type { Queryable, RegistryEntry } from './registry-entry.js';
import { writeRegistry, type DeviceInsert, type DeviceUpdate, type RegisterInsert } from './registry-writes.js';

/** One device's changes from one uplink. */
export interface RegistryChange {
  /** The device's entry once the change is written: served to later records of the batch, cached after the write. */
  readonly entry: RegistryEntry;
  readonly insert?: DeviceInsert;
  readonly registers?: readonly RegisterInsert[];
  readonly update?: DeviceUpdate;
}

/** What the handler asks of the registry. */
export interface RegistryPort {
  /**
   * The device's entry: as staged earlier in this batch, else from the cache (loading it when the
   * batch's prefetch did not). `fresh` bypasses the cache tiers.
   * @throws when PostgreSQL cannot be asked (retriable: the batch is processed again).
   */
  entry(partition: number, deviceId: string, options?: { readonly fresh?: boolean }): Promise<RegistryEntry | undefined>;
  /** Stages a change, to be written before the batch commits. */
  stage(partition: number, change: RegistryChange): void;
}

/** The registry with its batch hooks. */
export interface Registry extends RegistryPort {
  /** At the start of a batch: drops what an aborted attempt staged and loads the batch's devices. */
  prefetch(partition: number, deviceIds: Iterable<string>): Promise<Map<string, RegistryEntry | undefined>>;
  /** Before the batch commits: writes what was staged, then caches the entries it changed. */
  flush(partition: number): Promise<void>;
}

/** Options of {@link createRegistry}. */
export interface RegistryOptions {
  readonly db: Queryable;
  readonly cache: RegistryCache;
  readonly logger: Logger;
}

interface Staged {
  entry: RegistryEntry;
  insert?: DeviceInsert;
  readonly registers: Map<string, RegisterInsert>;
  update?: DeviceUpdate;
  /** The entry differs from what the cache holds (new device, new registers, filled-in facts). */
  entryChanged: boolean;
}

export function createRegistry({ db, cache, logger }: RegistryOptions): Registry {
  const log = logger.child({ component: 'registry' });
  const staged = new Map<number, Map<string, Staged>>();

  function stagedOf(partition: number): Map<string, Staged> {
    let devices = staged.get(partition);
    if (devices === undefined) staged.set(partition, (devices = new Map()));
    return devices;
  }

  return {
    async entry(partition, deviceId, options = {}) {
      const own = staged.get(partition)?.get(deviceId);
      if (own !== undefined) return own.entry;
      const cached = options.fresh === true ? undefined : cache.peek(deviceId);
      if (cached !== undefined) return cached.entry;
      return (await cache.getMany([deviceId], options)).get(deviceId);
    },

    stage(partition, change) {
      const devices = stagedOf(partition);
      const deviceId = change.entry.deviceId;
      const previous = devices.get(deviceId);
      const next: Staged = previous ?? { entry: change.entry, registers: new Map(), entryChanged: false };
      next.entry = change.entry;
      next.entryChanged ||= change.insert !== undefined || (change.registers?.length ?? 0) > 0 || fillsIn(change.update);
      if (change.insert !== undefined) next.insert ??= change.insert;
      for (const register of change.registers ?? []) next.registers.set(register.registerKey, register);
      if (change.update !== undefined) {
        // The insert is not visible to an update in the same statement: fold the update into it.
        if (next.insert !== undefined) next.insert = { ...next.insert, ...definedFacts(change.update), lastSeenAt: change.update.lastSeenAt, revision: change.update.revision };
        else next.update = change.update;
      }
      devices.set(deviceId, next);
    },

    async prefetch(partition, deviceIds) {
      staged.delete(partition);
      return cache.getMany(deviceIds);
    },

    async flush(partition) {
      const devices = staged.get(partition);
      staged.delete(partition);
      if (devices === undefined || devices.size === 0) return;
      const all = [...devices.values()];
      const counts = await writeRegistry(db, {
        inserts: all.flatMap((s) => (s.insert === undefined ? [] : [s.insert])),
        registers: all.flatMap((s) => [...s.registers.values()]),
        updates: all.flatMap((s) => (s.update === undefined ? [] : [s.update])),
      });
      log.debug({ partition, ...counts }, 'registry written');
      await cache.put(all.filter((s) => s.entryChanged).map((s) => s.entry));
    },
  };
}

/** Whether an update fills in facts the entry lacked (it carries them only then). */
function fillsIn(update: DeviceUpdate | undefined): boolean {
  if (update === undefined) return false;
  return update.manufacturer !== null || update.deviceVersion !== null || update.medium !== null || update.expectedIntervalS !== null;
}

/** The facts an update reports (its non-null battery, signal, position and firmware values), for folding into an insert. */
function definedFacts(update: DeviceUpdate): Partial<DeviceInsert> {
  const facts: { -readonly [K in keyof DeviceInsert]?: DeviceInsert[K] } = {};
  if (update.batteryPercent !== null) facts.batteryPercent = update.batteryPercent;
  if (update.batteryVolts !== null) facts.batteryVolts = update.batteryVolts;
  if (update.rssiDbm !== null) facts.rssiDbm = update.rssiDbm;
  if (update.snrDb !== null) facts.snrDb = update.snrDb;
  if (update.latitudeDeg !== null && update.longitudeDeg !== null) {
    facts.latitudeDeg = update.latitudeDeg;
    facts.longitudeDeg = update.longitudeDeg;
  }
  if (update.firmwareVersion !== null) facts.firmwareVersion = update.firmwareVersion;
  return facts;
}
