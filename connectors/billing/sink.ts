/**
 * The billing connector as a Sink: it consumes `consumption.monthly.v1` into PostgreSQL and runs
 * the exporter on a timer (and soon after records arrive). Where a Source hands device traffic to
 * Kafka, a Sink takes records from Kafka to a system outside; same lifecycle contract.
 */
import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import { BadInputError, errorMessage } from '../../core/errors.js';
import type { RegistryCodec } from '../../core/avro/registry-codec.js';
import type { KafkaClient } from '../../core/kafka/client.js';
import { createRecordConsumer, type ConsumedRecord, type RecordConsumer } from '../../core/kafka/record-consumer.js';
import { createRecordProducer, type RecordProducer } from '../../core/kafka/record-producer.js';
import type { Logger } from '../../core/log.js';
import type { ComponentHealth } from '../../core/metrics.js';
import type { TopicCatalogue } from '../../core/topics.js';
import type { Destination } from './destination.js';
import { createExporter, type Exporter, type ExportRunReport } from './exporter.js';
import type { FileEncoding } from './formats.js';
import { upsertConsumption } from './store.js';

/** A connector that takes records from Kafka to a system outside. */
export interface Sink {
  /** Connector name, e.g. `billing`. */
  readonly name: string;
  /** Connects and starts consuming; resolves once it consumes. */
  start(): Promise<void>;
  /** Stops consuming and lets running work finish. Idempotent; safe before start. */
  stop(): Promise<void>;
  /** Current health for `/healthz`. */
  health(): ComponentHealth;
}

/** Options of {@link createBillingSink}. */
export interface BillingSinkOptions {
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  readonly catalogue: TopicCatalogue;
  /** PostgreSQL with migration 0008; the sink does not end it. */
  readonly pool: Pool;
  readonly destination: Destination;
  readonly encoding: FileEncoding;
  /** @see ExporterOptions.settleMs */
  readonly settleMs: number;
  /** @see ExporterOptions.rescanMs */
  readonly rescanMs: number;
  /** Milliseconds between export runs. */
  readonly intervalMs: number;
  /**
   * Prefix of the consumer group; also the id prefix of the organisations and registers exported
   * (tests give each run its own).
   * @default ''
   */
  readonly prefix?: string;
  readonly logger: Logger;
  readonly metrics: Registry;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The billing sink, with a handle on its exporter for tools and tests. */
export interface BillingSink extends Sink {
  /** Runs the exporter now (waiting for a run in progress first). */
  exportNow(): Promise<ExportRunReport>;
}

/** Delay between a batch of newly final records and the export run it triggers, so a burst makes one run. */
const KICK_DELAY_MS = 500;

export function createBillingSink(options: BillingSinkOptions): BillingSink {
  const { kafka, codec, catalogue, pool } = options;
  const prefix = options.prefix ?? '';
  const logger = options.logger.child({ component: 'billing-sink' });
  const received = new Counter({
    name: 'meterflux_billing_records_total', help: 'Monthly consumption records received, by status.', labelNames: ['status'], registers: [options.metrics],
  });
  const input = catalogue.consumptionMonthly;
  const dlq = catalogue.dlqOf(input);
  let producer: RecordProducer | undefined;
  let consumer: RecordConsumer | undefined;
  let exporter: Exporter | undefined;
  let timer: NodeJS.Timeout | undefined;
  let queue: Promise<void> = Promise.resolve();
  let stopped = true;
  let lastRun: { ok: boolean; at: number; detail: string } | undefined;

  /** Runs the exporter after the run in progress, if any: runs never overlap. */
  function run(): Promise<ExportRunReport> {
    const current = exporter;
    if (!current) return Promise.reject(new Error('the billing sink is not started'));
    const next = queue.then(() => current.runOnce()).then(
      (report) => {
        const detail = `${report.written.length} written, ${report.failed.length} failed to write`;
        lastRun = { ok: report.failed.length === 0, at: Date.now(), detail };
        return report;
      },
      (err: unknown) => {
        lastRun = { ok: false, at: Date.now(), detail: `export run failed: ${errorMessage(err)}` };
        throw err;
      },
    );
    queue = next.then(() => undefined, () => undefined);
    return next;
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      run()
        .catch((err: unknown) => logger.warn({ err }, 'export run failed; trying again at the next interval'))
        .finally(() => schedule(options.intervalMs));
    }, delayMs);
  }

  async function handleBatch(records: readonly ConsumedRecord<'Consumption'>[]) {
    const rejected: Array<{ record: ConsumedRecord<'Consumption'>; error: BadInputError }> = [];
    const usable = [];
    for (const record of records) {
      const value = record.value;
      if (value.granularity !== 'MONTHLY') {
        rejected.push({ record, error: new BadInputError(`expected a MONTHLY record on ${input.name}, got ${value.granularity}`, { reason: 'WRONG_GRANULARITY' }) });
      } else if (value.status === 'UNKNOWN') {
        // A status newer than this reader's schema: not understood, so not billed.
        logger.warn({ registerId: value.registerId, period: value.localPeriod }, 'skipping a record whose status this schema does not know');
      } else {
        usable.push(value);
        received.inc({ status: value.status });
      }
    }
    await upsertConsumption(pool, usable);
    if (usable.some((v) => v.status !== 'PROVISIONAL')) schedule(KICK_DELAY_MS);
    return rejected;
  }

  return {
    name: 'billing',
    async start() {
      if (!stopped) return;
      stopped = false;
      const started = createRecordProducer({ kafka, codec, topics: [catalogue.alerts, dlq] });
      producer = started;
      await started.start();
      exporter = createExporter({
        pool,
        destination: options.destination,
        encoding: options.encoding,
        settleMs: options.settleMs,
        rescanMs: options.rescanMs,
        scope: prefix,
        sendAlerts: async (alerts) => void (await started.produce(catalogue.alerts, alerts)),
        logger,
        metrics: options.metrics,
        ...(options.now === undefined ? {} : { now: options.now }),
      });
      consumer = createRecordConsumer({
        kafka, codec, producer: started, topic: input, dlq, groupId: `${prefix}billing`,
        origin: { stage: 'billing', component: 'billing' }, logger, handleBatch,
      });
      await consumer.start();
      logger.info({ destination: options.destination.description, encoding: options.encoding }, 'billing sink started');
      schedule(0);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await consumer?.stop();
      await queue;
      await producer?.stop();
      consumer = undefined;
      producer = undefined;
    },
    health() {
      if (stopped) return { healthy: false, detail: 'stopped' };
      if (lastRun === undefined) return { healthy: true, detail: 'no export run yet' };
      return { healthy: lastRun.ok, detail: `${lastRun.detail} at ${new Date(lastRun.at).toISOString()}` };
    },
    exportNow: () => run(),
  };
}
