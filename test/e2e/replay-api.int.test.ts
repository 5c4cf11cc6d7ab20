/**
 * Issue 7, "done when" 2, end to end on the local stack: live decode, consumption and index feed
 * the real GraphQL API (graphql/testing harness); then the decoders change (a wider future-clock
 * tolerance), a replay of the raw input decodes it again and recomputes consumption into generation
 * N+1, `compare` reports the changed consumption per register-month, and `switch` moves the
 * aliases while a GraphQL client keeps querying readings and consumption: it never gets an error,
 * and afterwards it sees the new figures.
 */
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lifecycle } from '../../core/lifecycle.js';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import { startApiHarness, type ApiHarness } from '../../graphql/testing/harness.js';
import type { RawUplink } from '../../schemas/avro/index.js';
import { createConsumptionProcess } from '../../streams/consumption/main.js';
import { createDecodeProcess } from '../../streams/decode/main.js';
import { deviceIdOf, mbusUplink, type TestMeter } from '../../streams/decode/testing/uplinks.js';
import { createIndexWorker } from '../../streams/index/worker.js';
import { compareRun, createRun, discardRun, planReplay, runReplay, switchRun, type ReplayContext } from '../../streams/replay/replay.js';
import { waitFor } from '../support/stack.js';

const HOUR_MS = 3_600_000;
const now = new Date();
/** The previous calendar month in UTC (the zone of devices without a site), closed by readings after it. */
const MONTH_START = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1);
const MONTH_END = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
const PERIOD = new Date(MONTH_START).toISOString().slice(0, 7);
const BASE_ID = 30_000_000 + Math.floor(Math.random() * 60_000_000);
const METERS: TestMeter[] = Array.from({ length: 4 }, (_, i) => ({ id: BASE_ID + i, manufacturer: 'KAM', version: 0x1b, medium: 0x07 }));
/** Meters whose clock runs 20 minutes ahead: CLOCK_IN_FUTURE under the live rule (5 min), not under the fixed one. */
const FAST = new Set([deviceIdOf(METERS[0]!), deviceIdOf(METERS[1]!)]);
const FIXED_FUTURE_SKEW_MS = HOUR_MS;

let api: ApiHarness;
let db: pg.Pool;
let producer: RecordProducer;
let ctx: ReplayContext;
let live: Lifecycle;
let secret: string;
let organisation: string;
const runId = `e2e-${BASE_ID}`;
const registers = METERS.map((m) => `${deviceIdOf(m)}/volume`);

/** Send times: one before the month starts, then hourly from two days before its end to two days after (the month closes). */
const TIMES = [MONTH_START - HOUR_MS, ...Array.from({ length: 97 }, (_, j) => MONTH_END - 48 * HOUR_MS + j * HOUR_MS)];
const LITRES_PER_HOUR = 37;
/** The month's consumption of every meter, m3: the register advances evenly. */
const MONTH_DELTA = ((LITRES_PER_HOUR * (MONTH_END - MONTH_START)) / HOUR_MS / 1000).toFixed(9);

function uplinks(): RawUplink[] {
  const out: RawUplink[] = [];
  for (const meter of METERS) {
    const fast = FAST.has(deviceIdOf(meter));
    for (const at of TIMES) {
      const litres = 5000 + (LITRES_PER_HOUR * (at - TIMES[0]!)) / HOUR_MS;
      out.push({ ...mbusUplink(meter, { litres }, { receivedAt: at }), deviceTimeAt: at + (fast ? 20 * 60_000 : 0) });
    }
  }
  return out;
}

const READINGS = `query ($from: DateTime!, $to: DateTime!) {
  readings(filter: { from: $from, to: $to }, first: 1000) { edges { node { deviceId qualityFlags } } }
}`;
const CONSUMPTION = `query ($from: DateTime!, $to: DateTime!) {
  consumption(filter: { granularity: MONTHLY, from: $from, to: $to }, first: 100) { edges { node { registerId delta status } } }
}`;

interface Figures {
  readonly flagged: number;
  readonly readings: number;
  /** Monthly delta per register. */
  readonly monthly: Record<string, string | null>;
}

/** What a client sees through the API; throws on any error answer. */
async function figures(): Promise<Figures> {
  const window = { from: new Date(MONTH_START - 2 * HOUR_MS).toISOString(), to: new Date(MONTH_END + 49 * HOUR_MS).toISOString() };
  const [readings, consumption] = await Promise.all([
    api.query<{ readings: { edges: Array<{ node: { deviceId: string; qualityFlags: string[] } }> } }>(secret, READINGS, window),
    api.query<{ consumption: { edges: Array<{ node: { registerId: string; delta: string | null } }> } }>(secret, CONSUMPTION, {
      from: new Date(MONTH_START).toISOString(), to: new Date(MONTH_END).toISOString(),
    }),
  ]);
  for (const answer of [readings, consumption]) {
    if (answer.status !== 200 || answer.body.errors !== undefined) throw new Error(`the API answered ${answer.status}: ${JSON.stringify(answer.body.errors)}`);
  }
  const nodes = readings.body.data!.readings.edges.map((e) => e.node);
  return {
    readings: nodes.length,
    flagged: nodes.filter((n) => n.qualityFlags.includes('CLOCK_IN_FUTURE')).length,
    monthly: Object.fromEntries(consumption.body.data!.consumption.edges.map((e) => [e.node.registerId, e.node.delta])),
  };
}

beforeAll(async () => {
  api = await startApiHarness({ label: 'e2erp' });
  const { kernel } = api;
  const dbUrl = (api.db.options as { connectionString: string }).connectionString;
  const config = { ...kernel.config, postgres: { url: dbUrl }, consumption: { ...kernel.config.consumption, graceMs: 1000 } };
  db = new pg.Pool({ connectionString: dbUrl, max: 4 });
  organisation = await api.organisation('Replay end to end');
  secret = (await api.token(organisation, ['read'])).secret;
  // The meters belong to the organisation, so their readings and consumption carry it and the API shows them.
  for (const meter of METERS) {
    const id = deviceIdOf(meter);
    await db.query(`INSERT INTO devices (id, organisation_id, mbus_secondary_address, manufacturer, device_version, medium, codec, status)
      VALUES ($1, $2, $3, $4, $5, 'water', 'mbus', 'active')`, [id, organisation, id.slice('mbus:'.length), meter.manufacturer, meter.version]);
  }
  producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: kernel.catalogue.all });
  await producer.start();
  ctx = {
    config, logger: kernel.logger, kafka: kernel.kafka, codec: kernel.codec, elasticsearch: api.api.services.elasticsearch, db,
    catalogue: kernel.catalogue, indexPrefix: api.indexPrefix, decodeOptions: { futureSkewMs: FIXED_FUTURE_SKEW_MS },
  };

  // Live, under the old rule: decode, consumption and index into generation 1.
  const common = { config, logger: kernel.logger, catalogue: kernel.catalogue, metrics: new Registry(), prefix: kernel.prefix };
  const index = createIndexWorker({
    kafka: kernel.kafka, codec: kernel.codec, catalogue: kernel.catalogue, elasticsearch: api.api.services.elasticsearch, logger: kernel.logger,
    prefix: api.indexPrefix, groupIdPrefix: kernel.prefix, types: ['readings', 'devices', 'alerts', 'consumption', 'concentrations'],
  });
  live = new Lifecycle([index, ...createDecodeProcess(common).components, ...createConsumptionProcess({ ...common, metrics: new Registry(), timerIntervalMs: 200 }).components],
    { logger: kernel.logger });
  await live.start();
  const sent = uplinks();
  for (let i = 0; i < sent.length; i += 500) await producer.produce(kernel.catalogue.rawUplinks, sent.slice(i, i + 500));
  await waitFor('the API to show every reading and the closed month of the slow meters', async () => {
    const seen = await figures();
    return seen.readings === sent.length && registers.filter((r) => !FAST.has(r.split('/')[0]!)).every((r) => seen.monthly[r] != null);
  }, { timeoutMs: 240_000, intervalMs: 1000 });
  await live.stop();
}, 600_000);

afterAll(async () => {
  await live?.stop();
  if (ctx) await discardRun(ctx, runId).catch(() => undefined);
  await producer?.stop();
  await db?.end();
  await api?.stop();
}, 180_000);

describe('replay after a decoder change, served by the API', () => {
  it('recomputes consumption, reports it per register-month, and switches without an error while a client queries', async () => {
    const before = await figures();
    // Under the old rule the fast meters' readings are in the future: flagged, and no consumption of them.
    expect(before.flagged).toBe(FAST.size * TIMES.length);
    for (const register of registers) {
      if (FAST.has(register.split('/')[0]!)) expect(before.monthly[register]).toBeUndefined();
      else expect(before.monthly[register]).toBe(MONTH_DELTA);
    }

    const plan = await planReplay(ctx, { runId });
    expect(plan.indexTypes).toEqual(['readings', 'devices', 'alerts', 'consumption', 'concentrations']);
    await createRun(ctx, plan);
    const report = await runReplay(ctx, runId);
    expect(report).toMatchObject({ finished: true, generation: 2, documents: { readings: METERS.length * TIMES.length } });

    const { comparison } = await compareRun(ctx, runId);
    const perRegister = comparison.rows.filter((r) => r.family === 'consumption.register-month' && r.period === PERIOD);
    expect(perRegister.filter((r) => r.changed).map((r) => r.dimension).sort()).toEqual(registers.filter((r) => FAST.has(r.split('/')[0]!)).sort());
    expect(perRegister.map((r) => [r.dimension, r.replay.count, r.replay.total]).sort()).toEqual(registers.map((r) => [r, 1, Number(MONTH_DELTA)]).sort());
    const future = comparison.rows.filter((r) => r.family === 'readings.flagged' && r.dimension === 'CLOCK_IN_FUTURE');
    expect(future.every((r) => r.changed)).toBe(true);
    expect([future.reduce((n, r) => n + r.live.count, 0), future.reduce((n, r) => n + r.replay.count, 0)]).toEqual([FAST.size * TIMES.length, 0]);

    // The switch while a client queries the API continuously.
    const seen: Array<Figures | { error: string }> = [];
    let querying = true;
    const client = (async () => {
      while (querying) seen.push(await figures().catch((err: unknown) => ({ error: String(err) })));
    })();
    await switchRun(ctx, runId).finally(() => (querying = false));
    await client;
    expect(seen.filter((s) => 'error' in s)).toEqual([]);
    expect(seen.length).toBeGreaterThan(0);

    const after = await figures();
    expect(after).toMatchObject({ readings: METERS.length * TIMES.length, flagged: 0 });
    // The fast meters' month, now counted: their boundaries are interpolated (rounded at 9 places).
    for (const register of registers) expect(Math.abs(Number(after.monthly[register]) - Number(MONTH_DELTA))).toBeLessThan(1e-8);
  }, 600_000);
});
