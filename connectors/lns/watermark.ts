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
  /** Min-heap of in-flight [ts, token]; settled tokens are dropped lazily when they reach the top. */
  private readonly heap: Array<[number, number]> = [];

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
    this.push([ts, token]);
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
    const oldest = this.oldestInFlight();
    const candidate = oldest === undefined ? this.maxHandled : Math.min(this.maxHandled, oldest - 1);
    if (this.committed === undefined || candidate > this.committed) this.committed = candidate;
  }

  private oldestInFlight(): number | undefined {
    while (this.heap.length > 0) {
      const [ts, token] = this.heap[0]!;
      if (this.inFlight.get(token) === ts) return ts;
      this.pop();
    }
    return undefined;
  }

  private push(entry: [number, number]): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]![0] <= heap[i]![0]) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (heap.length === 0 || last === undefined) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && heap[left]![0] < heap[smallest]![0]) smallest = left;
      if (right < heap.length && heap[right]![0] < heap[smallest]![0]) smallest = right;
      if (smallest === i) return;
      [heap[smallest], heap[i]] = [heap[i]!, heap[smallest]!];
      i = smallest;
    }
  }
}
