/**
 * Which fetched records belong to aborted transactions, for read_committed consumers; installed in
 * place of kafkajs's own filter before kafkajs loads (imported first by client.ts, the one module that
 * knows kafkajs).
 *
 * Why: kafkajs 2.2.4 (`src/consumer/filterAbortedMessages.js`) takes the response's aborted
 * transactions in the order given, which is the order they were aborted, not by first offset, and
 * opens at most one per record it scans. When several producers' aborted transactions overlap on a
 * partition, as when a worker killed with open transactions on many input partitions had written to
 * one output partition from several of them, records of the transactions it has not opened yet get
 * through: read_committed consumers were handed aborted records (duplicates of what the next owner
 * wrote again). This filter follows Kafka's Java consumer: aborted transactions by first offset,
 * every one whose first offset is at or before a record open for its producer until that
 * producer's abort marker.
 */
import Module, { createRequire } from 'node:module';

/** A fetched record as kafkajs decodes it (the fields the filter reads). */
export interface FetchedRecord {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly isControlRecord?: boolean;
  readonly batchContext: { readonly producerId: string; readonly inTransaction: boolean };
}

/** An aborted transaction of a fetch response: its producer and first offset. */
export interface AbortedTransaction {
  readonly producerId: string;
  readonly firstOffset: string;
}

/** The key of an ABORT control record: version 0, type 0. */
const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

/**
 * The records of `messages` (one partition, in offset order, control records included) that are not
 * part of an aborted transaction. Control records are kept (the caller drops them).
 */
export function withoutAbortedRecords<R extends FetchedRecord>({ messages, abortedTransactions }: { messages: R[]; abortedTransactions?: readonly AbortedTransaction[] }): R[] {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  // Offsets parsed once: the loop below compares the next pending one with every record.
  const pending = abortedTransactions
    .map((t) => ({ producerId: t.producerId, firstOffset: BigInt(t.firstOffset) }))
    .sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  const aborting = new Set<string>();
  let next = 0;
  return messages.filter((message) => {
    const offset = BigInt(message.offset);
    while (next < pending.length && pending[next]!.firstOffset <= offset) aborting.add(pending[next++]!.producerId);
    const { producerId, inTransaction } = message.batchContext;
    if (message.isControlRecord) {
      if (message.key !== null && ABORT_MARKER_KEY.equals(message.key)) aborting.delete(producerId);
      return true;
    }
    return !(inTransaction && aborting.has(producerId));
  });
}

/** Puts {@link withoutAbortedRecords} where kafkajs's batch module will require its own filter. */
function install(): void {
  const require = createRequire(import.meta.url);
  const path = require.resolve('kafkajs/src/consumer/filterAbortedMessages.js');
  const replacement = new Module(path);
  replacement.filename = path;
  replacement.loaded = true;
  replacement.exports = withoutAbortedRecords;
  require.cache[path] = replacement;
}

install();
