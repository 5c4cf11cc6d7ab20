/**
 * Crash safety end to end: while the simulated fleet sends (with duplicates, reordering, garbage
 * and dropped connections), the decode process is killed with SIGKILL and started again, then
 * decode and index together. Afterwards Elasticsearch must hold
 * every reading exactly once, reconciled by id with what the simulator sent (its ledger and send
 * schedule), and reading.v1 read_committed must hold no reading twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/stack.js';
import { finishSimulation, startPipeline, type Pipeline } from './pipeline.js';
import { reconcile, settle } from './reconcile.js';

let pipeline: Pipeline;
const SPEED = 900;

beforeAll(async () => {
  pipeline = await startPipeline({
    label: 'crash',
    mix: { 'mbus-tcp': 4, 'wmbus-mqtt': 4, 'chirpstack-mqtt': 4, 'lns-websocket': 4, http: 4, 'station-mqtt': 3 },
    // A day at 900× takes 96 s to send: long enough for two kills and restarts in the middle.
    backfillMs: 24 * 3_600_000,
    speed: SPEED,
    faults: { duplicateRate: 0.05, reorderRate: 0.02, garbageRate: 0.01, disconnectRate: 0.002 },
  });
}, 300_000);

afterAll(async () => {
  await pipeline?.close();
}, 300_000);

/** The simulator still has more than 10 s of backfill to send: a kill now is in the middle of the run. */
function midRun(): boolean {
  return (Date.now() - pipeline.simulator.clockMs()) / SPEED > 10_000;
}

async function readingsIndexedAtLeast(count: number): Promise<number> {
  let indexed = 0;
  await waitFor(`${count} readings indexed`, async () => (indexed = await pipeline.count('readings')) >= count, { timeoutMs: 120_000, intervalMs: 250 });
  return indexed;
}

describe('the pipeline when decode and index are killed mid-run', () => {
  it('loses and duplicates no reading: Elasticsearch reconciles by id with the ledger and reading.v1', async () => {
    const { decode, index } = pipeline;
    await pipeline.startSimulator();

    const beforeFirstKill = await readingsIndexedAtLeast(1000);
    expect(midRun()).toBe(true);
    await decode.kill();
    await decode.start();

    await readingsIndexedAtLeast(beforeFirstKill + 2000);
    expect(midRun()).toBe(true);
    await Promise.all([decode.kill(), index.kill()]);
    await Promise.all([decode.start(), index.start()]);
    expect([decode.starts, index.starts]).toEqual([3, 2]);

    const ledger = await finishSimulation(pipeline);
    const run = await settle(pipeline, ledger, new Set(), 300_000);
    reconcile(pipeline, run);
    // Repeats reached the raw topic and were dropped by decode, across the restarts.
    expect(Object.values(ledger).reduce((n, c) => n + c.duplicates, 0)).toBeGreaterThan(0);
    expect(run.raw.length).toBeGreaterThan(new Set(run.raw.map((u) => `${u.deviceId}|${u.idempotencyKey}`)).size);
    expect(run.indexed.length).toBeGreaterThan(beforeFirstKill + 2000);
  }, 900_000);
});
