import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, type ConfigVariableName, loadConfig, redactConfig, renderConfigTable } from './config.js';
import { ConfigError } from './errors.js';

const HEX_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

describe('loadConfig', () => {
  it('returns the documented defaults for an empty environment', () => {
    expect(loadConfig({})).toEqual({
      kafka: { brokers: ['127.0.0.1:9092'], clientId: 'meterflux', partitions: 12, replicationFactor: 1 },
      schemaRegistry: { url: 'http://127.0.0.1:8081/apis/ccompat/v7' },
      elasticsearch: { url: 'http://127.0.0.1:9200' },
      index: { prefix: '', generation: undefined, bulkMaxDocs: 5000, bulkMaxBytes: 5242880, bulkMaxInFlight: 4, readingConsumers: 3 },
      postgres: { url: 'postgres://postgres@127.0.0.1:5432/meterflux' },
      redis: { url: 'redis://127.0.0.1:6379' },
      mqtt: { url: 'mqtt://127.0.0.1:1883', clientId: 'meterflux-mqtt', topicPrefix: '' },
      api: { port: 4000 },
      ingest: {
        httpPort: 8088,
        tcpPort: 10001,
        httpMaxBodyBytes: 1048576,
        tcpMaxConnections: 256,
        tcpIdleTimeoutMs: 300000,
        tcpAllowlist: [],
      },
      connectors: { enabled: ['mqtt', 'http', 'mbus-tcp'] },
      lns: { url: undefined, dialect: 'vega', login: undefined, password: undefined },
      alerts: { silenceFactor: 3, defaultIntervalS: 3600, continuousFlowHours: 24 },
      consumption: { graceMs: 172_800_000, lateWindowMs: 604_800_000 },
      concentration: { gwpSet: 'IPCC-AR6', defaultIntervalS: 60, latenessH: 48, idleCloseS: 600 },
      footprint: { factorPollS: 60 },
      billing: {
        httpPort: 8091, exportDir: 'var/billing', s3Url: undefined, s3Region: 'us-east-1', s3AccessKeyId: undefined, s3SecretAccessKey: undefined,
        encoding: 'utf-8', settleMs: 300_000, rescanMs: 300_000, exportIntervalMs: 10_000,
      },
      metrics: { port: 0 },
      log: { level: 'info' },
      shutdown: { graceMs: 10000 },
      deviceKeys: { encryptionKey: undefined },
      notifications: { smtpUrl: undefined, smtpFrom: 'meterflux <notifications@localhost>', timeoutMs: 10000, maxAttempts: 6, retryBaseMs: 5000, webhookAllowHosts: [] },
    });
  });

  it('treats empty and blank variables as unset', () => {
    expect(loadConfig({ API_PORT: '', LOG_LEVEL: '  ', KAFKA_BROKERS: '' })).toEqual(loadConfig({}));
  });

  it('reads every documented variable', () => {
    const samples: Record<ConfigVariableName, [string, (c: ReturnType<typeof loadConfig>) => unknown, unknown]> = {
      KAFKA_BROKERS: ['k1:9092, [::1]:9093', (c) => c.kafka.brokers, ['k1:9092', '[::1]:9093']],
      KAFKA_CLIENT_ID: ['decode', (c) => c.kafka.clientId, 'decode'],
      KAFKA_PARTITIONS: ['24', (c) => c.kafka.partitions, 24],
      KAFKA_REPLICATION_FACTOR: ['3', (c) => c.kafka.replicationFactor, 3],
      SCHEMA_REGISTRY_URL: ['https://sr.example:8443/apis/ccompat/v7/', (c) => c.schemaRegistry.url, 'https://sr.example:8443/apis/ccompat/v7'],
      ELASTICSEARCH_URL: ['http://es:9200/', (c) => c.elasticsearch.url, 'http://es:9200'],
      INDEX_PREFIX: ['staging.', (c) => c.index.prefix, 'staging.'],
      INDEX_GENERATION: ['3', (c) => c.index.generation, 3],
      INDEX_BULK_MAX_DOCS: ['1000', (c) => c.index.bulkMaxDocs, 1000],
      INDEX_BULK_MAX_BYTES: ['1048576', (c) => c.index.bulkMaxBytes, 1048576],
      INDEX_BULK_MAX_IN_FLIGHT: ['2', (c) => c.index.bulkMaxInFlight, 2],
      INDEX_READING_CONSUMERS: ['6', (c) => c.index.readingConsumers, 6],
      DATABASE_URL: ['postgresql://u:p@db/meterflux', (c) => c.postgres.url, 'postgresql://u:p@db/meterflux'],
      REDIS_URL: ['rediss://cache:6380', (c) => c.redis.url, 'rediss://cache:6380'],
      MQTT_URL: ['mqtts://broker:8883', (c) => c.mqtt.url, 'mqtts://broker:8883'],
      MQTT_CLIENT_ID: ['ingest-2', (c) => c.mqtt.clientId, 'ingest-2'],
      MQTT_TOPIC_PREFIX: ['site-a/', (c) => c.mqtt.topicPrefix, 'site-a/'],
      API_PORT: ['4100', (c) => c.api.port, 4100],
      INGEST_HTTP_PORT: ['8188', (c) => c.ingest.httpPort, 8188],
      INGEST_TCP_PORT: ['10101', (c) => c.ingest.tcpPort, 10101],
      INGEST_HTTP_MAX_BODY_BYTES: ['65536', (c) => c.ingest.httpMaxBodyBytes, 65536],
      INGEST_TCP_MAX_CONNECTIONS: ['8', (c) => c.ingest.tcpMaxConnections, 8],
      INGEST_TCP_IDLE_TIMEOUT_MS: ['1500', (c) => c.ingest.tcpIdleTimeoutMs, 1500],
      INGEST_TCP_ALLOWLIST: ['127.0.0.1, ::1', (c) => c.ingest.tcpAllowlist, ['127.0.0.1', '::1']],
      CONNECTORS: ['http, mqtt', (c) => c.connectors.enabled, ['http', 'mqtt']],
      LNS_URL: ['wss://lns.example/api', (c) => c.lns.url, 'wss://lns.example/api'],
      LNS_DIALECT: ['loriot', (c) => c.lns.dialect, 'loriot'],
      LNS_LOGIN: ['meterflux', (c) => c.lns.login, 'meterflux'],
      LNS_PASSWORD: ['s3cret', (c) => c.lns.password, 's3cret'],
      ALERTS_SILENCE_FACTOR: ['5', (c) => c.alerts.silenceFactor, 5],
      ALERTS_DEFAULT_INTERVAL_S: ['900', (c) => c.alerts.defaultIntervalS, 900],
      ALERTS_CONTINUOUS_FLOW_HOURS: ['12', (c) => c.alerts.continuousFlowHours, 12],
      CONSUMPTION_GRACE_MS: ['3600000', (c) => c.consumption.graceMs, 3_600_000],
      CONSUMPTION_LATE_WINDOW_MS: ['86400000', (c) => c.consumption.lateWindowMs, 86_400_000],
      CONCENTRATION_GWP_SET: ['IPCC-AR4', (c) => c.concentration.gwpSet, 'IPCC-AR4'],
      CONCENTRATION_DEFAULT_INTERVAL_S: ['300', (c) => c.concentration.defaultIntervalS, 300],
      CONCENTRATION_LATENESS_H: ['24', (c) => c.concentration.latenessH, 24],
      CONCENTRATION_IDLE_CLOSE_S: ['120', (c) => c.concentration.idleCloseS, 120],
      FOOTPRINT_FACTOR_POLL_S: ['5', (c) => c.footprint.factorPollS, 5],
      BILLING_HTTP_PORT: ['8190', (c) => c.billing.httpPort, 8190],
      BILLING_EXPORT_DIR: ['/srv/billing', (c) => c.billing.exportDir, '/srv/billing'],
      BILLING_S3_URL: ['https://s3.example/bucket/billing/', (c) => c.billing.s3Url, 'https://s3.example/bucket/billing'],
      BILLING_S3_REGION: ['eu-central-1', (c) => c.billing.s3Region, 'eu-central-1'],
      BILLING_S3_ACCESS_KEY_ID: ['AKIDEXAMPLE', (c) => c.billing.s3AccessKeyId, 'AKIDEXAMPLE'],
      BILLING_S3_SECRET_ACCESS_KEY: ['s3cret', (c) => c.billing.s3SecretAccessKey, 's3cret'],
      BILLING_ENCODING: ['windows-1251', (c) => c.billing.encoding, 'windows-1251'],
      BILLING_SETTLE_MS: ['60000', (c) => c.billing.settleMs, 60_000],
      BILLING_RESCAN_MS: ['120000', (c) => c.billing.rescanMs, 120_000],
      BILLING_EXPORT_INTERVAL_MS: ['1000', (c) => c.billing.exportIntervalMs, 1000],
      METRICS_PORT: ['9464', (c) => c.metrics.port, 9464],
      LOG_LEVEL: ['debug', (c) => c.log.level, 'debug'],
      SHUTDOWN_GRACE_MS: ['2500', (c) => c.shutdown.graceMs, 2500],
      DEVICE_KEY_ENCRYPTION_KEY: [HEX_KEY, (c) => c.deviceKeys.encryptionKey?.toString('hex'), HEX_KEY],
      SMTP_URL: ['smtps://mailer:pw@mail.example:465', (c) => c.notifications.smtpUrl, 'smtps://mailer:pw@mail.example:465'],
      SMTP_FROM: ['Alerts <alerts@example.org>', (c) => c.notifications.smtpFrom, 'Alerts <alerts@example.org>'],
      NOTIFY_WEBHOOK_TIMEOUT_MS: ['2500', (c) => c.notifications.timeoutMs, 2500],
      NOTIFY_MAX_ATTEMPTS: ['3', (c) => c.notifications.maxAttempts, 3],
      NOTIFY_RETRY_BASE_MS: ['100', (c) => c.notifications.retryBaseMs, 100],
      NOTIFY_WEBHOOK_ALLOW_HOSTS: [' Hooks.Internal, 10.20.0.0/16,::1 ', (c) => c.notifications.webhookAllowHosts, ['hooks.internal', '10.20.0.0/16', '::1']],
    };
    expect(Object.keys(samples).sort()).toEqual(CONFIG_VARIABLES.map((variable) => variable.name).sort());
    for (const [name, [value, pick, expected]] of Object.entries(samples)) {
      expect(pick(loadConfig({ [name]: value })), name).toEqual(expected);
    }
  });

  it('reports every problem in one ConfigError', () => {
    expect(
      problemsOf({
        KAFKA_BROKERS: '127.0.0.1:9092,kafka2,k3:70000',
        KAFKA_PARTITIONS: '0',
        KAFKA_REPLICATION_FACTOR: '1.5',
        SCHEMA_REGISTRY_URL: 'ftp://registry',
        ELASTICSEARCH_URL: 'not a url',
        API_PORT: '65536',
        INGEST_HTTP_PORT: 'http',
        INGEST_TCP_PORT: '0',
        METRICS_PORT: '-1',
        LOG_LEVEL: 'verbose',
        SHUTDOWN_GRACE_MS: '10s',
      }),
    ).toEqual([
      'KAFKA_BROKERS entry 2 must be host:port with a port from 1 to 65535, got "kafka2"',
      'KAFKA_BROKERS entry 3 must be host:port with a port from 1 to 65535, got "k3:70000"',
      'KAFKA_PARTITIONS must be a positive integer, got "0"',
      'KAFKA_REPLICATION_FACTOR must be a positive integer, got "1.5"',
      'SCHEMA_REGISTRY_URL must use http: or https:, got "ftp://registry"',
      'ELASTICSEARCH_URL must be a URL, got "not a url"',
      'API_PORT must be an integer from 1 to 65535, got "65536"',
      'INGEST_HTTP_PORT must be an integer from 1 to 65535, got "http"',
      'INGEST_TCP_PORT must be an integer from 1 to 65535, got "0"',
      'METRICS_PORT must be an integer from 0 to 65535, got "-1"',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
      'SHUTDOWN_GRACE_MS must be a positive integer, got "10s"',
    ]);
  });

  it('refuses an index prefix Elasticsearch cannot start an index name with, and a generation below 1', () => {
    expect(problemsOf({ INDEX_PREFIX: 'Live.', INDEX_GENERATION: '0' })).toEqual([
      'INDEX_PREFIX must be lowercase letters, digits, ".", "_" or "-", not starting with "_" or "-", got "Live."',
      'INDEX_GENERATION must be a positive integer, got "0"',
    ]);
    expect(problemsOf({ INDEX_PREFIX: '_x' })).toHaveLength(1);
  });

  it('refuses unknown connectors, an lns connector without LNS_URL and allowlist entries that are not IPs', () => {
    const problems = problemsOf({ CONNECTORS: 'mqtt,ftp,lns', INGEST_TCP_ALLOWLIST: '10.0.0.1,gateway.local' });
    expect(problems).toContain('CONNECTORS entries must be mqtt, http, mbus-tcp, lns, got "ftp"');
    expect(problems).toContain('CONNECTORS includes lns, so LNS_URL must be set');
    expect(problems).toContain('INGEST_TCP_ALLOWLIST entries must be IP addresses, got "gateway.local"');
  });

  it('allows no internal webhook receiver unless told, and refuses allowlist entries that are no host, address or range', () => {
    expect(loadConfig({}).notifications.webhookAllowHosts).toEqual([]);
    expect(problemsOf({ NOTIFY_WEBHOOK_ALLOW_HOSTS: 'ok.internal,10.0.0.0/33,http://x,fd00::/129,10.0.0.0/8/1,fd00::/7' })).toEqual([
      'NOTIFY_WEBHOOK_ALLOW_HOSTS entries must be host names, IP addresses or CIDR ranges, got "10.0.0.0/33"',
      'NOTIFY_WEBHOOK_ALLOW_HOSTS entries must be host names, IP addresses or CIDR ranges, got "http://x"',
      'NOTIFY_WEBHOOK_ALLOW_HOSTS entries must be host names, IP addresses or CIDR ranges, got "fd00::/129"',
      'NOTIFY_WEBHOOK_ALLOW_HOSTS entries must be host names, IP addresses or CIDR ranges, got "10.0.0.0/8/1"',
    ]);
  });

  it('checks each URL for its own protocols and a host', () => {
    expect(
      problemsOf({
        DATABASE_URL: 'mysql://db/meterflux',
        REDIS_URL: 'http://cache:6379',
        MQTT_URL: 'mqtt://',
      }),
    ).toEqual([
      'DATABASE_URL must use postgres: or postgresql:, got "mysql://db/meterflux"',
      'REDIS_URL must use redis: or rediss:, got "http://cache:6379"',
      'MQTT_URL must name a host, got "mqtt://"',
    ]);
  });

  it('never echoes a URL password in a problem', () => {
    const [problem] = problemsOf({ DATABASE_URL: 'mysql://admin:hunter2@db/meterflux' });
    expect(problem).toBe('DATABASE_URL must use postgres: or postgresql:, got "mysql://admin:***@db/meterflux"');
  });

  it('accepts the device key encryption key as 64 hex digits or base64 of 32 bytes', () => {
    const key = Buffer.from(HEX_KEY, 'hex');
    expect(loadConfig({ DEVICE_KEY_ENCRYPTION_KEY: HEX_KEY }).deviceKeys.encryptionKey).toEqual(key);
    expect(loadConfig({ DEVICE_KEY_ENCRYPTION_KEY: key.toString('base64') }).deviceKeys.encryptionKey).toEqual(key);
  });

  it('rejects a device key encryption key of the wrong size without echoing it', () => {
    const secret = 'c2hvcnQtc2VjcmV0';
    expect(problemsOf({ DEVICE_KEY_ENCRYPTION_KEY: secret })).toEqual([
      'DEVICE_KEY_ENCRYPTION_KEY must be 32 bytes as 64 hex digits or base64, got 16 characters',
    ]);
  });

  it('returns a deeply frozen config', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config.kafka)).toBe(true);
    expect(Object.isFrozen(config.kafka.brokers)).toBe(true);
  });
});

describe('redactConfig', () => {
  it('hides URL passwords, password-like query parameters and secrets, and nothing else', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://meterflux:pg-secret@db:5432/meterflux?sslmode=require',
      REDIS_URL: 'redis://:redis-secret@cache:6379',
      ELASTICSEARCH_URL: 'https://elastic:es-secret@es:9200',
      MQTT_URL: 'mqtt://broker:1883?password=mqtt-secret',
      DEVICE_KEY_ENCRYPTION_KEY: HEX_KEY,
    });
    const redacted = redactConfig(config);
    const logged = JSON.stringify(redacted);
    for (const secret of ['pg-secret', 'redis-secret', 'es-secret', 'mqtt-secret', HEX_KEY]) {
      expect(logged).not.toContain(secret);
    }
    expect(redacted.postgres.url).toBe('postgres://meterflux:***@db:5432/meterflux?sslmode=require');
    expect(redacted.redis.url).toBe('redis://:***@cache:6379');
    expect(redacted.deviceKeys.encryptionKey).toBe('***');
    expect(redacted.kafka).toEqual(config.kafka);
    expect(config.postgres.url).toContain('pg-secret');
  });

  it('hides the SMTP password', () => {
    const redacted = redactConfig(loadConfig({ SMTP_URL: 'smtp://mailer:smtp-secret@mail.example:587' }));
    expect(redacted.notifications.smtpUrl).toBe('smtp://mailer:***@mail.example:587');
  });

  it('says when the device key encryption key is not configured', () => {
    expect(redactConfig(loadConfig({})).deviceKeys.encryptionKey).toBe('unset');
  });
});

describe('renderConfigTable', () => {
  it('renders one markdown row per documented variable, secrets marked', () => {
    const lines = renderConfigTable().split('\n');
    expect(lines.slice(0, 2)).toEqual(['| variable | default | meaning |', '| --- | --- | --- |']);
    expect(lines).toHaveLength(2 + CONFIG_VARIABLES.length);
    expect(lines).toContain('| `API_PORT` | `4000` | Port of the GraphQL API, HTTP and WebSocket, at `/graphql`. |');
    expect(lines.find((line) => line.startsWith('| `DEVICE_KEY_ENCRYPTION_KEY`'))).toMatch(/^\| `DEVICE_KEY_ENCRYPTION_KEY` \| \(unset\) \| .* Secret: never logged\. \|$/);
  });
});
