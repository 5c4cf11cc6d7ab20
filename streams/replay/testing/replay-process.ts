/**
 * A replay run as a child process, for the kill-and-resume test:
 * `node --import tsx streams/replay/testing/replay-process.ts <prefix> <runId> [maxAgeMs]` runs the
 * recorded run `<runId>` over the live catalogue and indices under `<prefix>`, decoding with
 * `maxAgeMs` as the clock rule when given (the "decoder change" of the test). It exits when the
 * run is built; the test kills it with SIGKILL before that. Started with `node --import tsx`
 * rather than the tsx binary, whose grandchild a SIGKILL would miss.
 */
import pg from 'pg';
import { createRegistryCodec } from '../../../core/avro/registry-codec.js';
import { loadConfig } from '../../../core/config.js';
import { createKafkaClient } from '../../../core/kafka/client.js';
import { createLogger } from '../../../core/log.js';
import { createTopicCatalogue } from '../../../core/topics.js';
import { createElasticsearchClient } from '../../index/elasticsearch.js';
import { runReplay } from '../replay.js';

const [prefix, runId, maxAgeMs] = process.argv.slice(2);
if (prefix === undefined || runId === undefined) {
  process.stderr.write('usage: replay-process.ts <prefix> <runId> [maxAgeMs]\n');
  process.exit(2);
}

const config = loadConfig(process.env);
const logger = createLogger({ level: 'warn', name: 'replay-test-process', destination: process.stderr });
const db = new pg.Pool({ connectionString: config.postgres.url, max: 4 });
const elasticsearch = createElasticsearchClient({ url: config.elasticsearch.url });
const report = await runReplay(
  {
    config,
    logger,
    kafka: createKafkaClient(config.kafka, logger),
    codec: createRegistryCodec(config.schemaRegistry.url),
    elasticsearch,
    db,
    catalogue: createTopicCatalogue({ prefix, partitions: 3 }),
    indexPrefix: prefix,
    ...(maxAgeMs === undefined ? {} : { decodeOptions: { maxAgeMs: Number(maxAgeMs) } }),
  },
  runId,
);
process.stdout.write(`${JSON.stringify(report)}\n`);
await db.end();
await elasticsearch.close();
