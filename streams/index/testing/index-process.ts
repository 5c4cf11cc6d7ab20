/**
 * The indexing process under a test prefix, for end-to-end and crash tests:
 * `node --import tsx streams/index/testing/index-process.ts <prefix> [type,type…]` indexes the
 * catalogue under `<prefix>` (3 partitions) into indices, aliases and groups under the same prefix,
 * by default the types decode produces (readings, devices, alerts, rejects). It writes `ready` on
 * stdout once the worker has started and stops on SIGTERM or SIGINT; crash tests kill it with
 * SIGKILL. Started with `node --import tsx` rather than the tsx binary, whose grandchild a SIGKILL
 * would miss.
 */
import { createRegistryCodec } from '../../../core/avro/registry-codec.js';
import { loadConfig } from '../../../core/config.js';
import { errorMessage } from '../../../core/errors.js';
import { createKafkaClient } from '../../../core/kafka/client.js';
import { Lifecycle, runUntilSignal } from '../../../core/lifecycle.js';
import { createLogger } from '../../../core/log.js';
import { createTopicCatalogue } from '../../../core/topics.js';
import { createElasticsearchClient } from '../elasticsearch.js';
import { INDEX_TYPES, type IndexType } from '../index-names.js';
import { createIndexWorker } from '../worker.js';

const [prefix, typeList = 'readings,devices,alerts,rejects'] = process.argv.slice(2);
const types = typeList.split(',');
const unknown = types.filter((t) => !(INDEX_TYPES as readonly string[]).includes(t));
if (prefix === undefined || prefix === '' || unknown.length > 0) {
  process.stderr.write(`usage: index-process.ts <prefix> [${INDEX_TYPES.join(',')}]${unknown.length > 0 ? `; unknown: ${unknown.join(',')}` : ''}\n`);
  process.exit(2);
}

const config = loadConfig(process.env);
const logger = createLogger({ level: config.log.level, name: 'index-test-process', destination: process.stderr });
const elasticsearch = createElasticsearchClient({ url: config.elasticsearch.url });
const worker = createIndexWorker({
  kafka: createKafkaClient(config.kafka, logger),
  codec: createRegistryCodec(config.schemaRegistry.url),
  catalogue: createTopicCatalogue({ prefix, partitions: 3 }),
  elasticsearch,
  logger,
  prefix,
  groupIdPrefix: prefix,
  types: types as IndexType[],
});
const lifecycle = new Lifecycle(
  [
    { name: 'elasticsearch-client', start: async () => undefined, stop: () => elasticsearch.close() },
    worker,
    { name: 'ready-line', start: async () => void process.stdout.write('ready\n'), stop: async () => undefined },
  ],
  { logger },
);
runUntilSignal(lifecycle, { logger, graceMs: config.shutdown.graceMs }).catch((err: unknown) => {
  process.stderr.write(`${errorMessage(err)}\n`);
  process.exit(1);
});
