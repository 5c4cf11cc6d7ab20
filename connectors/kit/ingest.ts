/**
 * What a connector hands its traffic to. `accept` turns uplink drafts into RawUplink records on
 * `uplink.raw.v1` and resolves only after Kafka acknowledged them (acks=all, idempotent producer):
 * a connector acknowledges its device (PUBACK, HTTP 2xx, TCP ack) after that and never before.
 * `reject` keeps refused input in `uplink.raw.v1.dlq` with the reason.
 *
 * Concurrent `accept` calls are coalesced into one Kafka batch (up to `maxBatchRecords`, waiting at
 * most `lingerMs`), so a connector that receives one message at a time still writes in batches.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RawUplink } from '../../schemas/avro/index.js';
import { BadInputError } from '../../core/errors.js';
import { deadLetterForInput, type RejectedInput } from '../../core/kafka/dead-letter.js';
import type { RecordProducer } from '../../core/kafka/record-producer.js';
import type { OutgoingMessage } from '../../core/kafka/client.js';
import type { TopicCatalogue } from '../../core/topics.js';

/** An uplink as a connector describes it; the ingest adds the id and the receive time. */
export type UplinkDraft = Omit<RawUplink, 'uplinkId' | 'receivedAt' | 'connector' | 'deviceTimeAt' | 'organisationId' | 'radio' | 'metadata'> &
  Partial<Pick<RawUplink, 'deviceTimeAt' | 'organisationId' | 'radio' | 'metadata' | 'receivedAt'>>;

/** An uplink Kafka has acknowledged. */
export interface AcceptedUplink {
  readonly uplinkId: string;
  readonly idempotencyKey: string;
}

/** Load on the ingest, for connectors that shed load (HTTP 429/503, MQTT flow control). */
export interface IngestPressure {
  /** Uplinks handed to `accept` and not yet acknowledged by Kafka. */
  readonly inFlight: number;
  /** Above this, connectors should refuse new input with a retry hint. */
  readonly limit: number;
}

export interface Ingest {
  /**
   * Writes the drafts to `uplink.raw.v1` and resolves with their ids once Kafka acknowledged every
   * one. Throws `SchemaValidationError` (nothing written) when a draft does not match RawUplink,
   * and a retriable error when Kafka cannot be reached: the connector must then NOT acknowledge.
   */
  accept(drafts: readonly UplinkDraft[]): Promise<AcceptedUplink[]>;
  /** Dead-letters refused input with the reason of `error`; resolves after Kafka acknowledged it. */
  reject(input: RejectedInput, error: BadInputError): Promise<void>;
  pressure(): IngestPressure;
  readonly logger: Logger;
}

/** Options of {@link createIngest}. */
export interface IngestOptions {
  readonly producer: RecordProducer;
  readonly catalogue: TopicCatalogue;
  /** Name of the connector instance written into every record (`RawUplink.connector`). */
  readonly connector: string;
  readonly logger: Logger;
  readonly metrics: Registry;
  /** @default 5 */
  readonly lingerMs?: number;
  /** @default 500 */
  readonly maxBatchRecords?: number;
  /** @default 10000 */
  readonly maxInFlight?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * The uplink id is derived from the idempotency key, so a device's retry of the same uplink gets
 * the same id and every derived record (readings, documents) stays idempotent downstream.
 */
export function uplinkIdFor(idempotencyKey: string): string {
  const hex = createHash('sha256').update(idempotencyKey).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The stable part of an idempotency key: SHA-256 of the payload, hex. */
export function payloadHash(payload: Uint8Array): string {
  return createHash('sha256').update(payload).digest('hex');
}

interface Pending {
  readonly records: RawUplink[];
  readonly messages: OutgoingMessage[];
  resolve(accepted: AcceptedUplink[]): void;
  reject(error: unknown): void;
}

function metricsFor(registry: Registry) {
  const existing = (name: string) => registry.getSingleMetric(name);
  return {
    received: (existing('meterflux_ingest_received_total') as Counter<'connector'> | undefined) ??
      new Counter({ name: 'meterflux_ingest_received_total', help: 'Uplinks handed to the ingest by a connector.', labelNames: ['connector'], registers: [registry] }),
    inFlight: (existing('meterflux_ingest_in_flight') as Gauge<'connector'> | undefined) ??
      new Gauge({ name: 'meterflux_ingest_in_flight', help: 'Uplinks waiting for the Kafka acknowledgement.', labelNames: ['connector'], registers: [registry] }),
    accepted: (existing('meterflux_ingest_accepted_total') as Counter<'connector'> | undefined) ??
      new Counter({ name: 'meterflux_ingest_accepted_total', help: 'Uplinks written to Kafka and acknowledged.', labelNames: ['connector'], registers: [registry] }),
    rejected: (existing('meterflux_ingest_rejected_total') as Counter<'connector' | 'reason'> | undefined) ??
      new Counter({ name: 'meterflux_ingest_rejected_total', help: 'Inputs refused and dead-lettered, by reason.', labelNames: ['connector', 'reason'], registers: [registry] }),
    failed: (existing('meterflux_ingest_write_failures_total') as Counter<'connector'> | undefined) ??
      new Counter({ name: 'meterflux_ingest_write_failures_total', help: 'Kafka writes that failed; their senders were not acknowledged.', labelNames: ['connector'], registers: [registry] }),
    ackSeconds: (existing('meterflux_ingest_ack_seconds') as Histogram<'connector'> | undefined) ??
      new Histogram({ name: 'meterflux_ingest_ack_seconds', help: 'Time from accept() to the Kafka acknowledgement.', labelNames: ['connector'],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry] }),
  };
}

export function createIngest(options: IngestOptions): Ingest {
  const { producer, catalogue, connector } = options;
  const logger = options.logger.child({ component: 'ingest', connector });
  const now = options.now ?? Date.now;
  const lingerMs = options.lingerMs ?? 5;
  const maxBatch = options.maxBatchRecords ?? 500;
  const limit = options.maxInFlight ?? 10_000;
  const metrics = metricsFor(options.metrics);
  const dlq = catalogue.dlqOf(catalogue.rawUplinks);

  let queue: Pending[] = [];
  let queued = 0;
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;

  async function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const batch = queue;
    queue = [];
    queued = 0;
    if (batch.length === 0) return;
    const messages = batch.flatMap((p) => p.messages);
    const started = process.hrtime.bigint();
    try {
      await producer.send(catalogue.rawUplinks, messages);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      for (const p of batch) {
        metrics.accepted.inc({ connector }, p.records.length);
        metrics.ackSeconds.observe({ connector }, seconds);
        p.resolve(p.records.map((r) => ({ uplinkId: r.uplinkId, idempotencyKey: r.idempotencyKey })));
      }
    } catch (err) {
      metrics.failed.inc({ connector }, messages.length);
      logger.error({ err, records: messages.length }, 'writing uplinks to Kafka failed; senders are not acknowledged');
      for (const p of batch) p.reject(err);
    }
  }

  return {
    logger,
    pressure: () => ({ inFlight, limit }),
    async accept(drafts) {
      const receivedAt = now();
      const records: RawUplink[] = drafts.map((d) => ({
        deviceTimeAt: null,
        organisationId: null,
        radio: null,
        metadata: {},
        receivedAt,
        ...d,
        uplinkId: uplinkIdFor(d.idempotencyKey),
        connector,
      }));
      // Validate and encode here, per caller, so one bad draft cannot fail a batch coalesced with others.
      metrics.received.inc({ connector }, records.length);
      const messages = producer.encode(catalogue.rawUplinks, records);
      inFlight += records.length;
      metrics.inFlight.inc({ connector }, records.length);
      try {
        return await new Promise<AcceptedUplink[]>((resolve, reject) => {
          queue.push({ records, messages, resolve, reject });
          queued += records.length;
          if (queued >= maxBatch) void flush();
          else timer ??= setTimeout(() => void flush(), lingerMs);
        });
      } finally {
        inFlight -= records.length;
        metrics.inFlight.dec({ connector }, records.length);
      }
    },
    async reject(input, error) {
      metrics.rejected.inc({ connector, reason: error instanceof BadInputError ? error.reason : 'UNEXPECTED' });
      const letter = deadLetterForInput(input, error, { stage: 'connector', component: connector }, now());
      await producer.produce(dlq, [letter]);
      logger.warn({ reason: error.reason, deviceId: input.deviceId, details: input.details }, error.message);
    },
  };
}
