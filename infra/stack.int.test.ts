import { describe, expect, it } from 'vitest';
import { recordSchema } from '../schemas/avro/index.js';
import { deleteTopics, run, testKernel, waitFor } from '../test/support/stack.js';

describe('the local stack', () => {
  it('reports every component healthy in its status table', async () => {
    const table = await run('infra/stack.sh', ['status']);
    for (const component of ['postgres', 'redis', 'mosquitto', 'kafka', 'registry', 'elasticsearch']) {
      expect(table).toMatch(new RegExp(`^${component}\\s+\\S+\\s+healthy$`, 'm'));
    }
  });

  it('keeps registered schemas across a restart of the schema registry (PostgreSQL storage)', async () => {
    const kernel = await testKernel('stack');
    const subject = `${kernel.prefix}restart-value`;
    const id = await kernel.codec.register(subject, 'Reading');

    await run('infra/stack.sh', ['restart', 'registry'], 180_000);

    const url = `${kernel.config.schemaRegistry.url}/schemas/ids/${id}/schema`;
    const schema = await waitFor('the registry to answer after its restart', async () => {
      const response = await fetch(url);
      return response.ok ? ((await response.json()) as unknown) : undefined;
    });
    expect(schema).toEqual(recordSchema('Reading'));
    const versions = (await (await fetch(`${kernel.config.schemaRegistry.url}/subjects/${subject}/versions`)).json()) as number[];
    expect(versions).toEqual([1]);
    await deleteTopics(kernel);
  });
});
