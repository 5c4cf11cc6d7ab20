/**
 * Reconciliation of a finished run: the simulator's ledger and send schedule against the raw
 * topic, the raw topic against reading.v1, and reading.v1 against Elasticsearch, by id.
 */
import { expect } from 'vitest';
import type { Ledger } from '../../connectors/simulator/ledger.js';
import { deviceIdOf } from '../../connectors/simulator/messages.js';
import type { RawUplink, Reading } from '../../schemas/avro/index.js';
import { waitFor } from '../support/stack.js';
import { sentSchedule, transportOf, type Doc, type Pipeline } from './pipeline.js';

/** What a settled run holds, for further checks. */
export interface SettledRun {
  readonly raw: readonly RawUplink[];
  readonly readings: readonly Reading[];
  readonly indexed: ReadonlyArray<Doc<Reading>>;
}

const SIMULATED_TRANSPORTS = ['chirpstack-mqtt', 'http', 'lns-websocket', 'mbus-tcp', 'station-mqtt', 'wmbus-mqtt'];

/**
 * Waits until everything the simulator had acknowledged is in the raw topic, decode has committed
 * the whole raw topic, and Elasticsearch holds as many readings as reading.v1 (read_committed).
 * `ignore` names devices the test sent bad input for, outside the simulator's ledger.
 */
export async function settle(pipeline: Pipeline, ledger: Ledger, ignore: ReadonlySet<string>, timeoutMs = 240_000): Promise<SettledRun> {
  const { kernel } = pipeline;
  const { catalogue } = kernel;
  expect(Object.keys(ledger).sort()).toEqual(SIMULATED_TRANSPORTS);
  for (const [transport, counts] of Object.entries(ledger)) {
    expect({ transport, acknowledged: counts.acknowledged, refused: counts.refused }).toEqual({ transport, acknowledged: counts.sent, refused: 0 });
  }

  let raw: RawUplink[] = [];
  let found: Record<string, number> = {};
  const expected = Object.fromEntries(Object.entries(ledger).map(([transport, c]) => [transport, c.acknowledged]));
  await waitFor('the raw topic to hold every uplink the simulator saw acknowledged', async () => {
    raw = (await pipeline.topicRecords(catalogue.rawUplinks)).filter((u) => !ignore.has(u.deviceId));
    const keys = new Map<string, Set<string>>();
    for (const u of raw) {
      const set = keys.get(transportOf(u)) ?? new Set<string>();
      set.add(`${u.deviceId}|${u.idempotencyKey}`);
      keys.set(transportOf(u), set);
    }
    found = Object.fromEntries([...keys].map(([t, s]) => [t, s.size]));
    return Object.entries(expected).every(([t, n]) => found[t] === n);
  }, { timeoutMs, intervalMs: 2000 }).catch((err: Error) => {
    throw new Error(`${err.message}: ledger ${JSON.stringify(expected)}, topic ${JSON.stringify(found)}`, { cause: err });
  });

  await waitFor('decode to commit the whole raw topic', () => committedEverything(pipeline, `${kernel.prefix}decode`, catalogue.rawUplinks.name),
    { timeoutMs, intervalMs: 1000 }).catch((err: Error) => {
    throw new Error(`${err.message}; decode stderr: ${pipeline.decode.stderr}`, { cause: err });
  });
  const readings = await pipeline.topicRecords(catalogue.readings);
  let indexedCount = 0;
  await waitFor(`Elasticsearch to hold the ${readings.length} readings of reading.v1`, async () => {
    indexedCount = await pipeline.count('readings');
    return indexedCount >= readings.length;
  }, { timeoutMs, intervalMs: 1000 }).catch((err: Error) => {
    throw new Error(`${err.message} (has ${indexedCount}); index stderr: ${pipeline.index.stderr}`, { cause: err });
  });
  const indexed = await pipeline.documents<Reading>('readings');
  return { raw, readings, indexed };
}

/**
 * Nothing lost, nothing counted twice: reading.v1 has each readingId once; Elasticsearch has
 * exactly reading.v1's ids; the readings come from exactly the first copy of each distinct raw
 * uplink; and each simulated device has one reading per message the simulator sent, at the times
 * it sent them.
 */
export function reconcile(pipeline: Pipeline, run: SettledRun): void {
  const ids = run.readings.map((r) => r.readingId);
  const seen = new Set<string>();
  const duplicates = ids.filter((id) => seen.has(id) || !seen.add(id));
  expect(duplicates, 'readingIds that appear more than once in reading.v1 (read_committed)').toEqual([]);
  const topicIds = new Set(ids);
  const indexedIds = new Set(run.indexed.map((d) => d._id));
  expect(run.indexed.length).toBe(indexedIds.size);
  expect([...indexedIds].filter((id) => !topicIds.has(id)), 'readings in Elasticsearch but not in reading.v1').toEqual([]);
  expect([...topicIds].filter((id) => !indexedIds.has(id)), 'readings in reading.v1 but not in Elasticsearch').toEqual([]);
  for (const doc of run.indexed) expect(doc.readingId).toBe(doc._id);

  // The first copy of each (device, idempotency key) is decoded; later copies are repeats.
  const firstCopies = new Map<string, RawUplink>();
  for (const u of run.raw) if (!firstCopies.has(`${u.deviceId}|${u.idempotencyKey}`)) firstCopies.set(`${u.deviceId}|${u.idempotencyKey}`, u);
  const decoded = new Map([...firstCopies.values()].map((u) => [u.uplinkId, u]));
  const byUplink = new Map<string, Reading[]>();
  for (const r of run.readings) {
    const list = byUplink.get(r.uplinkId) ?? [];
    list.push(r);
    byUplink.set(r.uplinkId, list);
  }
  expect([...byUplink.keys()].filter((id) => !decoded.has(id)), 'readings of an uplink that is not the first copy of a message').toEqual([]);
  const silent = [...decoded.values()].filter((u) => u.payloadFormat !== 'STATION_STATUS' && !byUplink.has(u.uplinkId));
  expect(silent.map((u) => `${u.deviceId} ${u.payloadFormat}`), 'uplinks without readings').toEqual([]);
  for (const [uplinkId, list] of byUplink) {
    expect(list.map((r) => r.readingId).sort()).toEqual(list.map((_, i) => `${uplinkId}:${i}`).sort());
  }

  // Against the simulator: one reading of the main register per message sent, at its time.
  const byDevice = new Map<string, Reading[]>();
  for (const r of run.readings) {
    const list = byDevice.get(r.deviceId) ?? [];
    list.push(r);
    byDevice.set(r.deviceId, list);
  }
  for (const [device, times] of sentSchedule(pipeline)) {
    const deviceId = deviceIdOf(device);
    const main = (byDevice.get(deviceId) ?? []).filter((r) => (device.kind === 'station-mqtt' ? r.quantity === 'co2' : r.storageNumber === 0));
    expect({ deviceId, readings: main.length }).toEqual({ deviceId, readings: times.length });
    // A wired meter's clock reads local time and the device has no site yet: its readings take the receipt time.
    if (device.kind !== 'mbus-tcp') {
      expect({ deviceId, observedAt: main.map((r) => r.observedAt).sort((a, b) => a - b) }).toEqual({ deviceId, observedAt: times });
    }
  }
}

/** Whether `groupId` has committed every partition of `topic` up to its high watermark. */
export async function committedEverything(pipeline: Pipeline, groupId: string, topic: string): Promise<boolean> {
  const admin = pipeline.kernel.kafka.admin();
  await admin.connect();
  try {
    const high = await admin.topicOffsets(topic);
    const committed = await admin.groupOffsets(groupId, topic);
    return high.every((p) => p.high === '0' || committed.find((c) => c.partition === p.partition)?.offset === p.high);
  } finally {
    await admin.disconnect();
  }
}
