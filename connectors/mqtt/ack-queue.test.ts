import { describe, expect, it } from 'vitest';
import { createAckQueue } from './ack-queue.js';

describe('createAckQueue', () => {
  it('sends acknowledgements in arrival order whatever order the writes finish in', () => {
    const sent: [number, number][] = [];
    const queue = createAckQueue((messageId, reasonCode) => sent.push([messageId, reasonCode]));
    const [first, second, third] = [11, 12, 13].map((id) => queue.enqueue(id)) as [ReturnType<typeof queue.enqueue>, ReturnType<typeof queue.enqueue>, ReturnType<typeof queue.enqueue>];

    third.acknowledge(0);
    second.acknowledge(0x99);
    expect(sent).toEqual([]);
    expect(queue.waiting).toBe(3);

    first.acknowledge(0);
    expect(sent).toEqual([[11, 0], [12, 0x99], [13, 0]]);
    expect(queue.waiting).toBe(0);
  });

  it('holds back everything after a message that is never acknowledged', () => {
    const sent: number[] = [];
    const queue = createAckQueue((messageId) => sent.push(messageId));
    queue.enqueue(1).acknowledge(0);
    queue.enqueue(2);
    queue.enqueue(3).acknowledge(0);
    expect(sent).toEqual([1]);
    expect(queue.waiting).toBe(2);
  });
});
