import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import { createLogger } from '../../core/log.js';
import type { Consumption, DeadLetter, Reading } from '../../schemas/avro/index.js';
import { SAMPLE_RECORDS } from '../../schemas/avro/samples.js';
import { deleteTopics, readToEnd, REPO_ROOT, testKernel, waitFor, type TestKernel } from '../../test/support/stack.js';
import type { StatefulWorker } from '../runtime/stateful-worker.js';
import { createRegistry } from './registry.js';
import { createConsumptionWorker } from './worker.js';

const HOUR = 3_600_000;
const RULES = { graceMs: 2 * 24 * HOUR, lateWindowMs: 3 * 24 * HOUR };
const DEVICES = 12;

let reference: TestKernel;
let crash: TestKernel;
let db: pg.Pool;
const producers: RecordProducer[] = [];
let worker: StatefulWorker | undefined;
const children: ChildProcess[] = [];
let ids: { organisation: string; site: string; devices: string[] };

/**
 * Hourly readings of two registers per device over 12 days with wraps, bursts out of order and one
 * too-late reading, in three chunks: each device's first, second and last third.
 */
function readingChunks(): Reading[][] {
  const start = Date.parse('2025-03-25T00:00:00Z');
  const out: Reading[][] = [[], [], []];
  ids.devices.forEach((deviceId, d) => {
    const device: Reading[] = [];
    for (let h = 0; h < 12 * 24; h++) {
      const observedAt = start + h * HOUR + d * 60_000;
      // `volume` has 7 digits of 0.01 m3 (registry): it wraps at 100000; `energy` has no registry row: defaults.
      // device 1's meter is replaced at hour 130 (2025-03-30T10:00Z): the new one starts at 3.5
      const volume = d === 1 && h >= 130 ? 3.5 + (h - 130) * 1.35 : (99_800 + h * (1.25 + d / 10)) % 100_000;
      for (const [registerKey, value] of [['volume', volume], ['energy', 1000 + h * 3.5 + d]] as const) {
        device.push({ ...SAMPLE_RECORDS.Reading, readingId: `${deviceId}:${h}:${registerKey}`, uplinkId: `${deviceId}:${h}`, deviceId, registerKey, organisationId: null, siteId: null,
          quantity: registerKey, value: Number(value.toFixed(3)), unit: registerKey === 'volume' ? 'm3' : 'Wh', function: 'INSTANTANEOUS', storageNumber: 0, cumulative: true,
          observedAt, receivedAt: observedAt, qualityFlags: [] });
      }
    }
    // bursts out of order: every 10th block of 6 hours arrives reversed
    for (let i = 0; i < device.length; i += 12) if ((i / 12) % 10 === 3) device.splice(i, 12, ...device.slice(i, i + 12).reverse());
    // a reading 10 days older than the newest, arriving last: too late
    device.push({ ...device[20]!, readingId: `${deviceId}:late`, value: device[20]!.value + 0.001 });
    const third = Math.ceil(device.length / 3);
    for (let c = 0; c < 3; c++) out[c]!.push(...device.slice(c * third, (c + 1) * third));
  });
  return out;
}

async function producerOf(kernel: TestKernel): Promise<RecordProducer> {
  const producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: kernel.catalogue.all });
  producers.push(producer);
  await producer.start();
  return producer;
}

async function produceAll(producer: RecordProducer, kernel: TestKernel, values: Reading[]): Promise<void> {
  for (let i = 0; i < values.length; i += 2000) await producer.produce(kernel.catalogue.readings, values.slice(i, i + 2000));
}

/** Resolves when a child printed `ready` (its worker started). */
async function ready(child: ChildProcess): Promise<void> {
  for await (const chunk of child.stdout!) if (String(chunk).includes('ready')) return;
  throw new Error('the child exited before it was ready');
}

async function committed(kernel: TestKernel): Promise<{ done: bigint; total: bigint }> {
  const admin = kernel.kafka.admin();
  await admin.connect();
  try {
    const high = await admin.topicOffsets(kernel.catalogue.readings.name);
    const groups = await admin.groupOffsets(`${kernel.prefix}consumption`, kernel.catalogue.readings.name);
    const total = high.reduce((s, o) => s + BigInt(o.high), 0n);
    const done = groups.reduce((s, o) => s + (BigInt(o.offset) > 0n ? BigInt(o.offset) : 0n), 0n);
    return { done, total };
  } finally {
    await admin.disconnect();
  }
}

async function outputs(kernel: TestKernel): Promise<Map<string, string[]>> {
  const byKey = new Map<string, string[]>();
  for (const topic of [kernel.catalogue.consumptionDaily, kernel.catalogue.consumptionMonthly]) {
    for (const m of await readToEnd(kernel, topic.name)) {
      const { computedAt: _computedAt, ...record } = (await kernel.codec.decode('Consumption', m.value)).value;
      const key = `${topic.name.slice(kernel.prefix.length)}|${m.key?.toString('utf8') ?? ''}`;
      byKey.set(key, [...(byKey.get(key) ?? []), JSON.stringify(record)]);
    }
  }
  return byKey;
}

function startChild(kernel: TestKernel): ChildProcess {
  // `node --import tsx` rather than the tsx binary, which would run the worker in a grandchild that SIGKILL misses.
  const child = spawn(process.execPath, ['--import', 'tsx', 'streams/consumption/testing/consumption-process.ts', kernel.prefix], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, CONSUMPTION_GRACE_MS: String(RULES.graceMs), CONSUMPTION_LATE_WINDOW_MS: String(RULES.lateWindowMs), LOG_LEVEL: 'error' },
  });
  children.push(child);
  return child;
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

beforeAll(async () => {
  reference = await testKernel('cons-ref');
  crash = await testKernel('cons-crash');
  db = new pg.Pool({ connectionString: reference.config.postgres.url, max: 2 });
  const p = reference.prefix;
  ids = { organisation: `${p}org`, site: `${p}site`, devices: Array.from({ length: DEVICES }, (_, i) => `mbus:${p}${String(i).padStart(4, '0')}`) };
  await db.query('INSERT INTO organisations (id, name) VALUES ($1, $2)', [ids.organisation, 'Consumption test utility']);
  await db.query(`INSERT INTO sites (id, organisation_id, name, time_zone) VALUES ($1, $2, 'Boiler house', 'Europe/Berlin')`, [ids.site, ids.organisation]);
  for (const [i, deviceId] of ids.devices.entries()) {
    await db.query(`INSERT INTO devices (id, organisation_id, site_id, status) VALUES ($1, $2, $3, 'active')`, [deviceId, ids.organisation, i % 2 === 0 ? ids.site : null]);
    await db.query(`INSERT INTO registers (id, device_id, register_key, quantity, unit, digits, resolution, cumulative, billing_day_start_hour, max_gap_s)
                    VALUES ($1, $2, 'volume', 'volume', 'm3', 7, 0.01, true, $3, 7200)`, [`${deviceId}/volume`, deviceId, i % 3 === 0 ? 6 : 0]);
  }
  // device 1's volume meter is replaced on 30 March at 10:00 UTC
  await db.query(`INSERT INTO meter_replacements (id, register_id, replaced_at, old_final_value, new_initial_value, new_serial_number)
                  VALUES ($1, $2, '2025-03-30T10:00:00Z', 99500, 3.5, 'NEW-1')`, [`${p}repl`, `${ids.devices[1]}/volume`]);
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  for (const child of children) await stopChild(child, 'SIGKILL');
  for (const producer of producers) await producer.stop();
  if (db !== undefined && ids !== undefined) {
    await db.query('DELETE FROM meter_replacements WHERE id = $1', [`${reference.prefix}repl`]);
    await db.query('DELETE FROM registers WHERE device_id = ANY($1)', [ids.devices]);
    await db.query('DELETE FROM devices WHERE id = ANY($1)', [ids.devices]);
    await db.query('DELETE FROM sites WHERE id = $1', [ids.site]);
    await db.query('DELETE FROM organisations WHERE id = $1', [ids.organisation]);
    await db.end();
  }
  if (reference !== undefined) await deleteTopics(reference);
  if (crash !== undefined) await deleteTopics(crash);
}, 120_000);

describe('the consumption worker on the local stack', () => {
  it('gives the same records after a SIGKILL, a restart and a second instance joining as one clean run', async () => {
    const chunks = readingChunks();
    await produceAll(await producerOf(reference), reference, chunks.flat());
    const crashProducer = await producerOf(crash);

    // The clean run, in process.
    worker = createConsumptionWorker({
      // Quiet: the runner logs each dead letter (the too-late readings) as a warning.
      kafka: reference.kafka, codec: reference.codec, catalogue: reference.catalogue, logger: createLogger({ level: 'error', name: 'consumption-test' }),
      registry: createRegistry({ db, logger: reference.logger }), rules: RULES, prefix: reference.prefix,
    });
    await worker.start();
    await waitFor('the clean run to commit every reading', async () => {
      const c = await committed(reference);
      return c.done === c.total;
    }, { timeoutMs: 240_000, intervalMs: 500 });
    await worker.stop();
    worker = undefined;
    const expected = await outputs(reference);

    // What the registry says shows in the records.
    const latest = [...expected.values()].map((list) => JSON.parse(list.at(-1)!) as Omit<Consumption, 'computedAt'>);
    const volume0 = latest.filter((r) => r.registerId === `${ids.devices[0]}/volume` && r.granularity === 'DAILY');
    expect(volume0.every((r) => r.timeZone === 'Europe/Berlin' && r.billingDayStartHour === 6 && r.organisationId === ids.organisation)).toBe(true);
    expect(volume0.some((r) => r.rollovers === 1)).toBe(true);
    expect(latest.filter((r) => r.registerId === `${ids.devices[1]}/volume` && r.meterReplacements === 1).map((r) => r.localPeriod)).toEqual(['2025-03-30']); // March began before the first reading
    expect(latest.filter((r) => r.registerId === `${ids.devices[1]}/energy`).every((r) => r.timeZone === 'UTC' && r.unit === 'Wh')).toBe(true);
    expect(latest.every((r) => r.status === 'FINAL' || r.status === 'RESTATED' || r.open)).toBe(true);
    const deadLetters = await readToEnd(reference, reference.catalogue.dlqOf(reference.catalogue.readings).name);
    const reasons = await Promise.all(deadLetters.map(async (m) => ((await reference.codec.decode('DeadLetter', m.value)).value as DeadLetter).reasonCode));
    expect(reasons.filter((r) => r === 'READING_TOO_LATE')).toHaveLength(DEVICES);

    // The crash run, the same records in the same order, a third at a time: a child killed with
    // SIGKILL as soon as it committed some of the first third; a restarted one that must take up the
    // second third from the restored state; then a second instance joining for the last third.
    const everything = async (): Promise<boolean> => {
      const c = await committed(crash);
      return c.done === c.total;
    };
    await produceAll(crashProducer, crash, chunks[0]!);
    const first = startChild(crash);
    await waitFor('the first child to commit some readings', async () => (await committed(crash)).done > 0n, { timeoutMs: 120_000, intervalMs: 20 });
    await stopChild(first, 'SIGKILL');
    await produceAll(crashProducer, crash, chunks[1]!);
    const second = startChild(crash);
    await waitFor('the restarted child to commit the first two thirds', everything, { timeoutMs: 180_000, intervalMs: 100 });
    const third = startChild(crash);
    await ready(third);
    await produceAll(crashProducer, crash, chunks[2]!);
    await waitFor('both instances to commit every reading', everything, { timeoutMs: 240_000, intervalMs: 200 });
    await stopChild(second, 'SIGTERM');
    await stopChild(third, 'SIGTERM');

    const actual = await outputs(crash);
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, records] of expected) expect(actual.get(key), key).toEqual(records);
  }, 600_000);
});
