/**
 * The stateful stream workers behind the whole pipeline, with the fleet simulator sending through
 * the real connectors and decode:
 *
 * - consumption, run as a child process, is killed with SIGKILL mid-run, started again, then joined
 *   by a second instance; once the run has drained, its daily and monthly records (latest per key,
 *   read_committed) equal those of one clean run over the same reading.v1, under a consumer group,
 *   changelog and output topics of their own (and so do all the revisions before the latest);
 * - alerts raises DEVICE_SILENT for a device the simulator keeps quiet, clears it when the device
 *   talks again, and raises it for no other device.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { Lifecycle } from '../../core/lifecycle.js';
import { createLogger } from '../../core/log.js';
import type { TopicCatalogue, TopicSpec } from '../../core/topics.js';
import { createFleet, type FleetMix } from '../../connectors/simulator/fleet.js';
import { deviceIdOf } from '../../connectors/simulator/messages.js';
import type { Alert, Consumption } from '../../schemas/avro/index.js';
import { createAlertsProcess } from '../../streams/alerts/main.js';
import { CONSUMPTION_WORKER, createConsumptionWorker } from '../../streams/consumption/worker.js';
import { createRegistry } from '../../streams/consumption/registry.js';
import { deleteTopics, readToEnd, testKernel, waitFor, type TestKernel } from '../support/stack.js';
import { ChildWorker, finishSimulation, randomSeed, startPipeline, type Pipeline } from './pipeline.js';
import { settle } from './reconcile.js';

const HOUR = 3_600_000;

/**
 * How far `groupId` has consumed `topic` against what it holds (read_committed): per partition, the
 * offset after its last record, and whether the group's committed offset reached it. (A committed
 * offset can stop one short of the high watermark: a transaction's commit marker follows the last
 * record of a topic written in transactions, as reading.v1 is.)
 */
async function consumedThrough(kernel: TestKernel, groupId: string, topic: string): Promise<{ done: boolean; committed: bigint }> {
  const ends = new Map<number, bigint>();
  for (const m of await readToEnd(kernel, topic)) ends.set(m.partition, BigInt(m.offset) + 1n);
  const admin = kernel.kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.groupOffsets(groupId, topic);
    const at = (partition: number) => {
      const offset = BigInt(offsets.find((o) => o.partition === partition)?.offset ?? '-1');
      return offset > 0n ? offset : 0n;
    };
    const committed = offsets.reduce((sum, o) => sum + at(o.partition), 0n);
    return { done: [...ends].every(([partition, end]) => at(partition) >= end), committed };
  } finally {
    await admin.disconnect();
  }
}

/** Records committed by `groupId` on `topic`, summed over partitions. */
async function committedCount(kernel: TestKernel, groupId: string, topic: string): Promise<bigint> {
  const admin = kernel.kafka.admin();
  await admin.connect();
  try {
    return (await admin.groupOffsets(groupId, topic)).reduce((sum, o) => sum + (BigInt(o.offset) > 0n ? BigInt(o.offset) : 0n), 0n);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Every daily and monthly record per key (read_committed), in the order written, without
 * `computedAt`, as JSON; the last of each list is the key's latest.
 */
async function consumptionRecords(kernel: TestKernel, catalogue: TopicCatalogue): Promise<Map<string, string[]>> {
  const byKey = new Map<string, string[]>();
  for (const topic of [catalogue.consumptionDaily, catalogue.consumptionMonthly]) {
    for (const m of await readToEnd(kernel, topic.name)) {
      const { computedAt: _computedAt, ...record } = (await kernel.codec.decode('Consumption', m.value)).value;
      const key = `${topic.name.slice(kernel.prefix.length)}|${m.key?.toString('utf8') ?? ''}`;
      byKey.set(key, [...(byKey.get(key) ?? []), JSON.stringify(record)]);
    }
  }
  return byKey;
}

const latestOf = (records: Map<string, string[]>) => new Map([...records].map(([key, list]) => [key, list.at(-1)!]));

describe('consumption behind the pipeline, killed, restarted and scaled out mid-run', () => {
  // A closed period's status would turn FINAL at its grace end by the wall clock: far enough away
  // that the crash run and the later clean run see every status alike.
  const RULES = { graceMs: 10 * 24 * HOUR, lateWindowMs: 7 * 24 * HOUR };
  const SPEED = 1200;
  let pipeline: Pipeline;
  let reference: TestKernel | undefined;
  const workers: ChildWorker[] = [];

  beforeAll(async () => {
    pipeline = await startPipeline({
      label: 'e2e-cons',
      mix: { 'mbus-tcp': 3, 'wmbus-mqtt': 3, 'chirpstack-mqtt': 3, 'lns-websocket': 3, http: 3, 'station-mqtt': 1 },
      // Two days (two midnights: closed days besides the open one) sent at 1200× take 144 s, long
      // enough for a kill, a restart and a second instance joining while readings keep coming.
      backfillMs: 48 * HOUR,
      speed: SPEED,
    });
  }, 300_000);

  afterAll(async () => {
    for (const worker of workers) await worker.kill();
    if (reference !== undefined) await deleteTopics(reference);
    await pipeline?.close();
  }, 300_000);

  /** The simulator still has more than 10 s of backfill to send. */
  const midRun = () => (Date.now() - pipeline.simulator.clockMs()) / SPEED > 10_000;

  it('gives the same daily and monthly records as one clean run over the same readings', async () => {
    const { kernel } = pipeline;
    const { catalogue, prefix } = kernel;
    const group = `${prefix}${CONSUMPTION_WORKER}`;
    const env = {
      ...process.env,
      CONSUMPTION_GRACE_MS: String(RULES.graceMs),
      CONSUMPTION_LATE_WINDOW_MS: String(RULES.lateWindowMs),
      LOG_LEVEL: process.env['E2E_LOG_LEVEL'] ?? 'error',
    };
    const consumer = (name: string) => {
      const worker = new ChildWorker(name, 'streams/consumption/testing/consumption-process.ts', [prefix], env);
      workers.push(worker);
      return worker;
    };
    const first = consumer('consumption');
    const second = consumer('consumption-2');
    await first.start();
    await pipeline.startSimulator();

    await waitFor('consumption to commit some readings', async () => (await committedCount(kernel, group, catalogue.readings.name)) > 0n,
      { timeoutMs: 120_000, intervalMs: 100 });
    expect(midRun()).toBe(true);
    await first.kill();
    const atKill = await committedCount(kernel, group, catalogue.readings.name);
    await first.start();
    await waitFor('the restarted consumption to commit more readings', async () => (await committedCount(kernel, group, catalogue.readings.name)) > atKill,
      { timeoutMs: 180_000, intervalMs: 200 }).catch((err: Error) => {
      throw new Error(`${err.message}; consumption stderr: ${first.stderr}`, { cause: err });
    });
    expect(midRun()).toBe(true);
    await second.start();

    const ledger = await finishSimulation(pipeline);
    const run = await settle(pipeline, ledger, new Set(), 300_000);
    await waitFor('both instances to commit the whole of reading.v1', async () => (await consumedThrough(kernel, group, catalogue.readings.name)).done,
      { timeoutMs: 300_000, intervalMs: 1000 }).catch((err: Error) => {
      throw new Error(`${err.message}; stderr: ${first.stderr} ${second.stderr}`, { cause: err });
    });
    await Promise.all([first.stop(), second.stop()]);
    expect([first.starts, second.starts]).toEqual([2, 1]);
    const actualRecords = await consumptionRecords(kernel, catalogue);

    // The clean run: one in-process worker over the same reading.v1, with a group, changelog and
    // outputs (dead letters included) of its own.
    reference = await testKernel('e2e-cons-ref');
    const ref = reference;
    const readings: TopicSpec<'Reading'> = catalogue.readings;
    const refCatalogue: TopicCatalogue = {
      ...ref.catalogue,
      readings,
      dlqOf: (topic) => ref.catalogue.dlqOf(topic === readings ? ref.catalogue.readings : topic),
    };
    const clean = createConsumptionWorker({
      kafka: ref.kafka, codec: ref.codec, catalogue: refCatalogue, logger: createLogger({ level: 'error', name: 'consumption-clean' }),
      registry: createRegistry({ db: pipeline.db, logger: ref.logger }), rules: RULES, prefix: ref.prefix,
    });
    await clean.start();
    try {
      await waitFor('the clean run to commit the whole of reading.v1', async () => (await consumedThrough(kernel, `${ref.prefix}${CONSUMPTION_WORKER}`, readings.name)).done,
        { timeoutMs: 300_000, intervalMs: 1000 });
    } finally {
      await clean.stop();
    }
    const expectedRecords = await consumptionRecords(ref, ref.catalogue);
    const [actual, expected] = [latestOf(actualRecords), latestOf(expectedRecords)];

    // The run produced consumption worth comparing: the meters' registers, closed days among them.
    const registers = new Set([...expected.values()].map((json) => (JSON.parse(json) as Consumption).registerId));
    expect(registers.size).toBeGreaterThanOrEqual(9);
    expect([...expected.values()].some((json) => (JSON.parse(json) as Consumption).delta !== null)).toBe(true);
    expect(run.readings.length).toBeGreaterThan(0);

    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, record] of expected) expect(actual.get(key), key).toEqual(record);
    // Record for record, revisions before the latest included: the aborted batches of the killed
    // instance left nothing visible, and the restored state emitted what the clean run emitted.
    for (const [key, records] of expectedRecords) expect(actualRecords.get(key), key).toEqual(records);
  }, 1_200_000);
});

describe('alerts behind the pipeline, for a device the simulator keeps quiet', () => {
  const MIX: FleetMix = { 'mbus-tcp': 2, 'wmbus-mqtt': 2, 'chirpstack-mqtt': 2, 'lns-websocket': 2, http: 2, 'station-mqtt': 1 };
  const INTERVAL_MS = 5_000;
  // Window = 4 × 5 s (meters have no expected interval in the registry; stations state theirs, 60 s):
  // 4 reporting intervals of slack for the others, and a 70 s silence raises (not CRITICAL yet: 80 s).
  const FACTOR = 4;
  const SILENCE = { afterMs: 20_000, durationMs: 70_000 };
  const seed = randomSeed();
  // The fleet as the pipeline's simulator builds it from the seed: only its ids are used.
  const silent = deviceIdOf(createFleet(MIX, { seed, startMs: 0, intervalMs: INTERVAL_MS }).find((d) => d.kind === 'chirpstack-mqtt')!);
  let pipeline: Pipeline;
  let alerts: Lifecycle | undefined;

  beforeAll(async () => {
    pipeline = await startPipeline({
      label: 'e2e-silence',
      mix: MIX,
      seed,
      intervalMs: INTERVAL_MS,
      backfillMs: 0,
      speed: 1,
      faults: { silence: [{ deviceId: silent, ...SILENCE }] },
    });
  }, 300_000);

  afterAll(async () => {
    await alerts?.stop();
    await pipeline?.close();
  }, 300_000);

  it('raises DEVICE_SILENT for the silenced device only, and clears it when the device talks again', async () => {
    const { kernel } = pipeline;
    const config = loadConfig({ ...process.env, ALERTS_SILENCE_FACTOR: String(FACTOR), ALERTS_DEFAULT_INTERVAL_S: String(INTERVAL_MS / 1000) });
    const alertsProcess = createAlertsProcess({
      config, logger: kernel.logger, catalogue: kernel.catalogue, metrics: new Registry(), prefix: kernel.prefix,
      timerIntervalMs: 250, registryTtlMs: 1_000,
    });
    alerts = new Lifecycle(alertsProcess.components, { logger: kernel.logger });
    await alerts.start();
    await pipeline.startSimulator();

    const silences = async () =>
      (await pipeline.topicRecords(kernel.catalogue.alerts)).filter((a) => a.kind === 'DEVICE_SILENT');
    const ofSilent = (list: Alert[]) => list.filter((a) => a.deviceId === silent);
    const raised = await waitFor('DEVICE_SILENT for the silenced device', async () => ofSilent(await silences())[0],
      { timeoutMs: 180_000, intervalMs: 1000 });
    expect(raised).toMatchObject({ alertId: `DEVICE_SILENT|${silent}|`, state: 'RAISED', severity: 'WARNING', revision: 1 });
    const history = await waitFor('the silence to clear', async () => {
      const list = ofSilent(await silences());
      return list.at(-1)?.state === 'CLEARED' && list;
    }, { timeoutMs: 180_000, intervalMs: 1000 });
    // Raised once, cleared once (an escalation in between only if the pipeline lagged by 10 s).
    expect(history.map((a) => a.state).filter((s) => s !== 'UPDATED')).toEqual(['RAISED', 'CLEARED']);
    expect(history.map((a) => a.revision)).toEqual(history.map((_, i) => i + 1));
    expect(new Set(history.map((a) => a.alertId))).toEqual(new Set([raised.alertId]));
    expect(history.at(-1)!.clearedAt).not.toBeNull();
    expect(Object.values(pipeline.simulator.ledger).reduce((n, c) => n + c.silenced, 0)).toBeGreaterThan(0);

    // While the rest of the fleet still talks: no other device was ever reported silent.
    const others = (await silences()).filter((a) => a.deviceId !== silent).map((a) => `${a.deviceId} ${a.state}`);
    expect(others).toEqual([]);
    await alerts.stop();
    alerts = undefined;
  }, 600_000);
});
