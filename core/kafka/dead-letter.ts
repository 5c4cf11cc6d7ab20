/**
 * Builds DeadLetter records: the exact bytes that could not be used, with the reason, the stage
 * that refused them and where they came from, so they can be inspected and re-driven after a fix.
 */
import { randomUUID } from 'node:crypto';
import type { RecordTypes } from '../../schemas/avro/index.js';
import { BadInputError, SchemaValidationError, errorMessage } from '../errors.js';
import type { IncomingMessage } from './client.js';

/** Where the refusal happened. */
export interface DeadLetterOrigin {
  /** Pipeline stage: `connector`, `decode`, `consumption`, `index`… */
  readonly stage: string;
  /** The process or connector instance, e.g. `decode-worker`, `mqtt-connector`. */
  readonly component: string;
}

/** What a connector refused before anything reached Kafka. */
export interface RejectedInput {
  readonly key: string | null;
  readonly bytes: Buffer;
  readonly deviceId?: string | null;
  readonly transport?: string | null;
  /** Transport coordinates: MQTT topic, remote address, HTTP path… */
  readonly details?: Readonly<Record<string, string>>;
}

function reasonOf(error: unknown): { reasonCode: string; reasonMessage: string; paths: string[] } {
  return {
    reasonCode: error instanceof BadInputError ? error.reason : 'UNEXPECTED',
    reasonMessage: errorMessage(error),
    paths: error instanceof SchemaValidationError ? error.paths : [],
  };
}

/** A dead letter for a Kafka message that a consumer could not decode or process. */
export function deadLetterForMessage(
  message: IncomingMessage,
  error: unknown,
  origin: DeadLetterOrigin,
  nowMs: number = Date.now(),
): RecordTypes['DeadLetter'] {
  return {
    // Deterministic, so re-processing the same message after a crash names the same dead letter.
    deadLetterId: `${origin.stage}|${message.topic}|${message.partition}|${message.offset}`,
    originalTopic: message.topic,
    originalPartition: message.partition,
    originalOffset: Number(message.offset),
    originalKey: message.key,
    originalValue: message.value ?? Buffer.alloc(0),
    originalHeaders: { ...message.headers },
    ...reasonOf(error),
    stage: origin.stage,
    component: origin.component,
    deviceId: message.key?.toString('utf8') ?? null,
    transport: null,
    failedAt: nowMs,
    attempt: 1,
    details: {},
  };
}

/** A dead letter for input a connector refused (never written to a data topic). */
export function deadLetterForInput(
  input: RejectedInput,
  error: unknown,
  origin: DeadLetterOrigin,
  nowMs: number = Date.now(),
): RecordTypes['DeadLetter'] {
  return {
    deadLetterId: randomUUID(),
    originalTopic: null,
    originalPartition: null,
    originalOffset: null,
    originalKey: input.key === null ? null : Buffer.from(input.key, 'utf8'),
    originalValue: input.bytes,
    originalHeaders: {},
    ...reasonOf(error),
    stage: origin.stage,
    component: origin.component,
    deviceId: input.deviceId ?? null,
    transport: input.transport ?? null,
    failedAt: nowMs,
    attempt: 1,
    details: { ...input.details },
  };
}
