import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { withoutAbortedRecords, type FetchedRecord } from './aborted-records.js';
import './client.js';

const COMMIT = Buffer.from([0, 0, 0, 1]);
const ABORT = Buffer.from([0, 0, 0, 0]);

function record(offset: number, producerId: string, inTransaction = true): FetchedRecord {
  return { offset: String(offset), key: Buffer.from(`k${offset}`), batchContext: { producerId, inTransaction } };
}
function marker(offset: number, producerId: string, key: Buffer): FetchedRecord {
  return { offset: String(offset), key, isControlRecord: true, batchContext: { producerId, inTransaction: true } };
}

/**
 * One partition written by three producers: p1 and p2 both began transactions before offset 2 and
 * both were aborted (a killed worker), p3 committed in between. The broker lists aborted
 * transactions in the order they were aborted (its transaction index), not by first offset.
 */
const messages = [
  record(0, 'p1'),
  record(1, 'p2'),
  record(2, 'p3'),
  record(3, 'p2'),
  marker(4, 'p3', COMMIT),
  marker(5, 'p1', ABORT),
  marker(6, 'p2', ABORT),
  record(7, 'p1'),
  record(8, 'plain', false),
];
const abortedTransactions = [
  { producerId: 'p2', firstOffset: '1' },
  { producerId: 'p1', firstOffset: '0' },
];

describe('withoutAbortedRecords', () => {
  it('drops every record of every aborted transaction begun at or before it, and keeps committed, later and non-transactional ones', () => {
    const kept = withoutAbortedRecords({ messages, abortedTransactions }).filter((m) => !m.isControlRecord).map((m) => m.offset);
    expect(kept).toEqual(['2', '7', '8']);
  });

  it('keeps everything when the response names no aborted transaction', () => {
    expect(withoutAbortedRecords({ messages })).toBe(messages);
  });

  it('is what kafkajs batches use once the client is loaded', () => {
    const require = createRequire(import.meta.url);
    const Batch = require('kafkajs/src/consumer/batch.js') as new (topic: string, fetchedOffset: string, data: object) => { messages: FetchedRecord[] };
    const batch = new Batch('t', '0', { partition: 0, highWatermark: '9', messages, abortedTransactions });
    expect(batch.messages.map((m) => m.offset)).toEqual(['2', '7', '8']);
  });
});
