/**
 * PUBACKs of one connection in the order their messages arrived, as MQTT requires of a receiver
 * (MQTT 3.1.1 and 5.0, §4.6), while the messages themselves are written to Kafka concurrently: a
 * message whose write finished waits for every earlier one before its acknowledgement goes out.
 * Pure; the source gives it the function that writes a PUBACK.
 */

/** A message's place in line. */
export interface AckTicket {
  /** Marks the message done; its PUBACK (with `reasonCode`) goes out once every earlier one has. */
  acknowledge(reasonCode: number): void;
}

export interface AckQueue {
  /** Takes the next place in line for a QoS 1 message. */
  enqueue(messageId: number): AckTicket;
  /** Messages received and not yet acknowledged to the broker. */
  readonly waiting: number;
}

/**
 * A queue that calls `send` in arrival order. A message that is never acknowledged (its write
 * failed) holds back every later one: the connection is then dropped, and the broker redelivers all
 * of them to the next one.
 */
export function createAckQueue(send: (messageId: number, reasonCode: number) => void): AckQueue {
  const line: { readonly messageId: number; reasonCode: number | undefined }[] = [];
  return {
    enqueue(messageId) {
      const entry = { messageId, reasonCode: undefined as number | undefined };
      line.push(entry);
      return {
        acknowledge(reasonCode) {
          entry.reasonCode = reasonCode;
          while (line[0]?.reasonCode !== undefined) {
            const head = line.shift()!;
            send(head.messageId, head.reasonCode!);
          }
        },
      };
    },
    get waiting() {
      return line.length;
    },
  };
}
