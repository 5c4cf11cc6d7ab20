/**
 * The resume watermark: a network-server time W such that every uplink the server stamped at or
 * before W has been acknowledged by Kafka (or dead-lettered). After a reconnect or a restart the
 * connector asks the server for everything from W (minus an overlap) on, so W must never run ahead
 * of what is durable:
 *
 * - It is frozen while a connection has not finished its resume query: live uplinks then arrive
 *   before the missed ones, and their times say nothing about the gap.
 * - While released, it follows the newest handled uplink, but stays below the oldest uplink still in
 *   flight to Kafka.
 * - A failed write freezes it again; the failed uplink is fetched again by the next resume.
 */
export class Watermark {
  private committed: number | undefined;
  private maxHandled: number | undefined;
  private frozen = true;
  private nextToken = 0;
  private readonly inFlight = new Map<number, number>();

  /** @param seed the watermark a previous run reached, or `undefined` on a first start. */
  constructor(seed?: number) {
    this.committed = seed;
  }

  /** The watermark, or `undefined` while nothing is known to be complete. */
  get value(): number | undefined {
    return this.committed;
  }

  /** Whether the current connection has not completed its resume query yet (or a write failed). */
  get isFrozen(): boolean {
    return this.frozen;
  }

  /** An uplink stamped `ts` goes to Kafka; settle or fail the returned token when it is done. */
  begin(ts: number): number {
    const token = this.nextToken++;
    this.inFlight.set(token, ts);
    return token;
  }

  /** The uplink of `token` is durable (acknowledged or dead-lettered). */
  settle(token: number): void {
    const ts = this.inFlight.get(token);
    if (ts === undefined) return;
    this.inFlight.delete(token);
    this.maxHandled = this.maxHandled === undefined ? ts : Math.max(this.maxHandled, ts);
    this.advance();
  }

  /** The uplink of `token` was not written; the watermark stays below it until a resume refetches it. */
  fail(token: number): void {
    this.inFlight.delete(token);
    this.frozen = true;
  }

  /** A connection went away or a new one starts: hold the watermark until its resume completes. */
  freeze(): void {
    this.frozen = true;
  }

  /** The resume query of the current connection completed and every uplink it returned is settled. */
  release(): void {
    this.frozen = false;
    this.advance();
  }

  private advance(): void {
    if (this.frozen || this.maxHandled === undefined) return;
    let candidate = this.maxHandled;
    for (const ts of this.inFlight.values()) candidate = Math.min(candidate, ts - 1);
    if (this.committed === undefined || candidate > this.committed) this.committed = candidate;
  }
}
