/**
 * The write ceiling of a stateful stage: what kafkajs alone takes to write, in transactions, the
 * records one stage run wrote (outputs and changelog), so a stage's rate can be read against the
 * most its writes allow and not only against a bare consume of its input.
 *
 * {@link profileWrites} reads back everything one run wrote under the benchmark's prefix and counts
 * the run's transactions by their commit markers on the changelog; {@link rawWriteRate} writes the
 * very same bytes again with plain kafkajs transactional producers.
 */
import { CompressionTypes, Partitioners, type Kafka, type Message } from 'kafkajs';
import { DEFAULT_PARTITIONS_CONCURRENTLY } from '../../streams/runtime/stateful-worker.js';
import { readToEnd, waitFor, type TestKernel } from '../../test/support/stack.js';

/** Per produce request, the limits the project's producer keeps (core/kafka/client.ts), so requests have the same shape. */
const REQUEST_MESSAGES = 500;
const REQUEST_BYTES = 512 * 1024;

/** What one stage run wrote, ready to be written again by {@link rawWriteRate}. */
export interface WriteProfile {
  /** Records written (outputs, dead letters and changelog; transaction markers not counted). */
  readonly records: number;
  /** Input records the run consumed. */
  readonly inputs: number;
  /** The run's transactions, each one produce request list: the same records, in as many transactions. */
  readonly transactions: ReadonlyArray<readonly Message[][]>;
  /** Transactional producers writing at once: one per input partition, at most the runner's concurrency. */
  readonly producers: number;
}

/** Records written per input record. */
export function writesPerInput(profile: WriteProfile): number {
  return profile.records / profile.inputs;
}

/**
 * Reads back what a stage run wrote to every topic under `kernel.prefix` but `input` (the topics
 * must hold nothing else: profile the first run). The run's transactions are counted by their
 * commit markers on its changelog (offsets that are not records): every batch of these stages
 * changes state, so every transaction writes the changelog once. The records are spread over that
 * many transactions, each holding every n-th record, so each has the run's mix of topics.
 */
export async function profileWrites(kernel: TestKernel, input: { readonly name: string; readonly partitions: number }, inputs: number): Promise<WriteProfile> {
  const admin = kernel.kafka.admin();
  await admin.connect();
  const written: Message[] = [];
  let transactions = 0;
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(kernel.prefix) && t !== input.name);
    for (const topic of topics) {
      const offsets = await admin.topicOffsets(topic);
      const span = offsets.reduce((sum, o) => sum + Number(BigInt(o.high) - BigInt(o.low)), 0);
      if (span === 0) continue;
      const messages = await waitFor(`${topic} to be read back`, () => readToEnd(kernel, topic), { timeoutMs: 300_000, intervalMs: 1000 });
      for (const m of messages) written.push({ key: m.key, value: m.value, headers: m.headers });
      if (topic.endsWith('.changelog.v1')) transactions += span - messages.length;
    }
  } finally {
    await admin.disconnect();
  }
  if (transactions === 0) throw new Error(`no committed transactions found on the changelog under ${kernel.prefix}`);
  const spread = Array.from({ length: transactions }, (): Message[] => []);
  written.forEach((message, i) => spread[i % transactions]!.push(message));
  return {
    records: written.length,
    inputs,
    transactions: spread.map(requestsOf),
    // As the runner: one transactional producer per partition it works on at once.
    producers: Math.min(input.partitions, DEFAULT_PARTITIONS_CONCURRENTLY),
  };
}

/** Splits one transaction's records into produce requests within {@link REQUEST_MESSAGES} and {@link REQUEST_BYTES}. */
function requestsOf(messages: readonly Message[]): Message[][] {
  const requests: Message[][] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = (message.key?.length ?? 0) + (message.value?.length ?? 0) + 64;
    const last = requests.at(-1);
    if (last === undefined || last.length === REQUEST_MESSAGES || bytes + size > REQUEST_BYTES) {
      requests.push([message]);
      bytes = size;
    } else {
      last.push(message);
      bytes += size;
    }
  }
  return requests;
}

/** Creates `topic` (delete policy, `partitions` partitions) for {@link rawWriteRate} and waits for its leaders. */
export async function createScratchTopic(kernel: TestKernel, topic: string, partitions: number): Promise<void> {
  const admin = kernel.kafka.admin();
  await admin.connect();
  try {
    await waitFor(`${topic} to have leaders`, async () => {
      await admin.createTopics([{ name: topic, partitions, replicationFactor: 1, configs: { 'cleanup.policy': 'delete' } }]);
      return (await admin.topicOffsets(topic)).length === partitions;
    }, { timeoutMs: 60_000, intervalMs: 500 });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Records per second of plain kafkajs transactional producers (idempotent, one request in flight,
 * acks -1, no compression) writing the profile's transactions to `topic`, keyed as the stage keyed
 * them: {@link WriteProfile.producers} producers at once, each committing its share of the
 * transactions one after the other. The clock runs from all producers connected (transactions
 * initialised) to the last commit.
 */
export async function rawWriteRate(raw: Kafka, topic: string, profile: WriteProfile, transactionalIdPrefix: string): Promise<number> {
  const producers = Array.from({ length: profile.producers }, (_, i) =>
    raw.producer({
      transactionalId: `${transactionalIdPrefix}${i}`,
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      // As the project's producer: the next transaction meets CONCURRENT_TRANSACTIONS until the broker
      // has finished the last commit (a few ms), which kafkajs would otherwise retry after 100 ms.
      retry: { initialRetryTime: 5, maxRetryTime: 1000, retries: 15 },
    }));
  await Promise.all(producers.map((p) => p.connect()));
  try {
    const started = process.hrtime.bigint();
    await Promise.all(producers.map(async (producer, i) => {
      for (let tx = i; tx < profile.transactions.length; tx += producers.length) {
        const transaction = await producer.transaction();
        for (const messages of profile.transactions[tx]!) await transaction.send({ topic, acks: -1, compression: CompressionTypes.None, messages });
        await transaction.commit();
      }
    }));
    return profile.records / (Number(process.hrtime.bigint() - started) / 1e9);
  } finally {
    await Promise.all(producers.map((p) => p.disconnect()));
  }
}
