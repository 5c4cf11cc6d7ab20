/**
 * Process configuration from environment variables.
 *
 * {@link CONFIG_VARIABLES} is the only list of variables, their defaults and their meaning; the
 * README table is generated from it by {@link renderConfigTable}. {@link loadConfig} turns an
 * environment into a typed, frozen {@link Config} nested by component, so each connector, worker or
 * server is handed only its own slice.
 */
import { isIP } from 'node:net';
import { ConfigError } from './errors.js';
import { LOG_LEVELS, type LogLevel } from './log.js';

/** One documented environment variable. */
export interface ConfigVariable {
  readonly name: string;
  /** Value used when the variable is unset or empty; `undefined` when there is none. */
  readonly default: string | undefined;
  readonly description: string;
  /** Secrets are never logged or echoed in error messages. */
  readonly secret: boolean;
}

/** Every environment variable meterflux reads, in README order. */
export const CONFIG_VARIABLES = [
  {
    name: 'KAFKA_BROKERS',
    default: '127.0.0.1:9092',
    description: 'Kafka bootstrap brokers, a comma-separated list of `host:port`.',
    secret: false,
  },
  {
    name: 'KAFKA_CLIENT_ID',
    default: 'meterflux',
    description: 'Client id sent to Kafka; shows in broker logs and quotas.',
    secret: false,
  },
  {
    name: 'KAFKA_PARTITIONS',
    default: '12',
    description: 'Partitions of each topic the broker set-up creates; caps the parallelism of a worker group.',
    secret: false,
  },
  {
    name: 'KAFKA_REPLICATION_FACTOR',
    default: '1',
    description: 'Replication factor of each topic the broker set-up creates (1 on a single local broker).',
    secret: false,
  },
  {
    name: 'SCHEMA_REGISTRY_URL',
    default: 'http://127.0.0.1:8081/apis/ccompat/v7',
    description: 'Base URL of a Confluent-compatible schema registry API (`http:` or `https:`).',
    secret: false,
  },
  {
    name: 'ELASTICSEARCH_URL',
    default: 'http://127.0.0.1:9200',
    description: 'Elasticsearch base URL (`http:` or `https:`); credentials may be given in the URL.',
    secret: false,
  },
  {
    name: 'INDEX_PREFIX',
    default: undefined,
    description:
      'Prepended to every Elasticsearch index, alias and template name the index worker writes and the replay command builds ' +
      '(lowercase letters, digits, `.`, `_`, `-`); unset for none.',
    secret: false,
  },
  {
    name: 'INDEX_GENERATION',
    default: undefined,
    description:
      'Index generation (`v{N}` in index names) the index worker writes for every type. Unset: each type\'s live generation ' +
      'as recorded in PostgreSQL `index_generations` by `replay switch`, 1 for a type never switched.',
    secret: false,
  },
  {
    name: 'INDEX_BULK_MAX_DOCS',
    default: '5000',
    description: 'Most documents in one Elasticsearch bulk request of the index worker.',
    secret: false,
  },
  {
    name: 'INDEX_BULK_MAX_BYTES',
    default: '5242880',
    description: 'Most bytes of one Elasticsearch bulk request body of the index worker.',
    secret: false,
  },
  {
    name: 'INDEX_BULK_MAX_IN_FLIGHT',
    default: '4',
    description: 'Bulk requests the index worker has in flight at once; further batches wait (backpressure).',
    secret: false,
  },
  {
    name: 'INDEX_READING_CONSUMERS',
    default: '3',
    description: 'Consumers of the readings topic in one index process (one group); more than the partitions leaves some idle.',
    secret: false,
  },
  {
    name: 'DATABASE_URL',
    default: 'postgres://postgres@127.0.0.1:5432/meterflux',
    description: 'PostgreSQL connection URL (`postgres:` or `postgresql:`).',
    secret: false,
  },
  {
    name: 'REDIS_URL',
    default: 'redis://127.0.0.1:6379',
    description: 'Redis URL (`redis:` or `rediss:`).',
    secret: false,
  },
  {
    name: 'MQTT_URL',
    default: 'mqtt://127.0.0.1:1883',
    description: 'MQTT broker URL (`mqtt:`, `mqtts:`, `ws:` or `wss:`).',
    secret: false,
  },
  {
    name: 'MQTT_CLIENT_ID',
    default: 'meterflux-mqtt',
    description: 'Client id of the MQTT connector; fixed, so its persistent session (and the QoS 1 messages queued in it) survives restarts.',
    secret: false,
  },
  {
    name: 'MQTT_TOPIC_PREFIX',
    default: undefined,
    description: 'Topic root the MQTT connector subscribes under, ending in `/` (e.g. `site-a/`); unset for none.',
    secret: false,
  },
  {
    name: 'API_PORT',
    default: '4000',
    description: 'Port of the GraphQL API, HTTP and WebSocket, at `/graphql`.',
    secret: false,
  },
  {
    name: 'INGEST_HTTP_PORT',
    default: '8088',
    description: 'Port of the HTTP ingest connector.',
    secret: false,
  },
  {
    name: 'INGEST_TCP_PORT',
    default: '10001',
    description: 'Port of the M-Bus over TCP ingest connector.',
    secret: false,
  },
  {
    name: 'INGEST_HTTP_MAX_BODY_BYTES',
    default: '1048576',
    description: 'Largest HTTP ingest request body in bytes; larger bodies are answered 413.',
    secret: false,
  },
  {
    name: 'INGEST_TCP_MAX_CONNECTIONS',
    default: '256',
    description: 'Most simultaneous M-Bus gateway connections; further connections are refused.',
    secret: false,
  },
  {
    name: 'INGEST_TCP_IDLE_TIMEOUT_MS',
    default: '300000',
    description: 'An M-Bus gateway connection that sends nothing for this many milliseconds is closed.',
    secret: false,
  },
  {
    name: 'INGEST_TCP_ALLOWLIST',
    default: undefined,
    description: 'Comma-separated IP addresses allowed to connect to the M-Bus TCP ingest; unset allows any.',
    secret: false,
  },
  {
    name: 'CONNECTORS',
    default: 'mqtt,http,mbus-tcp',
    description: 'Connectors the ingest process starts, comma-separated: `mqtt`, `http`, `mbus-tcp`, `lns`.',
    secret: false,
  },
  {
    name: 'LNS_URL',
    default: undefined,
    description: 'WebSocket URL of a LoRaWAN network server application API (Vega/LORIOT style); needed by the `lns` connector.',
    secret: false,
  },
  {
    name: 'LNS_DIALECT',
    default: 'vega',
    description: 'Protocol of the LoRaWAN network server: `vega` (IOT Vega Server) or `loriot` (LORIOT application WebSocket).',
    secret: false,
  },
  {
    name: 'LNS_LOGIN',
    default: undefined,
    description: 'Login the `lns` connector authenticates with (Vega `auth_req`).',
    secret: false,
  },
  {
    name: 'LNS_PASSWORD',
    default: undefined,
    description: 'Password or token the `lns` connector authenticates with.',
    secret: true,
  },
  {
    name: 'ALERTS_SILENCE_FACTOR',
    default: '3',
    description:
      'The alerts worker raises DEVICE_SILENT when a device sent no reading for this many times its expected interval ' +
      '(`devices.expected_interval_s`, else `ALERTS_DEFAULT_INTERVAL_S`).',
    secret: false,
  },
  {
    name: 'ALERTS_DEFAULT_INTERVAL_S',
    default: '3600',
    description: 'Expected reporting interval, in seconds, of devices whose registry row has no `expected_interval_s` (for DEVICE_SILENT).',
    secret: false,
  },
  {
    name: 'ALERTS_CONTINUOUS_FLOW_HOURS',
    default: '24',
    description: 'Hours of proven flow without a whole-hour pause after which the alerts worker raises CONTINUOUS_FLOW on a water or gas meter.',
    secret: false,
  },
  {
    name: 'CONSUMPTION_GRACE_MS',
    default: '172800000',
    description: 'Milliseconds after the end of a consumption period (wall clock) before a closed period turns FINAL; later changes are RESTATED.',
    secret: false,
  },
  {
    name: 'CONSUMPTION_LATE_WINDOW_MS',
    default: '604800000',
    description: "Milliseconds of a register's history the consumption worker keeps behind its newest reading; older readings are too late (dead-lettered as READING_TOO_LATE).",
    secret: false,
  },
  {
    name: 'CONCENTRATION_GWP_SET',
    default: 'IPCC-AR6',
    description:
      'GWP100 set of the concentration worker\'s CO₂-equivalents, named on every record: `IPCC-AR6` (CH₄ 27.9, N₂O 273), ' +
      '`IPCC-AR6-fossil` (CH₄ 29.8), `IPCC-AR5` (28, 265), `IPCC-AR5-fossil` (30), `IPCC-AR4` (25, 298).',
    secret: false,
  },
  {
    name: 'CONCENTRATION_DEFAULT_INTERVAL_S',
    default: '60',
    description: 'Reporting interval in seconds assumed for a station whose registry row has no `expected_interval_s`, for the expected sample count.',
    secret: false,
  },
  {
    name: 'CONCENTRATION_LATENESS_H',
    default: '48',
    description: 'Hours a station sample may arrive behind the station\'s newest sample and still revise its hour and day; older samples are refused.',
    secret: false,
  },
  {
    name: 'CONCENTRATION_IDLE_CLOSE_S',
    default: '600',
    description: 'Seconds of silence (wall clock) after which a station\'s ended hour and day are emitted without waiting for its next sample.',
    secret: false,
  },
  {
    name: 'FOOTPRINT_FACTOR_POLL_S',
    default: '60',
    description:
      'Seconds between the footprint worker\'s checks of each organisation: months with new consumption are written then, ' +
      'and a change in PostgreSQL `emission_factors` recomputes the months it touches.',
    secret: false,
  },
  {
    name: 'BILLING_HTTP_PORT',
    default: '8091',
    description: 'Port of the billing connector\'s pull API (`/v1/batches`), where billing systems list, download and acknowledge export batches.',
    secret: false,
  },
  {
    name: 'BILLING_EXPORT_DIR',
    default: 'var/billing',
    description: 'Directory the billing connector writes export files to (created if missing); unused when BILLING_S3_URL is set.',
    secret: false,
  },
  {
    name: 'BILLING_S3_URL',
    default: undefined,
    description: 'S3-compatible bucket for export files instead of BILLING_EXPORT_DIR, path style with an optional key prefix, e.g. `https://s3.eu-central-1.amazonaws.com/bucket/billing/`.',
    secret: false,
  },
  {
    name: 'BILLING_S3_REGION',
    default: 'us-east-1',
    description: 'Region the billing connector signs S3 requests for (AWS Signature Version 4).',
    secret: false,
  },
  {
    name: 'BILLING_S3_ACCESS_KEY_ID',
    default: undefined,
    description: 'Access key id for BILLING_S3_URL; the billing connector refuses to start with BILLING_S3_URL but without it.',
    secret: false,
  },
  {
    name: 'BILLING_S3_SECRET_ACCESS_KEY',
    default: undefined,
    description: 'Secret access key for BILLING_S3_URL; the billing connector refuses to start with BILLING_S3_URL but without it.',
    secret: true,
  },
  {
    name: 'BILLING_ENCODING',
    default: 'utf-8',
    description: 'Character encoding of export files: `utf-8` or `windows-1251`.',
    secret: false,
  },
  {
    name: 'BILLING_SETTLE_MS',
    default: '300000',
    description: 'Milliseconds after the last change of a month\'s consumption before it is exported although some accounts are not final yet (they follow in a supplement batch).',
    secret: false,
  },
  {
    name: 'BILLING_RESCAN_MS',
    default: '300000',
    description: 'Milliseconds after which a month that waits for something (a tariff, a mapping, a final record) is evaluated again without a new record.',
    secret: false,
  },
  {
    name: 'BILLING_EXPORT_INTERVAL_MS',
    default: '10000',
    description: 'Milliseconds between the billing connector\'s export runs (records turning final also start one).',
    secret: false,
  },
  {
    name: 'METRICS_PORT',
    default: '0',
    description:
      "Port of this process's `/metrics` and `/healthz`, set per process. `0` lets the OS pick a free port " +
      '(logged at start-up) so several processes can share a machine; give each process a fixed port where Prometheus scrapes.',
    secret: false,
  },
  {
    name: 'LOG_LEVEL',
    default: 'info',
    description: `Log level: ${LOG_LEVELS.join(', ')}. Payloads are logged only at debug and trace.`,
    secret: false,
  },
  {
    name: 'SHUTDOWN_GRACE_MS',
    default: '10000',
    description: 'Milliseconds a process has to stop cleanly after SIGTERM or SIGINT before it exits with code 1.',
    secret: false,
  },
  {
    name: 'DEVICE_KEY_ENCRYPTION_KEY',
    default: undefined,
    description:
      'Master key that encrypts device AES keys at rest: 32 bytes as 64 hex digits or base64. ' +
      'Optional at start-up; needed by the processes that store or decrypt device keys.',
    secret: true,
  },
  {
    name: 'SMTP_URL',
    default: undefined,
    description:
      'SMTP server notification e-mails go through, `smtp://user:password@host:port` (STARTTLS when offered) or `smtps://…`; ' +
      'unset: e-mail deliveries fail with that reason.',
    secret: true,
  },
  {
    name: 'SMTP_FROM',
    default: 'meterflux <notifications@localhost>',
    description: 'From address of notification e-mails.',
    secret: false,
  },
  {
    name: 'NOTIFY_WEBHOOK_TIMEOUT_MS',
    default: '10000',
    description: 'Milliseconds a notification webhook (or an SMTP step) has to answer before the attempt counts as failed.',
    secret: false,
  },
  {
    name: 'NOTIFY_MAX_ATTEMPTS',
    default: '6',
    description: 'Attempts of a notification delivery, the first included, before it is recorded as failed.',
    secret: false,
  },
  {
    name: 'NOTIFY_RETRY_BASE_MS',
    default: '5000',
    description: 'Wait after the first failed notification attempt; doubles with each further attempt (with jitter, at most one hour).',
    secret: false,
  },
  {
    name: 'NOTIFY_WEBHOOK_ALLOW_HOSTS',
    default: undefined,
    description:
      'Internal receivers notification webhooks may reach: a comma-separated list of host names (any address they resolve to), ' +
      'IP addresses and CIDR ranges, e.g. `hooks.internal,10.20.0.0/16`. Unset: webhooks reach public addresses only, never ' +
      'loopback, private, link-local, carrier-grade NAT, multicast or unspecified ones.',
    secret: false,
  },
] as const satisfies readonly ConfigVariable[];

/** Name of a variable in {@link CONFIG_VARIABLES}. */
export type ConfigVariableName = (typeof CONFIG_VARIABLES)[number]['name'];

/** The GWP100 sets `CONCENTRATION_GWP_SET` accepts (streams/concentration/gases.ts holds their values). */
export const GWP_SET_NAMES = ['IPCC-AR6', 'IPCC-AR6-fossil', 'IPCC-AR5', 'IPCC-AR5-fossil', 'IPCC-AR4'] as const;
export type GwpSetName = (typeof GWP_SET_NAMES)[number];

/** Kafka client and topic set-up. */
export interface KafkaConfig {
  /** Bootstrap brokers as `host:port`, at least one. */
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly partitions: number;
  readonly replicationFactor: number;
}

/** A dependency reached through one URL. */
export interface UrlConfig {
  /** As configured, without trailing slashes on HTTP base URLs; may contain credentials. */
  readonly url: string;
}

/** The connectors an ingest process can run. */
export const CONNECTOR_NAMES = ['mqtt', 'http', 'mbus-tcp', 'lns'] as const;
export type ConnectorName = (typeof CONNECTOR_NAMES)[number];

/** LoRaWAN network server protocols the `lns` connector speaks. */
export const LNS_DIALECTS = ['vega', 'loriot'] as const;
export type LnsDialectName = (typeof LNS_DIALECTS)[number];

/** Character encodings of billing export files (`BILLING_ENCODING`). */
export const BILLING_FILE_ENCODINGS = ['utf-8', 'windows-1251'] as const;
export type BillingFileEncoding = (typeof BILLING_FILE_ENCODINGS)[number];

/** Ingest limits and ports. */
export interface IngestConfig {
  readonly httpPort: number;
  readonly tcpPort: number;
  readonly httpMaxBodyBytes: number;
  readonly tcpMaxConnections: number;
  readonly tcpIdleTimeoutMs: number;
  /** IP addresses allowed to connect over TCP; empty allows any. */
  readonly tcpAllowlist: readonly string[];
}

/** Elasticsearch index names and the index worker's bulk limits. */
export interface IndexConfig {
  readonly prefix: string;
  readonly generation: number | undefined;
  readonly bulkMaxDocs: number;
  readonly bulkMaxBytes: number;
  readonly bulkMaxInFlight: number;
  readonly readingConsumers: number;
}

/** The effective configuration of a process, nested by component. */
export interface Config {
  readonly kafka: KafkaConfig;
  readonly schemaRegistry: UrlConfig;
  readonly elasticsearch: UrlConfig;
  /** The index worker's names and bulk limits; `generation` undefined means each type's recorded live generation. */
  readonly index: IndexConfig;
  readonly postgres: UrlConfig;
  readonly redis: UrlConfig;
  readonly mqtt: UrlConfig & { readonly clientId: string; readonly topicPrefix: string };
  readonly api: { readonly port: number };
  readonly ingest: IngestConfig;
  /** Which connectors the ingest process runs. */
  readonly connectors: { readonly enabled: readonly ConnectorName[] };
  /** The LoRaWAN network server link; `url` is undefined when not configured. */
  readonly lns: {
    readonly url: string | undefined;
    readonly dialect: LnsDialectName;
    readonly login: string | undefined;
    readonly password: string | undefined;
  };
  /** The alerts worker's rules (streams/alerts/README.md). */
  readonly alerts: { readonly silenceFactor: number; readonly defaultIntervalS: number; readonly continuousFlowHours: number };
  /** The consumption worker's rules (streams/consumption/README.md). */
  readonly consumption: { readonly graceMs: number; readonly lateWindowMs: number };
  /** The concentration worker's rules (streams/concentration/README.md). */
  readonly concentration: {
    readonly gwpSet: GwpSetName;
    readonly defaultIntervalS: number;
    readonly latenessH: number;
    readonly idleCloseS: number;
  };
  /** The footprint worker's emission-factor polling (streams/footprint/README.md). */
  readonly footprint: { readonly factorPollS: number };
  /** The billing export connector (connectors/billing/README.md); files go to `s3Url` when it is set, else to `exportDir`. */
  readonly billing: {
    readonly httpPort: number;
    readonly exportDir: string;
    readonly s3Url: string | undefined;
    readonly s3Region: string;
    readonly s3AccessKeyId: string | undefined;
    readonly s3SecretAccessKey: string | undefined;
    readonly encoding: BillingFileEncoding;
    readonly settleMs: number;
    readonly rescanMs: number;
    readonly exportIntervalMs: number;
  };
  /** `port` 0 means an OS-chosen free port. */
  readonly metrics: { readonly port: number };
  readonly log: { readonly level: LogLevel };
  readonly shutdown: { readonly graceMs: number };
  /** `encryptionKey` is the 32-byte master key, or `undefined` when not configured. */
  readonly deviceKeys: { readonly encryptionKey: Buffer | undefined };
  /** Notification delivery (graphql/notifications); `smtpUrl` is undefined when e-mail is not configured. */
  readonly notifications: {
    readonly smtpUrl: string | undefined;
    readonly smtpFrom: string;
    readonly timeoutMs: number;
    readonly maxAttempts: number;
    readonly retryBaseMs: number;
    /** Host names (lowercase), IP addresses and CIDR ranges of internal webhook receivers; empty: none. */
    readonly webhookAllowHosts: readonly string[];
  };
}

/** {@link Config} as it may be logged: secrets and URL passwords replaced by `***`. */
export type RedactedConfig = Omit<Config, 'deviceKeys' | 'lns'> & {
  readonly lns: Omit<Config['lns'], 'password'> & { readonly password: typeof REDACTED | undefined };
  readonly deviceKeys: { readonly encryptionKey: typeof REDACTED | 'unset' };
};

const REDACTED = '***';

/**
 * Reads and validates the configuration. Called once by each process entry point, before anything
 * connects; pure, so tests pass a plain object instead of `process.env`.
 *
 * Unset and empty (or blank) variables take their default from {@link CONFIG_VARIABLES}; unknown
 * variables are ignored.
 *
 * @throws {ConfigError} listing every problem found, one per line; secret values are never echoed.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const problems: string[] = [];
  const read = (name: ConfigVariableName): string | undefined => {
    const value = env[name]?.trim();
    if (value !== undefined && value !== '') return value;
    return CONFIG_VARIABLES.find((variable) => variable.name === name)?.default;
  };
  const fail = <T>(fallback: T, problem: string): T => {
    problems.push(problem);
    return fallback;
  };

  const integer = (name: ConfigVariableName, min: number, max: number, expected: string): number => {
    const raw = read(name) ?? '';
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    return value >= min && value <= max ? value : fail(0, `${name} must be ${expected}, got "${raw}"`);
  };
  const port = (name: ConfigVariableName, min = 1): number =>
    integer(name, min, 65535, `an integer from ${min} to 65535`);
  const positive = (name: ConfigVariableName): number =>
    integer(name, 1, Number.MAX_SAFE_INTEGER, 'a positive integer');

  const url = (name: ConfigVariableName, protocols: readonly string[]): UrlConfig => {
    const raw = read(name) ?? '';
    const shown = `"${maskUserinfo(raw)}"`;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      return fail({ url: raw }, `${name} must be a URL, got ${shown}`);
    }
    if (!protocols.includes(parsed.protocol)) {
      return fail({ url: raw }, `${name} must use ${protocols.join(' or ')}, got ${shown}`);
    }
    if (parsed.hostname === '') return fail({ url: raw }, `${name} must name a host, got ${shown}`);
    return { url: parsed.protocol.startsWith('http') ? raw.replace(/\/+$/, '') : raw };
  };

  const brokers = (read('KAFKA_BROKERS') ?? '').split(',').map((entry) => entry.trim());
  for (const [index, broker] of brokers.entries()) {
    if (!isHostPort(broker)) {
      problems.push(`KAFKA_BROKERS entry ${index + 1} must be host:port with a port from 1 to 65535, got "${broker}"`);
    }
  }

  const connectors = list(read('CONNECTORS')).filter((name): name is ConnectorName =>
    (CONNECTOR_NAMES as readonly string[]).includes(name)
      ? true
      : fail(false, `CONNECTORS entries must be ${CONNECTOR_NAMES.join(', ')}, got "${name}"`),
  );
  const lnsUrl = read('LNS_URL') === undefined ? undefined : url('LNS_URL', ['ws:', 'wss:']).url;
  if (connectors.includes('lns') && lnsUrl === undefined) problems.push('CONNECTORS includes lns, so LNS_URL must be set');

  const dialect = read('LNS_DIALECT') ?? '';
  const lnsDialect: LnsDialectName = (LNS_DIALECTS as readonly string[]).includes(dialect)
    ? (dialect as LnsDialectName)
    : fail('vega', `LNS_DIALECT must be one of ${LNS_DIALECTS.join(', ')}, got "${dialect}"`);

  const indexPrefix = read('INDEX_PREFIX') ?? '';
  // Elasticsearch's rules for index names, which the prefix starts.
  if (indexPrefix !== '' && (!/^[a-z0-9.][a-z0-9._-]*$/.test(indexPrefix) || indexPrefix === '.' || indexPrefix === '..')) {
    problems.push(`INDEX_PREFIX must be lowercase letters, digits, ".", "_" or "-", not starting with "_" or "-", got "${indexPrefix}"`);
  }
  const level = read('LOG_LEVEL') ?? '';
  const encryptionKey = read('DEVICE_KEY_ENCRYPTION_KEY');

  const config: Config = {
    kafka: {
      brokers,
      clientId: read('KAFKA_CLIENT_ID') ?? '',
      partitions: positive('KAFKA_PARTITIONS'),
      replicationFactor: positive('KAFKA_REPLICATION_FACTOR'),
    },
    schemaRegistry: url('SCHEMA_REGISTRY_URL', ['http:', 'https:']),
    elasticsearch: url('ELASTICSEARCH_URL', ['http:', 'https:']),
    index: {
      prefix: indexPrefix,
      generation: read('INDEX_GENERATION') === undefined ? undefined : positive('INDEX_GENERATION'),
      bulkMaxDocs: positive('INDEX_BULK_MAX_DOCS'),
      bulkMaxBytes: positive('INDEX_BULK_MAX_BYTES'),
      bulkMaxInFlight: positive('INDEX_BULK_MAX_IN_FLIGHT'),
      readingConsumers: positive('INDEX_READING_CONSUMERS'),
    },
    postgres: url('DATABASE_URL', ['postgres:', 'postgresql:']),
    redis: url('REDIS_URL', ['redis:', 'rediss:']),
    mqtt: {
      ...url('MQTT_URL', ['mqtt:', 'mqtts:', 'ws:', 'wss:']),
      clientId: read('MQTT_CLIENT_ID') ?? '',
      topicPrefix: read('MQTT_TOPIC_PREFIX') ?? '',
    },
    api: { port: port('API_PORT') },
    ingest: {
      httpPort: port('INGEST_HTTP_PORT'),
      tcpPort: port('INGEST_TCP_PORT'),
      httpMaxBodyBytes: positive('INGEST_HTTP_MAX_BODY_BYTES'),
      tcpMaxConnections: positive('INGEST_TCP_MAX_CONNECTIONS'),
      tcpIdleTimeoutMs: positive('INGEST_TCP_IDLE_TIMEOUT_MS'),
      tcpAllowlist: list(read('INGEST_TCP_ALLOWLIST')).filter((address) =>
        isIP(address) !== 0 ? true : fail(false, `INGEST_TCP_ALLOWLIST entries must be IP addresses, got "${address}"`),
      ),
    },
    connectors: { enabled: connectors },
    lns: { url: lnsUrl, dialect: lnsDialect, login: read('LNS_LOGIN'), password: read('LNS_PASSWORD') },
    alerts: {
      silenceFactor: positive('ALERTS_SILENCE_FACTOR'),
      defaultIntervalS: positive('ALERTS_DEFAULT_INTERVAL_S'),
      continuousFlowHours: positive('ALERTS_CONTINUOUS_FLOW_HOURS'),
    },
    consumption: { graceMs: positive('CONSUMPTION_GRACE_MS'), lateWindowMs: positive('CONSUMPTION_LATE_WINDOW_MS') },
    concentration: {
      gwpSet: (GWP_SET_NAMES as readonly string[]).includes(read('CONCENTRATION_GWP_SET') ?? '')
        ? (read('CONCENTRATION_GWP_SET') as GwpSetName)
        : fail('IPCC-AR6', `CONCENTRATION_GWP_SET must be one of ${GWP_SET_NAMES.join(', ')}, got "${read('CONCENTRATION_GWP_SET') ?? ''}"`),
      defaultIntervalS: positive('CONCENTRATION_DEFAULT_INTERVAL_S'),
      latenessH: positive('CONCENTRATION_LATENESS_H'),
      idleCloseS: positive('CONCENTRATION_IDLE_CLOSE_S'),
    },
    footprint: { factorPollS: positive('FOOTPRINT_FACTOR_POLL_S') },
    billing: {
      httpPort: port('BILLING_HTTP_PORT'),
      exportDir: read('BILLING_EXPORT_DIR') ?? '',
      s3Url: read('BILLING_S3_URL') === undefined ? undefined : url('BILLING_S3_URL', ['http:', 'https:']).url,
      s3Region: read('BILLING_S3_REGION') ?? '',
      s3AccessKeyId: read('BILLING_S3_ACCESS_KEY_ID'),
      s3SecretAccessKey: read('BILLING_S3_SECRET_ACCESS_KEY'),
      encoding: (BILLING_FILE_ENCODINGS as readonly string[]).includes(read('BILLING_ENCODING') ?? '')
        ? (read('BILLING_ENCODING') as BillingFileEncoding)
        : fail('utf-8', `BILLING_ENCODING must be one of ${BILLING_FILE_ENCODINGS.join(', ')}, got "${read('BILLING_ENCODING') ?? ''}"`),
      settleMs: positive('BILLING_SETTLE_MS'),
      rescanMs: positive('BILLING_RESCAN_MS'),
      exportIntervalMs: positive('BILLING_EXPORT_INTERVAL_MS'),
    },
    metrics: { port: port('METRICS_PORT', 0) },
    log: {
      level: isLogLevel(level)
        ? level
        : fail('info', `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`),
    },
    shutdown: { graceMs: positive('SHUTDOWN_GRACE_MS') },
    deviceKeys: {
      encryptionKey:
        encryptionKey === undefined
          ? undefined
          : (decodeKey(encryptionKey) ??
            fail(
              undefined,
              `DEVICE_KEY_ENCRYPTION_KEY must be 32 bytes as 64 hex digits or base64, got ${encryptionKey.length} characters`,
            )),
    },
    notifications: {
      smtpUrl: read('SMTP_URL') === undefined ? undefined : url('SMTP_URL', ['smtp:', 'smtps:']).url,
      smtpFrom: read('SMTP_FROM') ?? '',
      timeoutMs: positive('NOTIFY_WEBHOOK_TIMEOUT_MS'),
      maxAttempts: positive('NOTIFY_MAX_ATTEMPTS'),
      retryBaseMs: positive('NOTIFY_RETRY_BASE_MS'),
      webhookAllowHosts: list(read('NOTIFY_WEBHOOK_ALLOW_HOSTS')).map((entry) => entry.toLowerCase()).filter((entry) =>
        isHostOrNetwork(entry)
          ? true
          : fail(false, `NOTIFY_WEBHOOK_ALLOW_HOSTS entries must be host names, IP addresses or CIDR ranges, got "${entry}"`),
      ),
    },
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

/**
 * The effective configuration with secrets and URL passwords replaced by `***`. Each process logs
 * it once at start-up, so what it actually runs with is on record.
 */
export function redactConfig(config: Config): RedactedConfig {
  return {
    ...config,
    schemaRegistry: { url: redactUrl(config.schemaRegistry.url) },
    elasticsearch: { url: redactUrl(config.elasticsearch.url) },
    postgres: { url: redactUrl(config.postgres.url) },
    redis: { url: redactUrl(config.redis.url) },
    mqtt: { ...config.mqtt, url: redactUrl(config.mqtt.url) },
    lns: { ...config.lns, password: config.lns.password === undefined ? undefined : REDACTED },
    deviceKeys: { encryptionKey: config.deviceKeys.encryptionKey === undefined ? 'unset' : REDACTED },
    billing: {
      ...config.billing,
      s3Url: config.billing.s3Url === undefined ? undefined : redactUrl(config.billing.s3Url),
      s3SecretAccessKey: config.billing.s3SecretAccessKey === undefined ? undefined : REDACTED,
    },
    notifications: {
      ...config.notifications,
      smtpUrl: config.notifications.smtpUrl === undefined ? undefined : redactUrl(config.notifications.smtpUrl),
    },
  };
}

/** The markdown table of {@link CONFIG_VARIABLES} for the README. */
export function renderConfigTable(): string {
  const cell = (text: string): string => text.replaceAll('|', '\\|');
  const rows = CONFIG_VARIABLES.map((variable: ConfigVariable) => {
    const fallback = variable.default === undefined ? '(unset)' : `\`${variable.default}\``;
    const description = variable.secret ? `${variable.description} Secret: never logged.` : variable.description;
    return `| \`${variable.name}\` | ${cell(fallback)} | ${cell(description)} |`;
  });
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

/** Password and password-like query parameters replaced by `***`; anything unparsable is masked textually. */
function redactUrl(raw: string): string {
  const url = new URL(raw);
  if (url.password !== '') url.password = REDACTED;
  for (const key of [...url.searchParams.keys()]) {
    if (/password|secret|token/i.test(key)) url.searchParams.set(key, REDACTED);
  }
  return url.toString();
}

/** For error messages about URLs that may not parse: hide whatever sits between `user:` and `@`. */
function maskUserinfo(raw: string): string {
  return raw.replace(/\/\/([^/@:]*):[^/@]*@/, `//$1:${REDACTED}@`);
}

function isHostPort(entry: string): boolean {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d+)$/.exec(entry);
  const port = Number(match?.[2]);
  return match !== null && port >= 1 && port <= 65535;
}

/** A host name, an IP address, or a CIDR range (`address/prefix`). */
function isHostOrNetwork(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  if (prefix === undefined) return isIP(address) !== 0 || /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/.test(address);
  const bits = isIP(address) === 4 ? 32 : isIP(address) === 6 ? 128 : 0;
  return rest.length === 0 && /^\d{1,3}$/.test(prefix) && bits > 0 && Number(prefix) <= bits;
}

function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

function decodeKey(text: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) return Buffer.from(text, 'base64');
  return undefined;
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    // Object.freeze throws on a typed array with elements, so the key Buffer stays as it is.
    if (typeof child === 'object' && child !== null && !Buffer.isBuffer(child)) deepFreeze(child);
  }
  return Object.freeze(value);
}

/** A comma-separated variable as trimmed, non-empty entries. */
function list(raw: string | undefined): string[] {
  return (raw ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
}
