/**
 * What every resolver receives: who is asking ({@link AuthContext}) and the process's shared
 * services ({@link ApiServices}). Built once per HTTP request and once per graphql-ws operation by
 * the server; resolver modules (this folder's and `graphql/notifications/`) read it and must apply
 * {@link AuthContext.organisationId} and {@link AuthContext.accessGroupIds} to every read and write.
 */
import type { Client as ElasticsearchClient } from '@elastic/elasticsearch';
import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import type { RegistryCodec } from '../../core/avro/registry-codec.js';
import type { Config } from '../../core/config.js';
import type { KafkaClient } from '../../core/kafka/client.js';
import type { RecordProducer } from '../../core/kafka/record-producer.js';
import type { Logger } from '../../core/log.js';
import type { TopicCatalogue } from '../../core/topics.js';
import type { IndexNames } from '../elasticsearch/indices.js';
import type { LiveHub } from '../live/hub.js';

/** Token scopes, as stored in `api_tokens.scopes`. */
export const SCOPES = ['read', 'write', 'admin', 'ingest'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * The caller, from its bearer token. Every query, mutation and subscription filter is confined to
 * `organisationId` and, when `accessGroupIds` is not null, to devices in those access groups.
 */
export interface AuthContext {
  /** `api_tokens.id` of the token used. */
  readonly tokenId: string;
  readonly organisationId: string;
  readonly scopes: ReadonlySet<Scope>;
  /**
   * Access groups the token is limited to (`api_token_access_groups`); `null` when the token sees
   * every device of its organisation. Devices outside every group are visible only with `null`.
   */
  readonly accessGroupIds: readonly string[] | null;
}

/** Long-lived clients shared by every request; created by the API process, closed at its stop. */
export interface ApiServices {
  readonly config: Config;
  readonly logger: Logger;
  readonly postgres: Pool;
  readonly elasticsearch: ElasticsearchClient;
  /** Elasticsearch alias names (prefixed in tests). */
  readonly indices: IndexNames;
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  readonly catalogue: TopicCatalogue;
  /** Writes catalogue records (alert acknowledgements, re-drives); started with the server. */
  readonly producer: RecordProducer;
  /** The process's Prometheus registry; modules may add their own metrics. */
  readonly metrics: Registry;
  /** Kafka tail shared by every subscription of this instance. */
  readonly live: LiveHub;
}

/** The GraphQL context value. */
export interface ApiContext {
  readonly auth: AuthContext;
  readonly services: ApiServices;
  /** Aborted when the operation's time budget runs out or the client goes away. */
  readonly signal: AbortSignal;
}
