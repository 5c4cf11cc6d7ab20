/**
 * Issue 7, "done when" 1, end to end on the local stack: the simulated fleet sends a month of
 * simulated time (its backfill, at speed) through the connectors, decode and consumption (a short
 * CONSUMPTION_GRACE_MS, so the closed month is FINAL as soon as it is computed) to the billing sink,
 * whose accounts, register mappings and tariffs are the test organisation's rows in PostgreSQL.
 * Closing the month must export exactly one batch per format whose totals are the sum of the FINAL
 * monthly consumption records; a late reading of that month, pushed over HTTP, must export exactly
 * one correction batch per format that references the batch it corrects.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScaled } from '../../connectors/billing/decimal.js';
import { createDirectoryDestination } from '../../connectors/billing/destination.js';
import { createBillingSink, type BillingSink } from '../../connectors/billing/sink.js';
import type { SimMeter } from '../../connectors/simulator/fleet.js';
import { deviceIdOf } from '../../connectors/simulator/messages.js';
import type { Consumption, Reading } from '../../schemas/avro/index.js';
import { waitFor } from '../support/stack.js';
import { ChildWorker, finishSimulation, startPipeline, type Pipeline } from './pipeline.js';

const DAY_MS = 86_400_000;
/** The previous calendar month in UTC, the zone of devices without a site. */
const now = new Date();
const MONTH_START = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1);
const MONTH_END = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
const PERIOD = new Date(MONTH_START).toISOString().slice(0, 7);
/** EN 13757-3 medium → billing resource. */
const RESOURCES: Record<number, string> = { 0x07: 'water', 0x03: 'gas', 0x04: 'heat', 0x02: 'electricity' };
/** Prices per canonical unit, in micro-units of BYN (tariffs in m3 and Wh keep the ERIP quantities exact). */
const PRICE_MICROS: Record<string, bigint> = { water: 1_520_000n, gas: 874_321n, heat: 137n, electricity: 259n };

let pipeline: Pipeline;
let consumption: ChildWorker;
let sink: BillingSink | undefined;
let billingPool: pg.Pool;
let directory: string;
let organisation: string;
/** Mapped register id → its meter. */
const mapped = new Map<string, SimMeter>();

interface LedgerRow {
  id: string; format: string; kind: string; state: string; corrects_batch_id: string | null; line_count: number;
  consumption_totals: Record<string, string>; amount_totals: Record<string, string>;
}

async function ledger(): Promise<LedgerRow[]> {
  const { rows } = await billingPool.query<LedgerRow>(
    `SELECT id, format, kind, state, corrects_batch_id, line_count, consumption_totals, amount_totals
     FROM export_batches WHERE organisation_id = $1 ORDER BY sequence, format`, [organisation]);
  return rows;
}

/** The newest monthly record of each mapped register for the month, from the topic. */
async function monthlyRecords(): Promise<Map<string, Consumption>> {
  const newest = new Map<string, Consumption>();
  for (const record of await pipeline.topicRecords(pipeline.kernel.catalogue.consumptionMonthly)) {
    if (!mapped.has(record.registerId) || record.periodStartAt !== MONTH_START) continue;
    const held = newest.get(record.registerId);
    if (held === undefined || held.revision < record.revision) newest.set(record.registerId, record);
  }
  return newest;
}

/** Exact expectations of a batch set from the monthly records it should hold. */
function expectedTotals(records: readonly Consumption[]): { perUnit: Record<string, bigint>; eripMilli: Record<string, bigint>; eripMinor: bigint } {
  const perUnit: Record<string, bigint> = {};
  const eripMilli: Record<string, bigint> = {};
  let eripMinor = 0n;
  for (const record of records) {
    const delta = parseScaled(record.delta!, 9);
    perUnit[record.unit] = (perUnit[record.unit] ?? 0n) + delta;
    // One register per account: each ERIP line is one register, its quantity and amount rounded half up.
    eripMilli[record.unit] = (eripMilli[record.unit] ?? 0n) + (delta + 500_000n) / 1_000_000n;
    const price = PRICE_MICROS[RESOURCES[mapped.get(record.registerId)!.medium]!]!;
    eripMinor += (delta * price + 5n * 10n ** 12n) / 10n ** 13n;
  }
  return { perUnit, eripMilli, eripMinor };
}

const decimal = (value: string) => parseScaled(value, 9);
const asNanos = (totals: Record<string, string>) => Object.fromEntries(Object.entries(totals).map(([unit, v]) => [unit, decimal(v)]));

beforeAll(async () => {
  pipeline = await startPipeline({
    label: 'e2ebill',
    // Meters that send their own time (wired M-Bus meters take the receipt time); two over HTTP for the late push.
    mix: { 'mbus-tcp': 0, 'wmbus-mqtt': 1, 'chirpstack-mqtt': 1, 'lns-websocket': 1, http: 2, 'station-mqtt': 0 },
    backfillMs: Date.now() - (MONTH_START - DAY_MS),
    speed: Math.ceil((Date.now() - (MONTH_START - DAY_MS)) / 90_000),
  });
  const { kernel } = pipeline;
  organisation = pipeline.organisation;
  billingPool = new pg.Pool({ connectionString: kernel.config.postgres.url, max: 4 });
  directory = await mkdtemp(join(tmpdir(), 'meterflux-e2e-billing-'));
  consumption = new ChildWorker('consumption', 'streams/consumption/testing/consumption-process.ts', [kernel.prefix], {
    ...process.env,
    CONSUMPTION_GRACE_MS: '1000',
    // The late reading is weeks old: keep the whole month in the registers' history.
    CONSUMPTION_LATE_WINDOW_MS: String(90 * DAY_MS),
    LOG_LEVEL: process.env['E2E_LOG_LEVEL'] ?? 'warn',
  });
  await consumption.start();
  await pipeline.startSimulator();
  await finishSimulation(pipeline);

  // The meters' cumulative registers, as decode registered them: one account each, with its resource's tariff.
  const meters = pipeline.simulator.devices.filter((d): d is SimMeter => d.kind !== 'station-mqtt');
  const registers = await waitFor('decode to register every meter\'s register', async () => {
    const { rows } = await billingPool.query<{ id: string; device_id: string }>(
      'SELECT id, device_id FROM registers WHERE device_id = ANY($1) AND cumulative', [meters.map(deviceIdOf)]);
    return new Set(rows.map((r) => r.device_id)).size === meters.length ? rows : undefined;
  }, { timeoutMs: 120_000, intervalMs: 1000 });
  for (const [resource, price] of Object.entries(PRICE_MICROS)) {
    await billingPool.query(`INSERT INTO tariffs (id, organisation_id, resource, price_per_unit, unit, currency, valid_from)
      VALUES ($1, $2, $3, $4::numeric / 1000000, $5, 'BYN', '2020-01-01')`,
    [`${organisation}:${resource}`, organisation, resource, price.toString(), resource === 'water' || resource === 'gas' ? 'm3' : 'Wh']);
  }
  for (const [i, register] of registers.entries()) {
    const meter = meters.find((m) => deviceIdOf(m) === register.device_id)!;
    const account = `${organisation}:acc${i}`;
    await billingPool.query('INSERT INTO billing_accounts (id, organisation_id, account_number, address) VALUES ($1, $2, $3, $4)',
      [account, organisation, `77${String(i).padStart(4, '0')}`, `г. Минск, пр. Независимости, ${i + 1}`]);
    await billingPool.query('INSERT INTO billing_account_registers (billing_account_id, register_id, valid_from, resource) VALUES ($1, $2, $3, $4)',
      [account, register.id, '2020-01-01', RESOURCES[meter.medium]]);
    mapped.set(register.id, meter);
  }
}, 900_000);

afterAll(async () => {
  await sink?.stop();
  await consumption?.stop();
  if (billingPool) {
    const registers = [...mapped.keys()];
    await billingPool.query('DELETE FROM export_billed_amounts WHERE batch_id IN (SELECT id FROM export_batches WHERE organisation_id = $1)', [organisation]);
    await billingPool.query('DELETE FROM export_batch_lines WHERE batch_id IN (SELECT id FROM export_batches WHERE organisation_id = $1)', [organisation]);
    await billingPool.query('DELETE FROM export_batch_files WHERE batch_id IN (SELECT id FROM export_batches WHERE organisation_id = $1)', [organisation]);
    await billingPool.query('DELETE FROM export_batches WHERE organisation_id = $1', [organisation]);
    await billingPool.query('DELETE FROM billing_problems WHERE organisation_id = $1 OR register_id = ANY($2)', [organisation, registers]);
    await billingPool.query('DELETE FROM billing_consumption WHERE register_id = ANY($1)', [registers]);
    await billingPool.query('DELETE FROM billing_account_registers WHERE register_id = ANY($1)', [registers]);
    await billingPool.query('DELETE FROM billing_accounts WHERE organisation_id = $1', [organisation]);
    await billingPool.query('DELETE FROM tariffs WHERE organisation_id = $1', [organisation]);
    await billingPool.end();
  }
  if (directory) await rm(directory, { recursive: true, force: true });
  await pipeline?.close();
}, 300_000);

describe('billing with the simulator over a month', () => {
  let initial: LedgerRow[];

  it('exports the closed month once per format, with totals equal to the sum of the FINAL monthly consumption', async () => {
    const { kernel } = pipeline;
    const finals = await waitFor(`a FINAL ${PERIOD} record for each of the ${mapped.size} registers`, async () => {
      const records = await monthlyRecords();
      return records.size === mapped.size && [...records.values()].every((r) => r.status === 'FINAL') ? [...records.values()] : undefined;
    }, { timeoutMs: 300_000, intervalMs: 2000 }).catch((err: Error) => {
      throw new Error(`${err.message}; consumption stderr: ${consumption.stderr}`, { cause: err });
    });
    for (const record of finals) expect(record).toMatchObject({ localPeriod: PERIOD, open: false, periodEndAt: MONTH_END });

    sink = createBillingSink({
      kafka: kernel.kafka, codec: kernel.codec, catalogue: kernel.catalogue, pool: billingPool, destination: createDirectoryDestination(directory),
      encoding: 'utf-8', settleMs: 3_600_000, rescanMs: 2000, intervalMs: 500, prefix: kernel.prefix, logger: kernel.logger, metrics: new Registry(),
    });
    await sink.start();
    initial = await waitFor('one written batch per format', async () => {
      const rows = await ledger();
      return rows.length >= 3 && rows.every((r) => r.state === 'written') ? rows : undefined;
    }, { timeoutMs: 120_000, intervalMs: 500 });
    expect(initial.map((b) => [b.format, b.kind, b.corrects_batch_id])).toEqual([['1c-csv', 'initial', null], ['1c-xml', 'initial', null], ['erip', 'initial', null]]);

    const expected = expectedTotals(finals);
    expect(initial.map((b) => b.line_count)).toEqual([mapped.size, mapped.size, mapped.size]);
    expect(asNanos(initial[0]!.consumption_totals)).toEqual(expected.perUnit);
    expect(asNanos(initial[1]!.consumption_totals)).toEqual(expected.perUnit);
    expect(Object.fromEntries(Object.entries(initial[2]!.consumption_totals).map(([u, v]) => [u, parseScaled(v, 3)]))).toEqual(expected.eripMilli);
    expect(parseScaled(initial[2]!.amount_totals['BYN']!, 2)).toBe(expected.eripMinor);
    // Another export run finds nothing left to do.
    await sink.exportNow();
    expect((await ledger()).length).toBe(3);
  });

  it('turns a late reading of the closed month, pushed over HTTP, into one correction batch per format', async () => {
    expect(initial).toHaveLength(3);
    const before = await monthlyRecords();
    const readings = await pipeline.topicRecords(pipeline.kernel.catalogue.readings);
    const late = lateReading(readings);
    const response = await fetch(`${pipeline.httpBaseUrl}/v1/uplinks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${pipeline.httpToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ uplinks: [{ deviceId: late.deviceId, time: new Date(late.at).toISOString(), values: { [late.registerKey]: { value: late.value, unit: late.unit } } }] }),
    });
    expect(response.status).toBe(202);

    const restated = await waitFor(`a RESTATED ${PERIOD} record of ${late.registerId}`, async () => {
      const record = (await monthlyRecords()).get(late.registerId);
      return record !== undefined && record.revision > before.get(late.registerId)!.revision ? record : undefined;
    }, { timeoutMs: 120_000, intervalMs: 1000 });
    expect(restated).toMatchObject({ status: 'RESTATED' });
    expect(restated.delta).not.toBe(before.get(late.registerId)!.delta);

    const all = await waitFor('three correction batches written', async () => {
      const rows = await ledger();
      return rows.length >= 6 && rows.every((r) => r.state === 'written') ? rows : undefined;
    }, { timeoutMs: 120_000, intervalMs: 500 });
    await sink!.exportNow();
    expect((await ledger()).length).toBe(6);
    const corrections = all.filter((b) => b.kind === 'correction');
    expect(corrections.map((b) => [b.format, b.corrects_batch_id, b.line_count])).toEqual(initial.map((b) => [b.format, b.id, 1]));
    const unit = restated.unit;
    expect(asNanos(corrections[0]!.consumption_totals)).toEqual({ [unit]: decimal(restated.delta!) });
    expect(asNanos(corrections[1]!.consumption_totals)).toEqual({ [unit]: decimal(restated.delta!) });
  });
});

/**
 * A reading an HTTP meter could have sent late: at one of the month's boundaries, where the record
 * interpolated between the readings either side, with the value of the reading on the far side of
 * the boundary (still monotonic), so the boundary value and the month's delta change.
 */
function lateReading(readings: readonly Reading[]): { registerId: string; deviceId: string; registerKey: string; unit: string; at: number; value: number } {
  for (const [registerId, meter] of mapped) {
    if (meter.kind !== 'http') continue;
    const series = readings.filter((r) => `${r.deviceId}/${r.registerKey}` === registerId && r.storageNumber === 0).sort((a, b) => a.observedAt - b.observedAt);
    for (const [boundary, take] of [[MONTH_END, 'after'], [MONTH_START, 'before']] as const) {
      const after = series.findIndex((r) => r.observedAt > boundary);
      const left = series[after - 1];
      const right = series[after];
      if (after < 1 || !left || !right || left.observedAt >= boundary || left.value === right.value) continue;
      const source = take === 'after' ? right : left;
      return { registerId, deviceId: source.deviceId, registerKey: source.registerKey, unit: source.unit, at: boundary, value: source.value };
    }
  }
  throw new Error('no HTTP meter consumed anything across a boundary of the month');
}
