import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SAMPLE_RECORDS } from '../../schemas/avro/samples.js';
import { createRegistryCodec } from '../avro/registry-codec.js';
import { SchemaValidationError } from '../errors.js';
import { ensureTopics } from './ensure-topics.js';
import { createRecordProducer, type RecordProducer } from './record-producer.js';
import { createRecordConsumer } from './record-consumer.js';
import type { IncomingMessage } from './client.js';
import type { TopicSpec } from '../topics.js';
import { deleteTopics, run, testKernel, waitFor, type TestKernel } from '../../test/support/stack.js';

let kernel: TestKernel;
let producer: RecordProducer;

/** Reads messages of `topics` with a fresh group until `done` says enough arrived. */
async function readUntil(topics: readonly string[], done: (messages: IncomingMessage[]) => boolean): Promise<IncomingMessage[]> {
  const messages: IncomingMessage[] = [];
  const consumer = kernel.kafka.consumer({ groupId: `${kernel.prefix}reader-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe(topics, { fromBeginning: true });
  await consumer.run({ eachBatch: async (batch) => void messages.push(...batch.messages) });
  try {
    await waitFor(`messages on ${topics.join(', ')}`, () => done(messages), { timeoutMs: 60_000 });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

async function highWatermarks(topic: string): Promise<string[]> {
  const admin = kernel.kafka.admin();
  await admin.connect();
  try {
    return (await admin.topicOffsets(topic)).map((p) => p.high);
  } finally {
    await admin.disconnect();
  }
}

// Each test gets its own topics, so no test sees another's records.
beforeEach(async () => {
  kernel = await testKernel('records');
  producer = createRecordProducer({ kafka: kernel.kafka, codec: kernel.codec, topics: kernel.catalogue.all });
  await producer.start();
});

afterEach(async () => {
  await producer?.stop();
  if (kernel) await deleteTopics(kernel);
});

describe('records through the schema registry', () => {
  it('writes a sample of every record type to its topic and reads the same value back, keyed as the catalogue says', async () => {
    const topics = kernel.catalogue.all;
    for (const topic of topics) await producer.produce(topic, [SAMPLE_RECORDS[topic.record]] as never);

    const messages = await readUntil(topics.map((t) => t.name), (m) => new Set(m.map((x) => x.topic)).size === topics.length);
    for (const topic of topics) {
      const message = messages.find((m) => m.topic === topic.name);
      expect(message, topic.name).toBeDefined();
      const decoded = await kernel.codec.decode(topic.record, message!.value);
      expect(decoded.value, topic.name).toEqual(SAMPLE_RECORDS[topic.record]);
      expect(message!.key === null ? null : message!.key.toString('utf8'), topic.name).toBe((topic as TopicSpec).keyOf(SAMPLE_RECORDS[topic.record] as never));
      expect(message!.value![0], 'magic byte').toBe(0);
      expect(message!.value!.readUInt32BE(1), 'schema id').toBe(decoded.schemaId);
    }
  });

  it('refuses a record that does not match its schema with the path of every bad field, and writes nothing', async () => {
    const topic = kernel.catalogue.devices;
    const { deviceId: _missing, ...withoutId } = SAMPLE_RECORDS.Device;
    const bad = { ...withoutId, rssiDbm: 'strong' } as unknown as typeof SAMPLE_RECORDS.Device;

    const error = await producer.produce(topic, [bad]).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(SchemaValidationError);
    expect((error as SchemaValidationError).paths).toEqual(['device.deviceId', 'device.rssiDbm']);
    expect((error as SchemaValidationError).message).toContain('device.rssiDbm: expected');
    expect(await highWatermarks(topic.name)).toEqual(['0', '0', '0']);
  });

  it('dead-letters values that cannot be decoded, with the reason and the original bytes, and goes on', async () => {
    const topic = kernel.catalogue.alerts;
    const dlq = kernel.catalogue.dlqOf(topic);
    const valid = producer.encode(topic, [SAMPLE_RECORDS.Alert])[0]!;
    const unknownSchema = Buffer.from(valid.value!);
    unknownSchema.writeUInt32BE(0x7ffffff0, 1);
    const bad = [
      { key: 'dev-a', value: Buffer.from('{"not":"avro"}'), reason: 'WRONG_MAGIC_BYTE' },
      { key: 'dev-a', value: Buffer.from([0, 0, 1]), reason: 'TRUNCATED' },
      { key: 'dev-a', value: unknownSchema, reason: 'UNKNOWN_SCHEMA_ID' },
      { key: 'dev-a', value: valid.value!.subarray(0, valid.value!.length - 3), reason: 'TRUNCATED' },
      { key: 'dev-a', value: Buffer.concat([valid.value!, Buffer.from([1, 2])]), reason: 'TRAILING_DATA' },
    ];
    const raw = kernel.kafka.producer();
    await raw.connect();
    // One partition (same key), so order is preserved: five bad values, then a good one.
    await raw.send(topic.name, [...bad.map(({ key, value }) => ({ key, value })), { key: 'dev-a', value: valid.value }]);
    await raw.disconnect();

    const handled: string[] = [];
    const groupId = `${kernel.prefix}alerts-worker`;
    const consumer = createRecordConsumer({
      kafka: kernel.kafka, codec: kernel.codec, producer, topic, dlq, groupId, logger: kernel.logger,
      origin: { stage: 'test', component: 'records.int.test' },
      handle: async ({ value }) => void handled.push(value.alertId),
    });
    await consumer.start();
    try {
      await waitFor('the valid alert to be handled', () => handled.length === 1);
    } finally {
      await consumer.stop();
    }
    expect(handled).toEqual([SAMPLE_RECORDS.Alert.alertId]);

    const dead = await readUntil([dlq.name], (m) => m.length >= bad.length);
    const letters = await Promise.all(dead.map(async (m) => (await kernel.codec.decode('DeadLetter', m.value)).value));
    letters.sort((a, b) => (a.originalOffset ?? 0) - (b.originalOffset ?? 0));
    expect(letters.map((l) => l.reasonCode)).toEqual(bad.map((b) => b.reason));
    expect(letters.map((l) => Buffer.compare(l.originalValue, bad[letters.indexOf(l)]!.value))).toEqual([0, 0, 0, 0, 0]);
    expect(letters.every((l) => l.originalTopic === topic.name && l.stage === 'test' && l.reasonMessage.length > 0)).toBe(true);
    expect(dead.every((m) => m.key?.toString() === 'dev-a')).toBe(true);

    const admin = kernel.kafka.admin();
    await admin.connect();
    const committed = await admin.groupOffsets(groupId, topic.name);
    await admin.disconnect();
    expect(committed.map((p) => p.offset).filter((o) => o !== '-1')).toEqual(['6']);
  });

  it('commits a transaction whose sends exceed the broker request limit, every message in order', async () => {
    const topic = kernel.catalogue.alerts.name;
    const tx = kernel.kafka.producer({ transactionalId: `${kernel.prefix}large` });
    await tx.connect();
    // 6000 × 500 bytes: three times the broker's 1 MiB message.max.bytes in one send.
    const messages = Array.from({ length: 6000 }, (_, i) => ({ key: String(i), value: Buffer.alloc(500, i % 251), partition: 0 }));
    try {
      const transaction = await tx.transaction();
      await transaction.send(topic, messages);
      await transaction.commit();
    } finally {
      await tx.disconnect();
    }
    const read = await readUntil([topic], (m) => m.length >= messages.length);
    expect(read.map((m) => m.key?.toString('utf8'))).toEqual(messages.map((m) => m.key));
  });

  it('has the registry refuse a schema change that is not BACKWARD compatible', async () => {
    const subject = `${kernel.prefix}compat-value`;
    await kernel.codec.register(subject, 'Alert');
    const error = await kernel.codec.register(subject, 'Reading').catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'SCHEMA_INCOMPATIBLE', retriable: true });
    expect(await kernel.codec.register(subject, 'Alert')).toBeGreaterThan(0);
  });

  it('registers a new subject from several processes at once, each getting the same id', async () => {
    const subject = `${kernel.prefix}together-value`;
    // Separate codecs, as separate processes starting together would have.
    const codecs = Array.from({ length: 6 }, () => createRegistryCodec(kernel.config.schemaRegistry.url));
    const ids = await Promise.all(codecs.map((codec) => codec.register(subject, 'Reading')));
    expect(new Set(ids).size).toBe(1);
  });

  it('creates the catalogue topics idempotently, with their declared policies', async () => {
    const admin = kernel.kafka.admin();
    await admin.connect();
    try {
      const again = await ensureTopics(admin, kernel.catalogue.all, 1);
      expect(again).toEqual({ created: [], grown: [], reconfigured: [], wider: [] });
      const devices = await admin.topicConfigs(kernel.catalogue.devices.name, ['cleanup.policy']);
      const raw = await admin.topicConfigs(kernel.catalogue.rawUplinks.name, ['cleanup.policy', 'retention.ms']);
      expect(devices['cleanup.policy']).toBe('compact');
      expect(raw).toEqual({ 'cleanup.policy': 'delete', 'retention.ms': '-1' });
    } finally {
      await admin.disconnect();
    }
  });

  it('writes values that kcat and Apache avro-tools read without any meterflux code', async () => {
    const topic = kernel.catalogue.readings;
    await producer.produce(topic, [SAMPLE_RECORDS.Reading]);
    const schemaId = await kernel.codec.register(topic.subject, 'Reading');

    const output = await waitFor('inspect.sh to show the reading', async () => {
      const out = await run('infra/inspect/inspect.sh', [topic.name, '1']);
      return out.includes('schema-id') ? out : undefined;
    });

    expect(output).toContain(`magic=0 schema-id=${schemaId}`);
    // Line 1 is the framing; avro-tools prints the decoded record as JSON after it.
    const json = JSON.parse(output.slice(output.indexOf('\n') + 1)) as Record<string, unknown>;
    expect(json['deviceId']).toBe(SAMPLE_RECORDS.Reading.deviceId);
    expect(json['value']).toBe(SAMPLE_RECORDS.Reading.value);
  });
});
