/**
 * The keyed state of one input partition, held in memory. Writes made while a batch is processed
 * are staged; `commit` folds them in only after the batch's Kafka transaction committed, and
 * `rollback` drops them when it aborted, so memory never runs ahead of the changelog.
 */

/** One staged change: a new value, or `undefined` for a deletion (a changelog tombstone). */
export type StagedChange<S> = readonly [key: string, value: S | undefined];

/** A staged deletion; a marker rather than `undefined`, so a read of a staged key is one lookup. */
const DELETED: unique symbol = Symbol('deleted');

export class PartitionState<S> {
  private readonly committed = new Map<string, S>();
  private readonly staged = new Map<string, S | typeof DELETED>();

  /** Number of committed keys (for metrics). */
  get size(): number {
    return this.committed.size;
  }

  get(key: string): S | undefined {
    const staged = this.staged.get(key);
    if (staged === undefined) return this.committed.get(key);
    return staged === DELETED ? undefined : staged;
  }

  put(key: string, value: S): void {
    this.staged.set(key, value === undefined ? DELETED : value);
  }

  delete(key: string): void {
    this.staged.set(key, DELETED);
  }

  /** Applies a changelog record while restoring (no staging: it is already durable). */
  restore(key: string, value: S | undefined): void {
    if (value === undefined) this.committed.delete(key);
    else this.committed.set(key, value);
  }

  /** The staged changes, in the order they were first made. */
  changes(): StagedChange<S>[] {
    return Array.from(this.staged, ([key, value]) => [key, value === DELETED ? undefined : value]);
  }

  commit(): void {
    for (const [key, value] of this.staged) this.restore(key, value === DELETED ? undefined : value);
    this.staged.clear();
  }

  rollback(): void {
    this.staged.clear();
  }

  /** Every committed key and value, e.g. for timers rebuilt after a restore. */
  entries(): IterableIterator<[string, S]> {
    return this.committed.entries();
  }
}
