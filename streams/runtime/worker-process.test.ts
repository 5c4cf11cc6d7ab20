import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/log.js';
import { runProcess, type ProcessDefinition } from '../../core/process-main.js';
import { createTopicCatalogue } from '../../core/topics.js';
import type { StatefulWorker } from './stateful-worker.js';
import {
  createWorkerConnections,
  registerStateSizeGauge,
  runWorkerProcess,
  workerComponent,
  WORKER_PROCESS_NEEDS,
  type WorkerProcessOptions,
} from './worker-process.js';

vi.mock('../../core/process-main.js', () => ({ runProcess: vi.fn(async () => undefined) }));

const config = loadConfig({ KAFKA_PARTITIONS: '3' });
const logger = createLogger({ level: 'silent', name: 'test' });

function processOptions(prefix?: string): WorkerProcessOptions {
  return { config, logger, catalogue: createTopicCatalogue({ partitions: 3 }), metrics: new Registry(), ...(prefix === undefined ? {} : { prefix }) };
}

function fakeWorker(stateSize = 0): StatefulWorker & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    start: async () => void calls.push('start'),
    stop: async () => void calls.push('stop'),
    stateSize: () => stateSize,
  };
}

describe('the connections of a worker process', () => {
  it('size the pool as asked and hand the workers the catalogue, the logger and no prefix by default', async () => {
    const options = processOptions();
    const { pool, postgres, deps } = createWorkerConnections(options, 4);
    expect(pool.options.max).toBe(4);
    expect(postgres.name).toBe('postgres');
    expect(deps).toMatchObject({ catalogue: options.catalogue, logger, prefix: '' });
    await postgres.stop();
    expect(pool.ended).toBe(true);
  });

  it('keep the prefix a test gives', async () => {
    const { postgres, deps } = createWorkerConnections(processOptions('t1-'), 2);
    expect(deps.prefix).toBe('t1-');
    await postgres.stop();
  });
});

describe('the state size gauge', () => {
  it("reads the worker's state size at every scrape", async () => {
    const metrics = new Registry();
    registerStateSizeGauge(metrics, fakeWorker(7), { name: 'test_state_keys', help: 'Keys held.' });
    expect(await metrics.metrics()).toBe('# HELP test_state_keys Keys held.\n# TYPE test_state_keys gauge\ntest_state_keys 7\n');
  });
});

describe('a worker as a component', () => {
  it('starts and stops the worker under the given name', async () => {
    const worker = fakeWorker();
    const component = workerComponent('test-worker', worker);
    await component.start();
    await component.stop();
    expect(component.name).toBe('test-worker');
    expect(worker.calls).toEqual(['start', 'stop']);
  });
});

describe('running a worker process', () => {
  const run = vi.mocked(runProcess);

  async function definitionOf(needs?: ProcessDefinition['needs']): Promise<{ definition: ProcessDefinition; create: ReturnType<typeof vi.fn> }> {
    run.mockClear();
    const worker = fakeWorker();
    const create = vi.fn((_options: WorkerProcessOptions) => ({ components: [workerComponent('test-worker', worker)] }));
    const env = { KAFKA_PARTITIONS: '3' };
    await runWorkerProcess({ name: 'test', create, ...(needs === undefined ? {} : { needs }) }, env);
    expect(run).toHaveBeenCalledTimes(1);
    const [definition, passedEnv] = run.mock.calls[0]!;
    expect(passedEnv).toBe(env);
    return { definition, create };
  }

  it('checks Kafka, the schema registry and PostgreSQL unless told otherwise', async () => {
    expect((await definitionOf()).definition).toMatchObject({ name: 'test', needs: WORKER_PROCESS_NEEDS });
    expect(WORKER_PROCESS_NEEDS).toEqual(['kafka', 'schemaRegistry', 'postgres']);
    expect((await definitionOf([...WORKER_PROCESS_NEEDS, 'redis'])).definition.needs).toEqual(['kafka', 'schemaRegistry', 'postgres', 'redis']);
  });

  it('builds the process on the catalogue of the configured partitions, without a prefix', async () => {
    const { definition, create } = await definitionOf();
    const metrics = new Registry();
    const components = definition.components({ config, logger, metrics });
    expect(components.map((component) => component.name)).toEqual(['test-worker']);
    const [options] = create.mock.calls[0] as [WorkerProcessOptions];
    expect(options).toMatchObject({ config, logger, metrics });
    expect(options.prefix).toBeUndefined();
    expect(options.catalogue.readings.name).toBe('reading.v1');
    expect(options.catalogue.readings.partitions).toBe(3);
  });
});
