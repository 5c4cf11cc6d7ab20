import { describe, expect, it } from 'vitest';
import { BoundedQueue } from './queue.js';

describe('BoundedQueue', () => {
  it('hands items to a waiting consumer at once and buffers up to its capacity, then refuses', async () => {
    const queue = new BoundedQueue<number>(2);
    const waiting = queue.next();
    expect(queue.push(1)).toBe(true);
    expect(await waiting).toEqual({ value: 1, done: false });
    expect(queue.push(2)).toBe(true);
    expect(queue.push(3)).toBe(true);
    expect(queue.push(4)).toBe(false);
    expect(queue.size).toBe(2);
  });

  it('delivers what is buffered, then the last item given to finish, then done', async () => {
    const queue = new BoundedQueue<string>(1);
    queue.push('a');
    queue.finish('last');
    const seen: string[] = [];
    for await (const item of queue) seen.push(item);
    expect(seen).toEqual(['a', 'last']);
    expect(queue.push('late')).toBe(false);
  });

  it('rejects the consumer with the failure after the buffered items', async () => {
    const queue = new BoundedQueue<number>(4);
    queue.push(1);
    queue.fail(new Error('broken'));
    expect(await queue.next()).toEqual({ value: 1, done: false });
    await expect(queue.next()).rejects.toThrow('broken');
  });

  it('calls onReturn once when the consumer stops early, and not after a normal end', async () => {
    let returned = 0;
    const early = new BoundedQueue<number>(4, () => (returned += 1));
    await early.return();
    await early.return();
    expect(returned).toBe(1);

    let after = 0;
    const ended = new BoundedQueue<number>(4, () => (after += 1));
    ended.finish();
    await ended.return();
    expect(after).toBe(0);
  });

  it('refuses a capacity below 1', () => {
    expect(() => new BoundedQueue(0)).toThrow(RangeError);
  });
});
