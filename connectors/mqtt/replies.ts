/**
 * What a refused message's sender and broker are told. Pure.
 *
 * MQTT has no path from a subscriber back to a publisher: a publisher's PUBACK comes from the broker
 * the moment the broker takes the message. Under MQTT 5 the connector still gives the broker a
 * PUBACK reason code (it shows in broker logs and traces), and answers on the publisher's Response
 * Topic when the publisher set one — MQTT 5's request/response, the one way a publisher can hear back.
 */
import { PayloadError, type BadInputError } from '../../core/errors.js';

/** MQTT 5 PUBACK reason codes the connector sends. */
export const PUBACK = {
  SUCCESS: 0x00,
  IMPLEMENTATION_SPECIFIC_ERROR: 0x83,
  TOPIC_NAME_INVALID: 0x90,
  PAYLOAD_FORMAT_INVALID: 0x99,
} as const;

/** The PUBACK reason code for a message that was refused and dead-lettered. */
export function pubackReasonFor(error: BadInputError): number {
  if (error.reason === 'UNKNOWN_TOPIC') return PUBACK.TOPIC_NAME_INVALID;
  if (error instanceof PayloadError) return PUBACK.PAYLOAD_FORMAT_INVALID;
  return PUBACK.IMPLEMENTATION_SPECIFIC_ERROR;
}

/** The JSON published to a publisher's Response Topic when its message was refused. */
export interface RejectionNotice {
  /** The DLQ reason code, e.g. `INVALID_FIELD`. */
  readonly reasonCode: string;
  /** One sentence: the field and what is wrong with it. */
  readonly message: string;
  /** The payload field at fault, when one is. */
  readonly field?: string;
  /** The topic the refused message was published to. */
  readonly topic: string;
}

export function rejectionNotice(error: BadInputError, topic: string): RejectionNotice {
  return {
    reasonCode: error.reason,
    message: error.message,
    ...(error instanceof PayloadError ? { field: error.field } : {}),
    topic,
  };
}
