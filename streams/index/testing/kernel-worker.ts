import type { Client } from '@elastic/elasticsearch';
import type { TestKernel } from '../../../test/support/stack.js';
import { createIndexWorker, type IndexWorker, type IndexWorkerOptions } from '../worker.js';

/**
 * An index worker over a test kernel: its Kafka client, codec and catalogue, with indices, templates
 * and consumer groups under the kernel's prefix; `options` adds to or overrides those.
 */
export function kernelIndexWorker(kernel: TestKernel, elasticsearch: Client, options: Partial<IndexWorkerOptions> = {}): IndexWorker {
  return createIndexWorker({
    kafka: kernel.kafka,
    codec: kernel.codec,
    catalogue: kernel.catalogue,
    elasticsearch,
    logger: kernel.logger,
    prefix: kernel.prefix,
    groupIdPrefix: kernel.prefix,
    ...options,
  });
}
