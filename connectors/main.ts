/**
 * The ingest process: runs the connectors named in `CONNECTORS`, each with its own configuration
 * slice, feeding one Kafka producer. Start order: the producer (sink) and the metrics server, then
 * the sources; SIGTERM/SIGINT stop them in reverse within `SHUTDOWN_GRACE_MS`.
 *
 *   npx tsx connectors/main.ts
 */
import { loadConfig, redactConfig, type Config, type ConnectorName } from '../core/config.js';
import { createLogger, type Logger } from '../core/log.js';
import { Lifecycle, runUntilSignal, type Component } from '../core/lifecycle.js';
import { createMetricsRegistry, startMetricsServer, type MetricsServer } from '../core/metrics.js';
import { checkServices, type ServiceName } from '../core/preflight.js';
import { createKafkaClient } from '../core/kafka/client.js';
import { createRecordProducer, type RecordProducer } from '../core/kafka/record-producer.js';
import { createRegistryCodec } from '../core/avro/registry-codec.js';
import { createTopicCatalogue, type TopicCatalogue } from '../core/topics.js';
import { errorMessage } from '../core/errors.js';
import type { Registry } from 'prom-client';
import type { KafkaClient } from '../core/kafka/client.js';
import type { RegistryCodec } from '../core/avro/registry-codec.js';
import { createIngest } from './kit/ingest.js';
import type { Source } from './kit/source.js';
import { createMqttSource } from './mqtt/source.js';
import { createHttpSource } from './http/source.js';
import { createMbusTcpSource, mbusTcpSourceOptions } from './mbus-tcp/source.js';
import { createLnsSource } from './lns/source.js';
import { createKafkaResumeStore } from './lns/resume-store.js';

/** What a connector factory may use besides its own configuration slice. */
interface SourceDeps {
  readonly metrics: Registry;
  readonly logger: Logger;
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  readonly catalogue: TopicCatalogue;
}

/** Each connector by name: its dependencies, and how to build it from its slice of the config. */
const CONNECTORS: Record<ConnectorName, { needs: ServiceName[]; create(config: Config, deps: SourceDeps): Source }> = {
  mqtt: {
    needs: ['mqtt'],
    create: (config, { metrics, logger }) =>
      createMqttSource({ url: config.mqtt.url, clientId: config.mqtt.clientId, topicPrefix: config.mqtt.topicPrefix, metrics, logger }),
  },
  http: {
    needs: ['postgres', 'redis'],
    create: (config, { metrics, logger }) =>
      createHttpSource({
        port: config.ingest.httpPort,
        maxBodyBytes: config.ingest.httpMaxBodyBytes,
        databaseUrl: config.postgres.url,
        redisUrl: config.redis.url,
        metrics,
        logger,
      }),
  },
  'mbus-tcp': {
    needs: [],
    create: (config, { metrics }) => createMbusTcpSource(mbusTcpSourceOptions(config.ingest, metrics)),
  },
  lns: {
    needs: [],
    create: (config, { metrics, logger, kafka, codec, catalogue }) =>
      createLnsSource({
        // loadConfig refuses `lns` in CONNECTORS without LNS_URL.
        url: config.lns.url ?? '',
        dialect: config.lns.dialect,
        ...(config.lns.login === undefined ? {} : { login: config.lns.login }),
        ...(config.lns.password === undefined ? {} : { password: config.lns.password }),
        connector: 'lns',
        resumeStore: createKafkaResumeStore({ kafka, codec, topic: catalogue.rawUplinks, connector: 'lns', logger }),
        metrics,
        logger,
      }),
  },
};

/** A source as a lifecycle component, with its own Ingest (records carry the connector's name). */
function sourceComponent(source: Source, producer: RecordProducer, deps: SourceDeps): Component {
  return {
    name: `${source.name}-source`,
    start: () =>
      source.start(createIngest({ producer, catalogue: deps.catalogue, connector: source.name, logger: deps.logger, metrics: deps.metrics })),
    stop: () => source.stop(),
  };
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.log.level, name: 'ingest' });
  logger.info({ config: redactConfig(config) }, 'starting the ingest process');
  const enabled = config.connectors.enabled;
  await checkServices(config, ['kafka', 'schemaRegistry', ...new Set(enabled.flatMap((name) => CONNECTORS[name].needs))]);

  const metrics = createMetricsRegistry();
  const kafka = createKafkaClient(config.kafka, logger);
  const codec = createRegistryCodec(config.schemaRegistry.url);
  const catalogue = createTopicCatalogue({ partitions: config.kafka.partitions });
  const deps: SourceDeps = { metrics, logger, kafka, codec, catalogue };
  const producer = createRecordProducer({ kafka, codec, topics: [catalogue.rawUplinks, catalogue.dlqOf(catalogue.rawUplinks)] });
  const sources = enabled.map((name) => CONNECTORS[name].create(config, deps));

  let metricsServer: MetricsServer | undefined;
  const lifecycle = new Lifecycle(
    [
      { name: 'kafka-producer', start: () => producer.start(), stop: () => producer.stop() },
      {
        name: 'metrics',
        start: async () => {
          metricsServer = await startMetricsServer({
            port: config.metrics.port,
            registry: metrics,
            logger,
            health: () => {
              const components = Object.fromEntries(sources.map((s) => [s.name, s.health()]));
              return { healthy: Object.values(components).every((c) => c.healthy), components };
            },
          });
        },
        stop: async () => metricsServer?.close(),
      },
      {
        name: 'announce',
        start: async () => logger.info({ connectors: enabled, metricsPort: metricsServer?.port }, 'ingest running'),
        stop: async () => undefined,
      },
      ...sources.map((source) => sourceComponent(source, producer, deps)),
    ],
    { logger },
  );
  await runUntilSignal(lifecycle, { logger, graceMs: config.shutdown.graceMs });
}

main().catch((err: unknown) => {
  process.stderr.write(`ingest failed to start: ${errorMessage(err)}\n`);
  process.exit(1);
});
