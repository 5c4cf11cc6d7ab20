/**
 * Helpers for integration tests against the real local stack (`make up`): a unique prefix per test
 * file for topics, groups, subjects and indices, polling instead of sleeping, and the kernel wired
 * the way processes wire it.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../../core/config.js';
import { createLogger, LOG_LEVELS, type Logger, type LogLevel } from '../../core/log.js';
import { createKafkaClient, type IncomingMessage, type KafkaClient } from '../../core/kafka/client.js';
import { createRegistryCodec, type RegistryCodec } from '../../core/avro/registry-codec.js';
import { createTopicCatalogue, type TopicCatalogue } from '../../core/topics.js';
import { ensureTopics } from '../../core/kafka/ensure-topics.js';

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A short random prefix such as `it-3f9a1c.`; every name a test creates starts with it. */
export function uniquePrefix(label = 'it'): string {
  return `${label}-${randomBytes(3).toString('hex')}.`;
}

/**
 * Polls `probe` until it returns something other than `undefined`/`false`, or fails after
 * `timeoutMs` with `what` in the message. Never sleeps longer than `intervalMs` at a time.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 100 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await probe();
      if (result !== undefined && result !== false) return result;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The kernel as a process wires it, with a catalogue under a unique prefix and few partitions. */
export interface TestKernel {
  readonly config: Config;
  readonly logger: Logger;
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  readonly catalogue: TopicCatalogue;
  readonly prefix: string;
}

/**
 * `TEST_LOG_LEVEL` (default `warn`): `debug`, or `trace` for every Kafka request, shows what a stuck
 * integration test was doing.
 */
function testLogLevel(): LogLevel {
  const level = process.env['TEST_LOG_LEVEL'] ?? 'warn';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new Error(`TEST_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  return level as LogLevel;
}

/** Builds a {@link TestKernel} and creates its catalogue's topics (3 partitions each). */
export async function testKernel(label?: string): Promise<TestKernel> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: testLogLevel(), name: 'test' });
  const kafka = createKafkaClient(config.kafka, logger);
  const codec = createRegistryCodec(config.schemaRegistry.url);
  const prefix = uniquePrefix(label);
  const catalogue = createTopicCatalogue({ prefix, partitions: 3 });
  const admin = kafka.admin();
  await admin.connect();
  try {
    // Right after other tests deleted topics the controller may still answer "does not host this
    // topic-partition"; creation is idempotent, so try again until every partition has metadata.
    await waitFor(`the ${prefix} topics to be created with leaders`, async () => {
      await ensureTopics(admin, catalogue.all, 1);
      const described = await admin.describeTopics(catalogue.all.map((t) => t.name));
      if (described.length !== catalogue.all.length || described.some((t) => t.partitions !== 3)) return false;
      // Listing offsets needs every partition's leader: the proof that the topics are usable.
      for (const topic of catalogue.all) await admin.topicOffsets(topic.name);
      return true;
    }, { timeoutMs: 60_000, intervalMs: 500 });
  } finally {
    await admin.disconnect();
  }
  return { config, logger, kafka, codec, catalogue, prefix };
}

/** Deletes every topic whose name starts with `prefix`. */
export async function deleteTopics(kernel: TestKernel): Promise<void> {
  const admin = kernel.kafka.admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(kernel.prefix));
  await admin.deleteTopics(topics);
  await admin.disconnect();
}

/** Runs a command from the repository root and returns its stdout; rejects with stderr on failure. */
export async function run(command: string, args: readonly string[], timeoutMs = 120_000): Promise<string> {
  const { stdout } = await promisify(execFile)(command, [...args], { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 16 << 20 });
  return stdout;
}

/**
 * Reads every record a topic holds right now (read_committed), up to the ends taken at the start,
 * with a throwaway group; returns the raw messages in partition order. Rejects when the end is not
 * reached within `timeoutMs`, so a poll around it tries again instead of hanging.
 *
 * The ends are the last stable offsets: a transaction whose commit has just returned may not be
 * visible yet (the broker writes its markers after answering), so a test expecting its records
 * polls.
 */
export async function readToEnd(kernel: TestKernel, topic: string, { timeoutMs = 60_000 } = {}): Promise<IncomingMessage[]> {
  const admin = kernel.kafka.admin();
  await admin.connect();
  const offsets = await admin.topicOffsets(topic).finally(() => admin.disconnect());
  const pending = new Map(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]));
  const messages: IncomingMessage[] = [];
  if (pending.size === 0) return messages;
  const consumer = kernel.kafka.consumer({ groupId: `${kernel.prefix}read-${randomBytes(4).toString('hex')}` });
  await consumer.connect();
  try {
    await consumer.subscribe([topic], { fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      // A consumer that crashed on a group coordinator still loading (right after a broker restart)
      // can sit without fetching; the caller's poll then tries again with a fresh group.
      const timer = setTimeout(() => reject(new Error(`reading ${topic} did not reach its end within ${timeoutMs} ms`)), timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      consumer
        .run({
          eachBatch: async (batch) => {
            for (const m of batch.messages) if (pending.has(m.partition) && BigInt(m.offset) < pending.get(m.partition)!) messages.push(m);
          },
          // Transaction markers can be the last offsets; the lag says when a partition is read through.
          onBatchEnd: ({ partition, offsetLag }) => {
            if (offsetLag === 0n && pending.delete(partition) && pending.size === 0) done();
          },
        })
        .catch((err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        });
    });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}
