/**
 * The decode worker: a stateful worker `decode` on `uplink.raw.v1` writing `reading.v1`,
 * `device.v1` and `alert.v1` (and dead letters to `uplink.raw.v1.dlq`), run by the stateful
 * runner, so each batch's outputs, state changes and offsets commit in one Kafka transaction.
 * The runner's batch hooks load each batch's devices at once (`beforeBatch`) and write its registry
 * changes inside the transaction, before it commits (`beforeCommit`).
 * What it does with each uplink: handler.ts; rules and state layout: README.md.
 */
import type { RegistryCodec } from '../../core/avro/registry-codec.js';
import type { KafkaClient } from '../../core/kafka/client.js';
import type { Logger } from '../../core/log.js';
import type { TopicCatalogue } from '../../core/topics.js';
import { createStatefulWorker, type StatefulWorker } from '../runtime/stateful-worker.js';
import { createDecodeHandler, type DecodeHandlerDeps } from './handler.js';
import { decodeStateCodec } from './state.js';

/** The worker's name: its consumer group, changelog topic and transactional ids derive from it. */
export const DECODE_WORKER = 'decode';

/** Everything the decode worker is built from. */
export interface DecodeWorkerDeps extends Omit<DecodeHandlerDeps, 'catalogue' | 'logger'> {
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  readonly catalogue: TopicCatalogue;
  readonly logger: Logger;
  /**
   * Prefix of the consumer group and changelog (tests use the catalogue prefix).
   * @default ''
   */
  readonly prefix?: string;
  /** Wall clock for device.v1 `updatedAt`. @default Date.now */
  readonly now?: () => number;
}

/** Creates the worker; the caller starts and stops it (a lifecycle component). */
export function createDecodeWorker(deps: DecodeWorkerDeps): StatefulWorker {
  const { catalogue } = deps;
  const prefix = deps.prefix ?? '';
  const handler = createDecodeHandler(deps);
  return createStatefulWorker(
    {
      name: DECODE_WORKER,
      input: catalogue.rawUplinks,
      outputs: [catalogue.readings, catalogue.devices, catalogue.alerts],
      stateCodec: decodeStateCodec,
      handle: (record, ctx) => handler.handle(record, ctx),
      beforeBatch: (partition, records) => handler.beforeBatch(partition, records),
      beforeCommit: (partition) => handler.beforeCommit(partition),
    },
    { kafka: deps.kafka, codec: deps.codec, catalogue, logger: deps.logger, prefix, ...(deps.now === undefined ? {} : { now: deps.now }) },
  );
}
