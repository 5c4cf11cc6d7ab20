/**
 * Re-drives decode's dead letters after a fix (a key added, a codec or the registry corrected):
 *
 *   npx tsx streams/decode/redrive.ts --reason KEY_MISSING [--reason …] [--device mbus:…] [--since ISO] [--dry-run]
 *
 * Reads `uplink.raw.v1.dlq` to its end, takes the dead letters the decode stage wrote for
 * `uplink.raw.v1` that match, and produces each one's original value and key, byte for byte, to
 * `uplink.raw.v1` again, with headers naming the dead letter (headers.ts). Prints what it re-drove:
 * counts by reason and the devices.
 *
 * A dead letter is re-driven once: its id goes into PostgreSQL `redriven_dead_letters` in the same
 * database transaction that claims it, committed only after Kafka acknowledged the re-driven
 * uplink. A crash in between leaves it unclaimed, and re-driving it again is harmless: decode
 * remembers the idempotency key of an uplink it decoded and drops the repeat. An uplink that fails
 * again is dead-lettered anew, under a new id, and can be re-driven after the next fix.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { createRegistryCodec, type RegistryCodec } from '../../core/avro/registry-codec.js';
import { loadConfig } from '../../core/config.js';
import { errorMessage, TransientError } from '../../core/errors.js';
import { createKafkaClient, type KafkaClient, type OutgoingMessage } from '../../core/kafka/client.js';
import { createLogger, type Logger } from '../../core/log.js';
import { checkServices } from '../../core/preflight.js';
import { createTopicCatalogue, type TopicCatalogue } from '../../core/topics.js';
import type { DeadLetter } from '../../schemas/avro/index.js';
import { REDRIVE_COUNT_HEADER, REDRIVEN_FROM_HEADER } from './headers.js';
import { DECODE_WORKER } from './worker.js';

/** Which dead letters to re-drive, and with what. */
export interface RedriveOptions {
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  readonly catalogue: TopicCatalogue;
  readonly db: pg.Pool;
  readonly logger: Logger;
  /** Reason codes to re-drive, e.g. `KEY_MISSING`; at least one. */
  readonly reasons: readonly string[];
  /** Only this device's dead letters. */
  readonly deviceId?: string;
  /** Only dead letters written at or after this time, epoch ms. */
  readonly since?: number;
  /**
   * Report what would be re-driven, and change nothing.
   * @default false
   */
  readonly dryRun?: boolean;
  /**
   * Give up (retriably) when the dead-letter topic could not be read to its end in this time.
   * @default 120000
   */
  readonly readTimeoutMs?: number;
}

/** What a re-drive did (or, dry, would do). */
export interface RedriveReport {
  readonly dryRun: boolean;
  /** Dead letters decode wrote for the raw topic, read from the dead-letter topic. */
  readonly scanned: number;
  /** Of those, the ones matching reason, device and time. */
  readonly matched: number;
  /** Matching ones re-driven by an earlier run, left alone. */
  readonly alreadyRedriven: number;
  /** Re-driven now (would be, when dry). */
  readonly redriven: number;
  /** Re-driven by reason code. */
  readonly byReason: Readonly<Record<string, number>>;
  /** Devices of the re-driven dead letters, sorted. */
  readonly devices: readonly string[];
}

const CHUNK = 500;

/** Re-drives matching dead letters; see the module comment for the guarantees. */
export async function redrive(options: RedriveOptions): Promise<RedriveReport> {
  if (options.reasons.length === 0) throw new TypeError('redrive needs at least one reason');
  const { catalogue, db } = options;
  const raw = catalogue.rawUplinks;
  const all = await readDeadLetters(options);
  const decodeLetters = all.filter((dl) => dl.originalTopic === raw.name && dl.stage === DECODE_WORKER);
  const matching = decodeLetters.filter(
    (dl) =>
      options.reasons.includes(dl.reasonCode) &&
      (options.deviceId === undefined || deviceOf(dl) === options.deviceId) &&
      (options.since === undefined || dl.failedAt >= options.since),
  );

  const redriven: DeadLetter[] = [];
  let alreadyRedriven = 0;
  for (let i = 0; i < matching.length; i += CHUNK) {
    const chunk = matching.slice(i, i + CHUNK);
    const claimed = options.dryRun ? await unclaimed(db, chunk) : await claimAndProduce(options, chunk);
    alreadyRedriven += chunk.length - claimed.length;
    redriven.push(...claimed);
  }

  const byReason: Record<string, number> = {};
  for (const dl of redriven) byReason[dl.reasonCode] = (byReason[dl.reasonCode] ?? 0) + 1;
  const report: RedriveReport = {
    dryRun: options.dryRun ?? false,
    scanned: decodeLetters.length,
    matched: matching.length,
    alreadyRedriven,
    redriven: redriven.length,
    byReason,
    devices: [...new Set(redriven.map(deviceOf).filter((d): d is string => d !== null))].sort(),
  };
  options.logger.info({ ...report, devices: report.devices.length }, 'dead letters re-driven');
  return report;
}

function deviceOf(dl: DeadLetter): string | null {
  return dl.deviceId ?? dl.originalKey?.toString('utf8') ?? null;
}

/** Every dead letter in the raw topic's dead-letter topic, in partition and offset order. */
async function readDeadLetters(options: RedriveOptions): Promise<DeadLetter[]> {
  const { kafka, codec, catalogue } = options;
  const dlq = catalogue.dlqOf(catalogue.rawUplinks);
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.topicOffsets(dlq.name).finally(() => admin.disconnect());
  const pending = new Set(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => o.partition));
  const byPartition = new Map<number, DeadLetter[]>();
  if (pending.size === 0) return [];

  const timeoutMs = options.readTimeoutMs ?? 120_000;
  const consumer = kafka.consumer({ groupId: `${catalogue.rawUplinks.name}.redrive.${randomUUID()}` });
  await consumer.connect();
  try {
    await consumer.subscribe([dlq.name], { fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new TransientError(`reading ${dlq.name} to its end took over ${timeoutMs} ms`, { code: 'REDRIVE_READ_TIMEOUT' })),
        timeoutMs,
      );
      consumer
        .run({
          eachBatch: async (batch) => {
            const list = byPartition.get(batch.partition) ?? [];
            for (const message of batch.messages) list.push((await codec.decode('DeadLetter', message.value)).value);
            byPartition.set(batch.partition, list);
          },
          onBatchEnd: ({ partition, offsetLag }) => {
            if (offsetLag === 0n && pending.delete(partition) && pending.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return [...byPartition.keys()].sort((a, b) => a - b).flatMap((p) => byPartition.get(p)!);
}

/** The dead letters of `chunk` no earlier run re-drove (dry run). */
async function unclaimed(db: pg.Pool, chunk: readonly DeadLetter[]): Promise<DeadLetter[]> {
  const { rows } = await db.query<{ dead_letter_id: string }>(
    'SELECT dead_letter_id FROM redriven_dead_letters WHERE dead_letter_id = ANY($1::text[])',
    [chunk.map((dl) => dl.deadLetterId)],
  );
  const done = new Set(rows.map((r) => r.dead_letter_id));
  return chunk.filter((dl) => !done.has(dl.deadLetterId));
}

/** Claims the chunk's unclaimed dead letters, re-produces them, and commits the claims only after Kafka acknowledged. */
async function claimAndProduce(options: RedriveOptions, chunk: readonly DeadLetter[]): Promise<DeadLetter[]> {
  const client = await options.db.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ dead_letter_id: string }>(
      `INSERT INTO redriven_dead_letters (dead_letter_id, reason_code, device_id, original_topic, original_partition, original_offset)
       SELECT c.id, c.reason_code, c.device_id, c.original_topic, c.original_partition, c.original_offset
       FROM jsonb_to_recordset($1::jsonb) AS c(id text, reason_code text, device_id text, original_topic text,
            original_partition integer, original_offset bigint)
       ON CONFLICT DO NOTHING
       RETURNING dead_letter_id`,
      [
        JSON.stringify(
          chunk.map((dl) => ({
            id: dl.deadLetterId,
            reason_code: dl.reasonCode,
            device_id: deviceOf(dl),
            original_topic: dl.originalTopic,
            original_partition: dl.originalPartition,
            original_offset: dl.originalOffset,
          })),
        ),
      ],
    );
    const claimedIds = new Set(rows.map((r) => r.dead_letter_id));
    const claimed = chunk.filter((dl) => claimedIds.has(dl.deadLetterId));
    if (claimed.length > 0) await produce(options, claimed);
    await client.query('COMMIT');
    return claimed;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

async function produce(options: RedriveOptions, letters: readonly DeadLetter[]): Promise<void> {
  const producer = options.kafka.producer();
  await producer.connect();
  try {
    await producer.send(options.catalogue.rawUplinks.name, letters.map(redrivenMessage));
  } finally {
    await producer.disconnect();
  }
}

/** The original record, key and value unchanged, its headers plus where it was re-driven from. */
export function redrivenMessage(dl: DeadLetter): OutgoingMessage {
  const count = Number(dl.originalHeaders[REDRIVE_COUNT_HEADER]?.toString('utf8') ?? '0');
  return {
    key: dl.originalKey?.toString('utf8') ?? null,
    value: dl.originalValue,
    headers: { ...dl.originalHeaders, [REDRIVEN_FROM_HEADER]: dl.deadLetterId, [REDRIVE_COUNT_HEADER]: String((Number.isInteger(count) ? count : 0) + 1) },
  };
}

/** The text a run prints. */
export function formatReport(report: RedriveReport, topic: string): string {
  const verb = report.dryRun ? 'would re-drive' : 're-drove';
  const lines = [`${verb} ${report.redriven} of ${report.matched} matching dead letters (${report.scanned} from decode) to ${topic}`];
  for (const [reason, count] of Object.entries(report.byReason).sort()) lines.push(`  ${reason.padEnd(28)}${count}`);
  if (report.alreadyRedriven > 0) lines.push(`skipped ${report.alreadyRedriven} re-driven before`);
  lines.push(`devices (${report.devices.length}): ${report.devices.join(', ') || '—'}`);
  return `${lines.join('\n')}\n`;
}

/** The command line: parses arguments, runs {@link redrive}, prints the report. */
export async function main(argv: readonly string[] = process.argv.slice(2), env: Readonly<Record<string, string | undefined>> = process.env): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      reason: { type: 'string', multiple: true },
      device: { type: 'string' },
      since: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const reasons = values.reason ?? [];
  if (reasons.length === 0) throw new TypeError('--reason is required, e.g. --reason KEY_MISSING (repeat it for several)');
  const since = values.since === undefined ? undefined : Date.parse(values.since);
  if (since !== undefined && Number.isNaN(since)) throw new TypeError(`--since must be an ISO-8601 time, got "${values.since}"`);

  const config = loadConfig(env);
  // Logs go to standard error, so standard output is the report alone.
  const logger = createLogger({ level: config.log.level, name: 'redrive', destination: pino.destination(2) });
  await checkServices(config, ['kafka', 'schemaRegistry', 'postgres']);
  const catalogue = createTopicCatalogue({ partitions: config.kafka.partitions });
  const db = new pg.Pool({ connectionString: config.postgres.url, max: 2 });
  try {
    const report = await redrive({
      kafka: createKafkaClient(config.kafka, logger),
      codec: createRegistryCodec(config.schemaRegistry.url),
      catalogue,
      db,
      logger,
      reasons,
      ...(values.device === undefined ? {} : { deviceId: values.device }),
      ...(since === undefined ? {} : { since }),
      dryRun: values['dry-run'],
    });
    process.stdout.write(formatReport(report, catalogue.rawUplinks.name));
  } finally {
    await db.end();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`redrive failed: ${errorMessage(err)}\n`);
    process.exit(1);
  });
}
