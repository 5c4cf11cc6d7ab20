/**
 * The decode stage against a bare consume loop of the same topic and against its write ceiling,
 * and the pure decoders against the protocol parsers they build on.
 *
 * Stage: a prefixed `uplink.raw.v1` (3 partitions) is filled once with {@link UPLINKS} uplinks of a
 * simulated fleet (connectors/simulator): {@link METERS} meters installed at a site, each sending
 * every 15 min, nine in ten wired M-Bus long frames and one in ten OMS mode 5 telegrams whose keys
 * are in PostgreSQL. Each uplink carries one register and the meter clock, so it becomes one
 * reading, a device.v1 SEEN (the 5-min last-seen throttle is shorter than the interval) and state.
 * A decode run is the whole decode process in-process (PostgreSQL, Redis, cache invalidator,
 * worker) under a fresh prefix, so a fresh consumer group and changelog and a cold registry cache;
 * its clock starts once the worker has joined its group and stops when the group's committed
 * offsets (committed in the same transactions as the readings) reach the end of the topic. The
 * baseline is a bare kafkajs consumer reading the same topic (read_committed, with the runner's
 * fetch sizes), from its join to its last record. The write ceiling is what the warm-up run wrote
 * (readings, device.v1, changelog), read back and written again by plain kafkajs transactional
 * producers in as many transactions, from their connect to the last commit
 * (bench/lib/write-ceiling.ts), divided by the records written per uplink. Runs alternate after an
 * untimed warm-up of each.
 *
 * Decoders: µs per uplink of `decodeUplink` (M-Bus long frames; OMS mode 5 telegrams) against the
 * protocol code alone on the same bytes (`parseTelegram` + `decodeFrame`; `decodeTelegram` with
 * AES + `decodeRecords`), repeated passes, medians. The difference is the mapping to canonical
 * units, register keys and device facts.
 */
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { Registry } from 'prom-client';
import { createFleet, advanceMeter, type SimMeter } from '../connectors/simulator/fleet.js';
import { mbusFrame, meterDeviceId, wmbusTelegram } from '../connectors/simulator/messages.js';
import { seededRandom } from '../connectors/simulator/random.js';
import { loadConfig, type Config } from '../core/config.js';
import { sealDeviceKey } from '../core/device-keys.js';
import { Lifecycle } from '../core/lifecycle.js';
import { decodeFrame, decodeRecords, parseTelegram } from '../protocols/mbus/index.js';
import { decodeTelegram } from '../protocols/wmbus/index.js';
import type { RawUplink } from '../schemas/avro/index.js';
import { decodeUplink, type DecodeContext, type Ts013Runner } from '../streams/decode/decoders/index.js';
import { createDecodeProcess } from '../streams/decode/main.js';
import { deleteTopics, testKernel, type TestKernel } from '../test/support/stack.js';
import { median, type BenchResult } from './lib/measure.js';
import { runStageBench, WARM_UP_RUN, writeCeilingResult } from './lib/stage-run.js';

const METERS = 5000;
const UPLINKS = 200_000;
const INTERVAL_MS = 15 * 60_000;
const REPEATS = 5;
const TIME_ZONE = 'Europe/Berlin';
/** Uplinks per pass of the decoder benchmarks, and passes. */
const PURE_UPLINKS = 5000;
const PURE_PASSES = 21;

const NO_TS013: Ts013Runner = {
  decodeUplink: () => Promise.reject(new Error('no TS013 codec in this benchmark')),
  close: () => Promise.resolve(),
};

/** The fleet: ids in 90,000,000–99,999,999, clear of the simulator's and the tests' meters. */
function fleet(): SimMeter[] {
  const base = 90_000_000 + Math.floor(Math.random() * (10_000_000 - METERS));
  const wireless = METERS / 10;
  const devices = createFleet(
    { 'mbus-tcp': METERS - wireless, 'wmbus-mqtt': wireless, 'chirpstack-mqtt': 0, 'lns-websocket': 0, http: 0, 'station-mqtt': 0 },
    { seed: base, startMs: Date.now() - UPLINKS / METERS * INTERVAL_MS, intervalMs: INTERVAL_MS },
  );
  return devices.map((d, i) => ({ ...(d as SimMeter), id: base + i }));
}

/** What the connectors would have produced for `count` uplinks of the fleet, in receipt order. */
function uplinksOf(meters: readonly SimMeter[], count: number): RawUplink[] {
  const random = seededRandom(7);
  const out: RawUplink[] = [];
  while (out.length < count) {
    const due = [...meters].sort((a, b) => a.nextAtMs - b.nextAtMs).slice(0, Math.min(meters.length, count - out.length));
    for (const meter of due) {
      const at = meter.nextAtMs;
      meter.nextAtMs += meter.intervalMs;
      const register = advanceMeter(meter, at, random);
      const wired = meter.kind === 'mbus-tcp';
      const payload = Buffer.from(wired ? mbusFrame(meter, register, at) : wmbusTelegram(meter, register, at));
      const idempotencyKey = wired ? `mbus-frame:${sha256(payload)}:${meter.accessNumber}` : `sha256:${sha256(payload)}`;
      out.push({
        uplinkId: uuidOf(idempotencyKey),
        idempotencyKey,
        deviceId: meterDeviceId(meter),
        transport: wired ? 'MBUS_TCP' : 'MQTT',
        payloadFormat: wired ? 'MBUS_LONG_FRAME' : 'WMBUS_TELEGRAM',
        payload,
        receivedAt: at + 200,
        deviceTimeAt: null,
        organisationId: null,
        connector: wired ? 'mbus-tcp' : 'mqtt',
        sourceAddress: wired ? '10.0.0.17:10001' : 'meterflux/wmbus/gw-1/telegram',
        radio: wired ? null : { rssiDbm: -70 - (meter.id % 30), snrDb: null, gatewayId: 'gw-1', frequencyHz: null, spreadingFactor: null, fCnt: null, fPort: null },
        metadata: wired ? { gateway: 'gw-1', cField: '0x08', aField: '0x01', accessNumber: String(meter.accessNumber) } : { frameFormat: 'A', gatewayId: 'gw-1' },
      });
    }
  }
  return out;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function uuidOf(key: string): string {
  const hex = createHash('sha256').update(key).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Registry rows as an operator creates them: an organisation, a site, the devices, their OMS keys. */
async function onboard(db: pg.Pool, kernel: TestKernel, meters: readonly SimMeter[], masterKey: Buffer): Promise<() => Promise<void>> {
  const organisation = `${kernel.prefix}org`;
  const site = `${kernel.prefix}site`;
  const ids = meters.map(meterDeviceId);
  await db.query('INSERT INTO organisations (id, name) VALUES ($1, $2)', [organisation, 'Decode benchmark utility']);
  await db.query('INSERT INTO sites (id, organisation_id, name, time_zone) VALUES ($1, $2, $3, $4)', [site, organisation, 'Benchmark estate', TIME_ZONE]);
  await db.query(
    `INSERT INTO devices (id, organisation_id, site_id, mbus_secondary_address, manufacturer, device_version, codec, status)
     SELECT id, $2, $3, substr(id, 6), m, v, 'mbus', 'active' FROM unnest($1::text[], $4::text[], $5::int[]) AS d(id, m, v)`,
    [ids, organisation, site, meters.map((m) => m.manufacturer), meters.map((m) => m.version)],
  );
  const keyed = meters.filter((m) => m.key !== undefined);
  const sealed = keyed.map((m) => sealDeviceKey(masterKey, meterDeviceId(m), m.key!));
  await db.query(
    `INSERT INTO device_keys (device_id, key_ciphertext, key_nonce, key_tag) SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::bytea[])`,
    [keyed.map(meterDeviceId), sealed.map((s) => s.ciphertext), sealed.map((s) => s.nonce), sealed.map((s) => s.tag)],
  );
  return async () => {
    await db.query('DELETE FROM device_keys WHERE device_id = ANY($1)', [ids]);
    await db.query('DELETE FROM registers WHERE device_id = ANY($1)', [ids]);
    await db.query('DELETE FROM devices WHERE id = ANY($1)', [ids]);
    await db.query('DELETE FROM sites WHERE id = $1', [site]);
    await db.query('DELETE FROM organisations WHERE id = $1', [organisation]);
  };
}

/**
 * Starts the decode process under a fresh prefix for `run`. A start that fails with a retriable
 * error (the broker still settling a topic it just created) is tried again with a fresh process:
 * the figure is about decoding, not about that race.
 */
async function startDecode(kernel: TestKernel, config: Config, run: string): Promise<{ prefix: string; metrics: Registry; lifecycle: Lifecycle }> {
  for (let attempt = 1; ; attempt++) {
    const prefix = `${kernel.prefix}${run}${attempt === 1 ? '' : `-${attempt}`}.`;
    const metrics = new Registry();
    const decode = createDecodeProcess({ config, logger: kernel.logger, catalogue: kernel.catalogue, metrics, prefix });
    const lifecycle = new Lifecycle(decode.components, { logger: kernel.logger });
    try {
      await lifecycle.start();
      return { prefix, metrics, lifecycle };
    } catch (err) {
      if (attempt === 3 || (err as { retriable?: unknown }).retriable !== true) throw err;
    }
  }
}

async function benchStage(kernel: TestKernel, meters: readonly SimMeter[]): Promise<BenchResult[]> {
  const masterKey = randomBytes(32);
  const config = loadConfig({ ...process.env, DEVICE_KEY_ENCRYPTION_KEY: masterKey.toString('hex') });
  const db = new pg.Pool({ connectionString: config.postgres.url, max: 2 });
  const cleanUp = await onboard(db, kernel, meters, masterKey);
  const cpuPerUplinkUs: number[] = [];
  try {
    const figures = await runStageBench({
      kernel,
      input: kernel.catalogue.rawUplinks,
      records: uplinksOf(meters, UPLINKS),
      fillChunk: 2000,
      repeats: REPEATS,
      /** The decode process under a fresh prefix, until its group has committed the whole topic. */
      async stageRun(run, untilCommitted) {
        const { prefix, metrics, lifecycle } = await startDecode(kernel, config, run);
        const cpuBefore = process.cpuUsage();
        const rate = await untilCommitted(`${prefix}decode`, process.hrtime.bigint());
        const cpu = process.cpuUsage(cpuBefore);
        if (run !== WARM_UP_RUN) cpuPerUplinkUs.push((cpu.user + cpu.system) / UPLINKS);
        await lifecycle.stop();
        // The figure counts only if every uplink decoded into its one reading.
        const outcomes = (await metrics.getSingleMetric('meterflux_decode_uplinks_total')?.get())?.values ?? [];
        const decoded = outcomes.find((v) => v.labels['outcome'] === 'decoded')?.value ?? 0;
        const readings = (await metrics.getSingleMetric('meterflux_decode_readings_total')?.get())?.values[0]?.value ?? 0;
        if (decoded < UPLINKS || readings < UPLINKS || outcomes.some((v) => v.labels['outcome'] !== 'decoded' && v.value > 0)) {
          throw new Error(`decode run ${run}: ${readings} readings from ${UPLINKS} uplinks, outcomes ${JSON.stringify(outcomes)}`);
        }
        return rate;
      },
    });
    return [{
      name: `decode stage: ${UPLINKS.toLocaleString('en')} uplinks of ${METERS.toLocaleString('en')} meters (90 % M-Bus frames, 10 % OMS mode 5) → 1 reading each, committed; ${median(cpuPerUplinkUs).toFixed(0)} µs of process CPU per uplink`,
      subject: median(figures.stage),
      baseline: median(figures.bare),
      baselineName: 'bare kafkajs consume loop, same topic',
      aim: 0.7,
      unit: 'rec/s',
    }, writeCeilingResult('decode stage', figures)];
  } finally {
    await cleanUp();
    await db.end();
  }
}

/** Median µs per item of `subject` and `baseline`, in alternating passes over the same items. */
async function microseconds<T>(items: readonly T[], subject: (item: T) => Promise<unknown>, baseline: (item: T) => unknown): Promise<[number, number]> {
  const ours: number[] = [];
  const base: number[] = [];
  const pass = async (run: (item: T) => unknown, into: number[]) => {
    const started = process.hrtime.bigint();
    for (const item of items) await run(item);
    into.push(Number(process.hrtime.bigint() - started) / 1000 / items.length);
  };
  for (let i = 0; i < PURE_PASSES; i++) {
    if (i % 2 === 0) {
      await pass(subject, ours);
      await pass(baseline, base);
    } else {
      await pass(baseline, base);
      await pass(subject, ours);
    }
  }
  // The first two passes are warm-up (JIT).
  return [median(ours.slice(2)), median(base.slice(2))];
}

async function benchDecoders(meters: readonly SimMeter[]): Promise<BenchResult[]> {
  const uplinks = uplinksOf(meters.map((m) => ({ ...m })), PURE_UPLINKS * 2);
  const frames = uplinks.filter((u) => u.payloadFormat === 'MBUS_LONG_FRAME').slice(0, PURE_UPLINKS);
  const telegrams = uplinksOf(meters.filter((m) => m.key !== undefined).map((m) => ({ ...m })), PURE_UPLINKS);
  const keys = new Map(meters.flatMap((m) => (m.key === undefined ? [] : [[meterDeviceId(m).slice('mbus:'.length), m.key] as const])));
  const context: DecodeContext = { keyFor: (meterId) => keys.get(meterId), ts013: NO_TS013, timeZone: TIME_ZONE };

  const [frameUs, parseUs] = await microseconds(
    frames,
    (uplink) => decodeUplink(uplink, context),
    (uplink) => {
      const telegram = parseTelegram(uplink.payload);
      if (telegram.kind === 'ack' || telegram.kind === 'short') throw new Error('the fleet sends long frames');
      return decodeFrame(telegram);
    },
  );
  const [telegramUs, openUs] = await microseconds(
    telegrams,
    (uplink) => decodeUplink(uplink, context),
    (uplink) => {
      const telegram = decodeTelegram(uplink.payload, { frameFormat: 'A', keyFor: (meter) => keys.get(meter.id.toLowerCase()) });
      return decodeRecords(telegram.applicationData, 0, false, 0);
    },
  );
  return [
    {
      name: `M-Bus long frame → values (decodeUplink): ${frameUs.toFixed(2)} µs/frame`,
      subject: 1e6 / frameUs,
      baseline: 1e6 / parseUs,
      baselineName: `protocols/mbus parseTelegram + decodeFrame alone (${parseUs.toFixed(2)} µs)`,
      unit: 'frames/s',
    },
    {
      name: `OMS mode 5 telegram → values (decodeUplink): ${telegramUs.toFixed(2)} µs/telegram`,
      subject: 1e6 / telegramUs,
      baseline: 1e6 / openUs,
      baselineName: `protocols/wmbus decodeTelegram (AES-128-CBC) + decodeRecords alone (${openUs.toFixed(2)} µs)`,
      unit: 'telegrams/s',
    },
  ];
}

/** The decode benchmarks, for bench/run.ts. Needs the local stack (`make up`). */
export async function benchDecode(): Promise<BenchResult[]> {
  const meters = fleet();
  const pure = await benchDecoders(meters);
  const kernel = await testKernel('bench-decode');
  try {
    return [...(await benchStage(kernel, meters)), ...pure];
  } finally {
    await deleteTopics(kernel);
  }
}
