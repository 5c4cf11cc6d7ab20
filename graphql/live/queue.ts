/**
 * A bounded single-consumer queue exposed as an async iterator: the buffer between a producer
 * that must never block (the Kafka tail, a shared execution) and a consumer that may be slow (a
 * WebSocket client). When the buffer is full, {@link BoundedQueue.push} returns false and the
 * owner applies its overflow policy; memory per subscriber is bounded by `capacity`.
 */
export class BoundedQueue<T> implements AsyncIterableIterator<T> {
  readonly #capacity: number;
  readonly #items: T[] = [];
  #head = 0;
  #waiter: ((result: IteratorResult<T>) => void) | undefined;
  #failer: ((err: unknown) => void) | undefined;
  #ended = false;
  #error: unknown;
  readonly #onReturn: (() => void) | undefined;

  /**
   * @param capacity items that may wait; at least 1.
   * @param onReturn called once when the consumer stops early (`return()`), so the producer can detach.
   */
  constructor(capacity: number, onReturn?: () => void) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.#capacity = capacity;
    this.#onReturn = onReturn;
  }

  /** Items waiting. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Hands an item to the consumer; false (item dropped) when the buffer is full or the queue has ended. */
  push(item: T): boolean {
    if (this.#ended) return false;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      this.#failer = undefined;
      waiter({ value: item, done: false });
      return true;
    }
    if (this.size >= this.#capacity) return false;
    this.#items.push(item);
    return true;
  }

  /** Drops what is waiting; the next {@link push} starts from an empty buffer. */
  clear(): void {
    this.#items.length = 0;
    this.#head = 0;
  }

  /**
   * Pushes `last` even when full (it replaces nothing but the limit), then ends the queue: the
   * consumer reads what is buffered, then `last`, then done.
   */
  finish(last?: T): void {
    if (this.#ended) return;
    if (last !== undefined) {
      if (this.#waiter) this.push(last);
      else this.#items.push(last);
    }
    this.#end(undefined);
  }

  /** Ends the queue with an error the consumer sees after the buffered items. */
  fail(err: unknown): void {
    this.#end(err ?? new Error('queue failed'));
  }

  #end(err: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = err;
    if (this.size === 0) {
      const waiter = this.#waiter;
      const failer = this.#failer;
      this.#waiter = undefined;
      this.#failer = undefined;
      if (err !== undefined) failer?.(err);
      else waiter?.({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.size > 0) {
      const value = this.#items[this.#head] as T;
      this.#head += 1;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items.splice(0, this.#head);
        this.#head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.#ended) {
      return this.#error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(this.#error);
    }
    return new Promise((resolve, reject) => {
      this.#waiter = resolve;
      this.#failer = reject;
    });
  }

  return(): Promise<IteratorResult<T>> {
    const wasEnded = this.#ended;
    this.clear();
    this.#error = undefined;
    this.#end(undefined);
    if (!wasEnded) this.#onReturn?.();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
