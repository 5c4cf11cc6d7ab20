/**
 * What the simulator sent and what was acknowledged, per transport. After a run (with restarts
 * and outages in between) the topic must hold exactly `acknowledged` distinct idempotency keys per
 * transport, plus at most the ones still `pending` when it stopped.
 *
 * Injected faults are counted beside, never inside, `sent` and `acknowledged`: a duplicate carries
 * the idempotency key of a message already counted, garbage is refused into the DLQ, and a
 * silenced device's messages were never sent; so the reconciliation above holds with faults on.
 */
export interface TransportCounts {
  /** Distinct messages sent. */
  sent: number;
  acknowledged: number;
  /** Refused by the connector (NAK, 4xx): kept in the DLQ. */
  refused: number;
  /** Sent again after a connection loss or an error answer. */
  resent: number;
  /** Extra copies of messages already sent (the same bytes, or the same HTTP Idempotency-Key). */
  duplicates: number;
  /** Messages held back and sent after the device's next one. */
  reordered: number;
  /** Undecodable inputs sent on purpose: noise between M-Bus frames, bad JSON over MQTT or HTTP. */
  garbage: number;
  /** Connections dropped on purpose (the transport's senders reconnect and resend). */
  disconnects: number;
  /** Messages not sent because their device was silenced. */
  silenced: number;
}

export type Ledger = Record<string, TransportCounts>;

export function createLedger(): Ledger {
  return {};
}

export function countsOf(ledger: Ledger, transport: string): TransportCounts {
  return (ledger[transport] ??= { sent: 0, acknowledged: 0, refused: 0, resent: 0, duplicates: 0, reordered: 0, garbage: 0, disconnects: 0, silenced: 0 });
}
