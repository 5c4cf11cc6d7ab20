/**
 * The indexing worker as a child process for the crash test: `node --import tsx worker-process.ts <prefix>`
 * indexes the readings of the catalogue under `<prefix>` into indices under the same prefix. It never
 * stops by itself: the test kills it with SIGKILL mid-run.
 * Small, sequential bulk requests keep it busy long enough to be killed in the middle.
 */
import { createRegistryCodec } from '../../../core/avro/registry-codec.js';
import { loadConfig } from '../../../core/config.js';
import { createKafkaClient } from '../../../core/kafka/client.js';
import { createLogger } from '../../../core/log.js';
import { createTopicCatalogue } from '../../../core/topics.js';
import { createElasticsearchClient } from '../elasticsearch.js';
import { createIndexWorker } from '../worker.js';

const prefix = process.argv[2];
if (prefix === undefined) throw new Error('usage: worker-process.ts <prefix>');

const config = loadConfig(process.env);
const logger = createLogger({ level: 'warn', name: 'index-crash-test', destination: process.stderr });
const worker = createIndexWorker({
  kafka: createKafkaClient(config.kafka, logger),
  codec: createRegistryCodec(config.schemaRegistry.url),
  catalogue: createTopicCatalogue({ prefix, partitions: 3 }),
  elasticsearch: createElasticsearchClient({ url: config.elasticsearch.url }),
  logger,
  prefix,
  groupIdPrefix: prefix,
  types: ['readings'],
  bulk: { maxBatchDocs: 100, maxInFlight: 1 },
});
await worker.start();
