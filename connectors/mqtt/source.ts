/**
 * The MQTT ingest connector: subscribes with QoS 1 in a persistent session and acknowledges each
 * message (PUBACK) only after Kafka acknowledged the record made from it, or the dead letter of a
 * message it refused. A message whose write failed is left unacknowledged and the connection is
 * dropped, so the broker redelivers it when the connector reconnects (with backoff): a crash or a
 * Kafka outage between receipt and write leads to redelivery, never to loss.
 *
 * Messages are written concurrently (the ingest batches them) and acknowledged in arrival order,
 * as MQTT requires. mqtt.js acknowledges a message when its handler returns and reads the next one
 * only then (`customHandleAcks` too, and that only under MQTT 5), which would allow one Kafka round
 * trip per connection at a time; so the handler returns at once without letting mqtt.js acknowledge,
 * and the connector writes the PUBACK itself later through mqtt.js's packet writer.
 */
import { connect, MqttClient, type IClientOptions, type IPublishPacket } from 'mqtt';
import { Counter, type Registry } from 'prom-client';
import { BadInputError, ConfigError, ServiceUnavailableError, errorMessage } from '../../core/errors.js';
import type { RejectedInput } from '../../core/kafka/dead-letter.js';
import type { Logger } from '../../core/log.js';
import type { ComponentHealth } from '../../core/metrics.js';
import type { Ingest, UplinkDraft } from '../kit/ingest.js';
import type { Source } from '../kit/source.js';
import { createAckQueue, type AckQueue } from './ack-queue.js';
import { reconnectDelayMs } from './backoff.js';
import { uplinkDraftFor, type MqttMessage } from './payloads.js';
import { PUBACK, pubackReasonFor, rejectionNotice } from './replies.js';
import { parseTopic, subscriptionFilters, topicMatches, topicPrefixProblems, type TopicRoute } from './topics.js';

/** Options of {@link createMqttSource}. */
export interface MqttSourceOptions {
  /** Broker URL (`MQTT_URL`): `mqtt:`, `mqtts:`, `ws:` or `wss:`; credentials may be given in it. */
  readonly url: string;
  /**
   * Client id, and so the identity of the persistent session: the broker keeps messages for it
   * while the connector is away. Must be stable across restarts and unique per connector replica
   * (two connections with one id take the session from each other).
   * @default 'meterflux-mqtt'
   */
  readonly clientId?: string;
  /**
   * Prepended to every subscribed topic, e.g. `site-a/` or a test's unique prefix; empty or ending
   * with `/`.
   * @default ''
   */
  readonly topicPrefix?: string;
  /**
   * MQTT protocol version: 5 (PUBACK reason codes, Response Topic replies, session expiry) or 4
   * (3.1.1).
   * @default 5
   */
  readonly protocolVersion?: 4 | 5;
  /**
   * MQTT 5 session expiry: how long the broker keeps the session and its queued messages after
   * the connector disconnected. Under 3.1.1 the broker's own setting applies
   * (`persistent_client_expiration` in Mosquitto).
   * @default 604800 (7 days)
   */
  readonly sessionExpirySeconds?: number;
  /** @default 30 */
  readonly keepaliveSeconds?: number;
  /**
   * How long a connection attempt may wait for the broker's CONNACK.
   * @default 10000
   */
  readonly connectTimeoutMs?: number;
  /**
   * First reconnect delay; it doubles with every consecutive failure (connection or Kafka write).
   * @default 250
   */
  readonly reconnectInitialDelayMs?: number;
  /** @default 30000 */
  readonly reconnectMaxDelayMs?: number;
  /**
   * Largest payload accepted; a larger one is dead-lettered (`PAYLOAD_TOO_LARGE`) with only its
   * first `maxPayloadBytes` bytes, so neither record can exceed Kafka's message size limit.
   * @default 262144
   */
  readonly maxPayloadBytes?: number;
  /**
   * How long {@link Source.stop} waits for the broker to take the DISCONNECT before closing the
   * socket.
   * @default 5000
   */
  readonly closeTimeoutMs?: number;
  /** The process registry (the Ingest's); the connector adds `meterflux_mqtt_received_total`. */
  readonly metrics: Registry;
  readonly logger: Logger;
}

type Settings = Required<Omit<MqttSourceOptions, 'metrics' | 'logger'>>;

/** What happens to a message once it was handled: acknowledged with a reason code, or left for redelivery. */
type Verdict = { readonly acknowledge: true; readonly reasonCode: number } | { readonly acknowledge: false };

/** One connection to the broker; acknowledgements go out only on the connection their message came on. */
interface Connection {
  readonly acks: AckQueue;
}

/**
 * Given to mqtt.js's handler callback to keep it from acknowledging: the connector acknowledges
 * later, or never (redelivery). mqtt.js goes on to the next message either way.
 */
const ACKNOWLEDGED_BY_CONNECTOR = new Error('acknowledged by the MQTT source, not by mqtt.js');

type PubackPacket = { readonly cmd: 'puback'; readonly messageId: number; readonly reasonCode?: number };

/**
 * mqtt.js's internal packet writer, the one way to acknowledge a message after its handler returned.
 * Looked up once, so an mqtt.js without it fails when the source is created rather than mid-stream.
 */
function internalPacketWriter(): (client: MqttClient, packet: PubackPacket) => void {
  const sendPacket: unknown = Reflect.get(MqttClient.prototype, '_sendPacket');
  if (typeof sendPacket !== 'function') {
    throw new Error('this mqtt.js has no MqttClient#_sendPacket, so the MQTT source cannot acknowledge messages after their Kafka write');
  }
  return (client, packet) => {
    Reflect.apply(sendPacket, client, [packet]);
  };
}

/**
 * The MQTT source (name `mqtt`). Subscribes to the topics in README.md under `topicPrefix`.
 * @throws {ConfigError} listing every invalid option.
 */
export function createMqttSource(options: MqttSourceOptions): Source {
  const settings = settle(options);
  const logger = options.logger.child({ component: 'mqtt-source', clientId: settings.clientId });
  const received = receivedCounter(options.metrics);
  const filters = subscriptionFilters(settings.topicPrefix);
  const broker = brokerAddress(settings.url);
  const writePacket = internalPacketWriter();

  let phase: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  let ingest: Ingest | undefined;
  let client: MqttClient | undefined;
  let live: Connection | undefined;
  let openedConnections = 0;
  let subscribed = false;
  let connectFailures = 0;
  let writeFailures = 0;
  let lastProblem: string | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let startup: { resolve(): void; reject(error: Error): void } | undefined;
  const inFlight = new Set<Promise<void>>();

  /** mqtt.js's per-message hook. Returns at once so mqtt.js reads on while this message is written. */
  function onMessage(packet: IPublishPacket, next: (error?: Error) => void): void {
    const connection = live;
    // While stopping, new messages stay with the broker for the next session.
    if (phase !== 'running' || connection === undefined) {
      next(ACKNOWLEDGED_BY_CONNECTOR);
      return;
    }
    const ticket = packet.qos > 0 && packet.messageId !== undefined ? connection.acks.enqueue(packet.messageId) : undefined;
    next(ticket === undefined ? undefined : ACKNOWLEDGED_BY_CONNECTOR);
    const work = verdictFor(packet, connection)
      .catch((err: unknown) => writeFailed(err, packet.topic, connection))
      .then((verdict) => {
        if (verdict.acknowledge) ticket?.acknowledge(verdict.reasonCode);
      })
      .catch((err: unknown) => logger.error({ err, topic: packet.topic }, 'acknowledging a message failed; the broker redelivers it'));
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  }

  async function verdictFor(packet: IPublishPacket, connection: Connection): Promise<Verdict> {
    const message: MqttMessage = {
      topic: packet.topic,
      payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
      qos: packet.qos,
      retain: packet.retain,
    };
    let route: TopicRoute | undefined;
    let draft: UplinkDraft;
    try {
      route = parseTopic(message.topic, settings.topicPrefix);
      received.inc({ kind: route.kind });
      draft = uplinkDraftFor(route, message, settings.maxPayloadBytes);
    } catch (err) {
      if (route === undefined) received.inc({ kind: 'unknown' });
      return refuse(packet, message, route, asBadInput(err), connection);
    }
    try {
      await ingest!.accept([draft]);
      writeFailures = 0;
      return { acknowledge: true, reasonCode: PUBACK.SUCCESS };
    } catch (err) {
      if (err instanceof BadInputError) return refuse(packet, message, route, err, connection);
      return writeFailed(err, message.topic, connection);
    }
  }

  async function refuse(packet: IPublishPacket, message: MqttMessage, route: TopicRoute | undefined, error: BadInputError,
    connection: Connection): Promise<Verdict> {
    try {
      await ingest!.reject(rejectedInput(message, route, settings.maxPayloadBytes), error);
    } catch (err) {
      return writeFailed(err, message.topic, connection);
    }
    writeFailures = 0;
    answerSender(packet, error);
    return { acknowledge: true, reasonCode: pubackReasonFor(error) };
  }

  function writeFailed(err: unknown, topic: string, connection: Connection): Verdict {
    // The messages written with this one failed with it; one failure per connection is what counts.
    if (connection !== live) {
      logger.debug({ err, topic }, 'writing to Kafka failed on a connection already dropped');
      return { acknowledge: false };
    }
    writeFailures += 1;
    lastProblem = `Kafka write failed: ${errorMessage(err)}`;
    logger.error({ err, topic }, 'writing to Kafka failed; the message stays unacknowledged and the broker redelivers it after the reconnect');
    // The broker resends unacknowledged messages only to a new connection of the session.
    dropConnection();
    return { acknowledge: false };
  }

  /** MQTT 5: a publisher that set a Response Topic hears why its message was refused (QoS 0, best effort). */
  function answerSender(packet: IPublishPacket, error: BadInputError): void {
    const responseTopic = packet.properties?.responseTopic;
    // Never answer into a topic the connector itself reads, or a refusal would refuse itself.
    if (responseTopic === undefined || filters.some((filter) => topicMatches(filter, responseTopic))) return;
    const body = JSON.stringify(rejectionNotice(error, packet.topic));
    const correlationData = packet.properties?.correlationData;
    const properties = { contentType: 'application/json', ...(correlationData === undefined ? {} : { correlationData }) };
    const failed = (err?: Error): void => {
      if (err) logger.warn({ err, responseTopic }, 'could not answer the sender of a refused message');
    };
    try {
      client?.publish(responseTopic, body, { qos: 0, properties }, failed);
    } catch (err) {
      failed(err instanceof Error ? err : new Error(errorMessage(err)));
    }
  }

  function dropConnection(): void {
    if (client === undefined || live === undefined) return;
    live = undefined;
    client.end(true);
  }

  function scheduleReconnect(): void {
    if (phase !== 'running' || reconnectTimer !== undefined || client === undefined) return;
    const failures = connectFailures + writeFailures;
    const delayMs = reconnectDelayMs(failures, { initialMs: settings.reconnectInitialDelayMs, maxMs: settings.reconnectMaxDelayMs });
    logger.info({ delayMs, failures, broker }, 'reconnecting to the MQTT broker');
    const current = client;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      if (phase === 'running') current.reconnect();
    }, delayMs);
  }

  function subscribe(current: MqttClient, connection: Connection): void {
    // Retain handling 1: retained messages only for a subscription that is new, not again on every reconnect.
    current.subscribe(filters, { qos: 1, rh: 1 }, (err, granted) => {
      if (connection !== live) return;
      const refused = err ? errorMessage(err) : granted?.filter((grant) => grant.qos !== 1).map((grant) => `${grant.topic} (granted ${grant.qos})`).join(', ');
      if (refused) {
        lastProblem = `subscription refused: ${refused}`;
        logger.error({ filters, refused }, 'the MQTT broker refused the QoS 1 subscriptions');
        if (startup !== undefined) {
          startup.reject(new ConfigError([`The MQTT broker at ${broker} refused the QoS 1 subscriptions of client "${settings.clientId}": ${refused}`]));
        } else {
          dropConnection();
        }
        return;
      }
      subscribed = true;
      lastProblem = undefined;
      logger.info({ filters }, 'subscribed');
      startup?.resolve();
    });
  }

  function attach(current: MqttClient): void {
    const v5 = settings.protocolVersion === 5;
    current.handleMessage = onMessage;
    current.on('connect', (connack) => {
      openedConnections += 1;
      const connection: Connection = {
        acks: createAckQueue((messageId, reasonCode) => {
          if (connection === live) writePacket(current, { cmd: 'puback', messageId, ...(v5 ? { reasonCode } : {}) });
        }),
      };
      live = connection;
      connectFailures = 0;
      logger.info({ broker, sessionPresent: connack.sessionPresent }, 'connected to the MQTT broker');
      if (!connack.sessionPresent && openedConnections > 1) {
        logger.warn({ broker }, 'the broker did not keep the session: messages published while the connector was away are lost');
      }
      subscribe(current, connection);
    });
    current.on('close', () => {
      live = undefined;
      subscribed = false;
      if (phase !== 'running') return;
      connectFailures += 1;
      if (startup !== undefined) {
        startup.reject(new ServiceUnavailableError({ service: 'MQTT broker', address: broker, detail: lastProblem ?? 'connection closed' }));
        return;
      }
      scheduleReconnect();
    });
    current.on('disconnect', (packet) => {
      // 0x8E: another connection with this client id took the session over.
      lastProblem = `the broker disconnected the client (reason code 0x${(packet.reasonCode ?? 0).toString(16)})`;
      logger.warn({ reasonCode: packet.reasonCode, broker }, 'the MQTT broker disconnected the connector');
    });
    current.on('error', (err) => {
      lastProblem = errorMessage(err);
      logger.warn({ err, broker }, 'MQTT connection problem');
    });
  }

  function clientOptions(): IClientOptions {
    return {
      clientId: settings.clientId,
      protocolVersion: settings.protocolVersion,
      clean: false,
      ...(settings.protocolVersion === 5 ? { properties: { sessionExpiryInterval: settings.sessionExpirySeconds } } : {}),
      keepalive: settings.keepaliveSeconds,
      connectTimeout: settings.connectTimeoutMs,
      // Reconnects are this module's, with backoff; subscriptions are renewed on every CONNACK.
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
    };
  }

  async function closeClient(current: MqttClient): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        logger.warn({ broker, closeTimeoutMs: settings.closeTimeoutMs }, 'the broker did not take the DISCONNECT in time; closing the socket');
        current.stream.destroy();
        resolve();
      }, settings.closeTimeoutMs);
    });
    await Promise.race([current.endAsync(false), deadline]);
    clearTimeout(timer);
  }

  return {
    name: 'mqtt',

    async start(target) {
      if (phase !== 'new') throw new Error(`MQTT source start() called while ${phase}; create a new source instead`);
      phase = 'running';
      ingest = target;
      const ready = new Promise<void>((resolve, reject) => {
        startup = { resolve, reject };
      });
      const current = connect(settings.url, clientOptions());
      client = current;
      attach(current);
      try {
        await ready;
      } catch (err) {
        await this.stop();
        throw err;
      } finally {
        startup = undefined;
      }
      logger.info({ broker, filters }, 'MQTT source started');
    },

    async stop() {
      if (phase === 'new' || phase === 'stopped') {
        phase = 'stopped';
        return;
      }
      if (phase === 'stopping') return;
      phase = 'stopping';
      startup?.reject(new Error('MQTT source stopped before it was ready'));
      clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      // Their acknowledgements are written before the DISCONNECT below.
      await Promise.allSettled([...inFlight]);
      const current = client;
      client = undefined;
      if (current !== undefined) await closeClient(current);
      live = undefined;
      phase = 'stopped';
      logger.info({ broker }, 'MQTT source stopped');
    },

    health(): ComponentHealth {
      if (phase !== 'running') return { healthy: false, detail: phase === 'new' ? 'not started' : phase };
      if (writeFailures > 0) return { healthy: false, detail: `${lastProblem ?? 'Kafka write failed'}; messages wait at the broker` };
      if (live === undefined) return { healthy: false, detail: `reconnecting to ${broker}${lastProblem ? `: ${lastProblem}` : ''}` };
      if (!subscribed) return { healthy: false, detail: `connected to ${broker}, subscribing` };
      return { healthy: true, detail: `subscribed at ${broker}; ${live.acks.waiting} messages awaiting acknowledgement` };
    },
  };
}

function settle(options: MqttSourceOptions): Settings {
  const settings: Settings = {
    url: options.url,
    clientId: options.clientId ?? 'meterflux-mqtt',
    topicPrefix: options.topicPrefix ?? '',
    protocolVersion: options.protocolVersion ?? 5,
    sessionExpirySeconds: options.sessionExpirySeconds ?? 604_800,
    keepaliveSeconds: options.keepaliveSeconds ?? 30,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    reconnectInitialDelayMs: options.reconnectInitialDelayMs ?? 250,
    reconnectMaxDelayMs: options.reconnectMaxDelayMs ?? 30_000,
    maxPayloadBytes: options.maxPayloadBytes ?? 262_144,
    closeTimeoutMs: options.closeTimeoutMs ?? 5_000,
  };
  const problems = [...topicPrefixProblems(settings.topicPrefix)];
  if (!/^(mqtts?|wss?):\/\//.test(settings.url)) problems.push(`url must be an mqtt:, mqtts:, ws: or wss: URL, got "${brokerAddress(settings.url)}"`);
  if (settings.clientId === '') problems.push('clientId must not be empty: the persistent session is bound to it');
  if (settings.protocolVersion !== 4 && settings.protocolVersion !== 5) problems.push(`protocolVersion must be 4 or 5, got ${String(settings.protocolVersion)}`);
  const positive = ['sessionExpirySeconds', 'keepaliveSeconds', 'connectTimeoutMs', 'reconnectInitialDelayMs', 'reconnectMaxDelayMs', 'maxPayloadBytes', 'closeTimeoutMs'] as const;
  for (const name of positive) {
    if (!Number.isInteger(settings[name]) || settings[name] <= 0) problems.push(`${name} must be a positive integer, got ${settings[name]}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return settings;
}

function receivedCounter(registry: Registry): Counter<'kind'> {
  const name = 'meterflux_mqtt_received_total';
  return (registry.getSingleMetric(name) as Counter<'kind'> | undefined) ??
    new Counter({ name, help: 'MQTT messages received, by topic kind (unknown: a topic outside the scheme).', labelNames: ['kind'], registers: [registry] });
}

function rejectedInput(message: MqttMessage, route: TopicRoute | undefined, maxPayloadBytes: number): RejectedInput {
  const truncated = message.payload.length > maxPayloadBytes;
  return {
    key: null,
    bytes: truncated ? message.payload.subarray(0, maxPayloadBytes) : message.payload,
    deviceId: route !== undefined && 'deviceId' in route ? route.deviceId : null,
    transport: 'MQTT',
    details: {
      sourceAddress: message.topic,
      qos: String(message.qos),
      ...(truncated ? { payloadBytes: String(message.payload.length), truncatedToBytes: String(maxPayloadBytes) } : {}),
    },
  };
}

/** Anything the pure parsers throw is the message's fault; a parser bug still keeps the bytes in the DLQ for a re-drive. */
function asBadInput(err: unknown): BadInputError {
  if (err instanceof BadInputError) return err;
  return new BadInputError(`unexpected failure reading the message: ${errorMessage(err)}`, { reason: 'UNEXPECTED', cause: err });
}

/** The broker as logs and health show it: scheme, host and port, never credentials. */
function brokerAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return '(unparsable URL)';
  }
}
