import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { RegistryCodec } from '../../core/avro/registry-codec.js';
import type { Admin, Consumer, KafkaClient } from '../../core/kafka/client.js';
import { createTopicCatalogue } from '../../core/topics.js';
import { jsonStateCodec } from './state-codec.js';
import { createStatefulWorker } from './stateful-worker.js';

/** The broker's answer for a partition it does not host yet (kafkajs marks it retriable). */
const notHostedYet = (): Error => Object.assign(new Error('This server does not host this topic-partition'), { retriable: true });

/** A Kafka client of our own interface that fails the way a broker does right after topics appear. */
function flakyKafka(failures: { describe: number; connect: number }, calls: string[]): KafkaClient {
  const admin = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    describeTopics: async (names: readonly string[]) => {
      calls.push('describe');
      if (failures.describe-- > 0) throw notHostedYet();
      return names.map((name) => ({ name, partitions: 3 }));
    },
    createTopics: async () => {
      calls.push('create');
      return [];
    },
  } as unknown as Admin;
  const consumer = {
    connect: async () => {
      calls.push('connect');
      if (failures.connect-- > 0) throw new Error('group coordinator not available');
    },
    subscribe: async () => void calls.push('subscribe'),
    run: async () => void calls.push('run'),
    disconnect: async () => void calls.push('disconnect'),
  } as unknown as Consumer;
  return {
    admin: () => admin,
    consumer: () => consumer,
    producer: () => {
      throw new Error('no partition is assigned in this test');
    },
  };
}

const codec = { register: async () => 1 } as unknown as RegistryCodec;

function workerOn(kafka: KafkaClient) {
  const catalogue = createTopicCatalogue({ prefix: 'unit.' });
  return createStatefulWorker(
    { name: 'tally', input: catalogue.readings, outputs: [catalogue.alerts], stateCodec: jsonStateCodec<number>(), handle: () => undefined },
    { kafka, codec, catalogue, logger: pino({ level: 'silent' }), prefix: 'unit.' },
  );
}

describe('starting a stateful worker', () => {
  it('retries creating its changelog while the broker answers with retriable errors', async () => {
    const calls: string[] = [];
    const worker = workerOn(flakyKafka({ describe: 2, connect: 0 }, calls));
    await worker.start();
    expect(calls).toEqual(['describe', 'describe', 'describe', 'create', 'connect', 'subscribe', 'run']);
    await worker.stop();
  });

  it('can be started again after a start that failed to connect its consumer', async () => {
    const calls: string[] = [];
    const worker = workerOn(flakyKafka({ describe: 0, connect: 1 }, calls));
    await expect(worker.start()).rejects.toThrow('group coordinator not available');
    await worker.start();
    expect(calls).toEqual(['describe', 'create', 'connect', 'disconnect', 'describe', 'create', 'connect', 'subscribe', 'run']);
    await worker.stop();
  });
});
