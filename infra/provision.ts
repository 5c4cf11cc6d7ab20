/**
 * `make up`'s last step, idempotent: migrates PostgreSQL, creates the catalogue's topics and
 * registers every value schema under BACKWARD compatibility. Run: `npx tsx infra/provision.ts`.
 */
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { checkServices } from '../core/preflight.js';
import { createKafkaClient } from '../core/kafka/client.js';
import { ensureTopics } from '../core/kafka/ensure-topics.js';
import { createRegistryCodec } from '../core/avro/registry-codec.js';
import { createTopicCatalogue } from '../core/topics.js';
import { errorMessage } from '../core/errors.js';
import { migrate } from './postgres/migrate.js';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.log.level, name: 'provision' });
  await checkServices(config, ['postgres', 'kafka', 'schemaRegistry']);

  const migrations = await migrate(config.postgres.url);
  const catalogue = createTopicCatalogue({ partitions: config.kafka.partitions });
  const admin = createKafkaClient(config.kafka, logger).admin();
  await admin.connect();
  const topics = await ensureTopics(admin, catalogue.all, config.kafka.replicationFactor);
  await admin.disconnect();

  const codec = createRegistryCodec(config.schemaRegistry.url);
  const subjects: string[] = [];
  for (const topic of catalogue.all) subjects.push(`${topic.subject}#${await codec.register(topic.subject, topic.record)}`);

  const line = (label: string, items: readonly string[]) => `${label.padEnd(22)}${items.length ? items.join(', ') : '—'}`;
  process.stderr.write(
    [
      line('migrations applied', migrations.applied),
      line('topics created', topics.created),
      line('topics grown', topics.grown),
      line('topics reconfigured', topics.reconfigured),
      `${'topics in catalogue'.padEnd(22)}${catalogue.all.length}`,
      `${'schemas registered'.padEnd(22)}${subjects.length} (subject#id)`,
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`provisioning failed: ${errorMessage(err)}\n`);
  process.exit(1);
});
