/**
 * What the simulator sent and what was acknowledged, per transport. After a run (with restarts
 * and outages in between) the topic must hold exactly `acknowledged` distinct idempotency keys per
 * transport, plus at most the ones still `pending` when it stopped.
 */
export interface TransportCounts {
  sent: number;
  acknowledged: number;
  /** Refused by the connector (NAK, 4xx): kept in the DLQ. */
  refused: number;
  /** Sent again after a connection loss or an error answer. */
  resent: number;
}

export type Ledger = Record<string, TransportCounts>;

export function createLedger(): Ledger {
  return {};
}

export function countsOf(ledger: Ledger, transport: string): TransportCounts {
  return (ledger[transport] ??= { sent: 0, acknowledged: 0, refused: 0, resent: 0 });
}
