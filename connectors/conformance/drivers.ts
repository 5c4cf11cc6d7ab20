/**
 * One driver per connector for the conformance suite: how to start the connector against its real
 * upstream, how a real client sends valid and invalid input (and what that client is told), and
 * how its upstream fails. Clients behave as real ones do: a gateway re-sends unanswered frames, an
 * HTTP client retries 503s with the same Idempotency-Key, MQTT publishes at QoS 1 with a
 * persistent session, the network server keeps history for the connector to resume from.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import mqtt from 'mqtt';
import pg from 'pg';
import { Registry } from 'prom-client';
import type { Source } from '../kit/source.js';
import { createMqttSource } from '../mqtt/source.js';
import { createHttpSource } from '../http/source.js';
import { createMbusTcpSource, type MbusTcpSource } from '../mbus-tcp/source.js';
import { createLnsSource } from '../lns/source.js';
import { createKafkaResumeStore } from '../lns/resume-store.js';
import { startLnsEmulator, type LnsEmulator } from '../lns/emulator.js';
import { createTcpGateway } from '../simulator/senders/tcp-gateway.js';
import { mbusFrame, meterDeviceId } from '../simulator/messages.js';
import type { SimMeter } from '../simulator/fleet.js';
import { run, waitFor, type TestKernel } from '../../test/support/stack.js';

/** What the sender of an invalid message learnt, in its protocol's terms; null where it cannot learn anything. */
export type SenderAnswer = string | null;

export interface ConnectorDriver {
  readonly name: string;
  /** Starts the upstream side this connector talks to. */
  setUp(kernel: TestKernel): Promise<void>;
  /** A new, unstarted source, as the ingest process would build it. */
  createSource(): Source;
  /**
   * Sends `count` valid messages from `clients` parallel clients, each device id starting with
   * `tag`; resolves once every client saw its messages accepted (or, where the protocol gives
   * the client no end-to-end answer, once they were handed over). Returns the device ids sent.
   */
  sendValid(tag: string, count: number, clients: number): Promise<string[]>;
  /** Sends one invalid message; resolves with what the sender was told. */
  sendInvalid(tag: string): Promise<SenderAnswer>;
  /** What a sender of invalid input must be told; null where the protocol has no way. */
  readonly expectedAnswer: SenderAnswer;
  /** Restarts or drops this connector's own upstream (broker, link); absent when there is none. */
  readonly restartUpstream?: () => Promise<void>;
  tearDown(): Promise<void>;
}

const metrics = () => new Registry();

function meter(id: number): SimMeter {
  return {
    kind: 'mbus-tcp', id, manufacturer: 'KAM', version: 0x1b, medium: 0x07, register: BigInt(id), meanPerHour: 10,
    intervalMs: 900_000, nextAtMs: 0, accessNumber: id & 0xff,
  };
}

/** Stable per-tag numbers so device ids are unique across tags and runs. */
function idBase(tag: string): number {
  return 10_000_000 + (createHash('sha256').update(tag).digest().readUInt32BE(0) % 80_000_000);
}

export function mqttDriver(): ConnectorDriver {
  let kernel: TestKernel;
  const topicPrefix = `conf-${randomBytes(3).toString('hex')}/`;
  const clientId = `meterflux-conf-${randomBytes(3).toString('hex')}`;
  const stationJson = (i: number) =>
    JSON.stringify({ time: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(), co2Ppm: 420 + (i % 10), temperatureC: 5, pressurePa: 100_000 });
  return {
    name: 'mqtt',
    expectedAnswer: 'MALFORMED_JSON',
    async setUp(k) {
      kernel = k;
    },
    createSource: () => createMqttSource({ url: kernel.config.mqtt.url, topicPrefix, clientId, metrics: metrics(), logger: kernel.logger }),
    async sendValid(tag, count, clients) {
      const ids: string[] = [];
      await Promise.all(
        Array.from({ length: clients }, async (_, c) => {
          const client = await mqtt.connectAsync(kernel.config.mqtt.url, { clientId: `${clientId}-pub-${tag}-${c}`, clean: false, reconnectPeriod: 200 });
          const mine = Array.from({ length: count }, (_, i) => i).filter((i) => i % clients === c);
          await Promise.all(mine.map((i) => {
            const stationId = `${tag}-${i}`;
            ids.push(`station:${stationId}`);
            return client.publishAsync(`${topicPrefix}stations/${stationId}/telemetry`, stationJson(i), { qos: 1 });
          }));
          await client.endAsync();
        }),
      );
      return ids;
    },
    async sendInvalid(tag) {
      // MQTT 5 publishers learn about refusals only through a response topic (connectors/mqtt/README.md).
      const client = await mqtt.connectAsync(kernel.config.mqtt.url, { protocolVersion: 5, clientId: `${clientId}-bad-${tag}` });
      const responseTopic = `${topicPrefix}replies/${tag}`;
      await client.subscribeAsync(responseTopic, { qos: 0 });
      const answer = new Promise<string>((resolve) =>
        client.on('message', (_topic, payload) => resolve((JSON.parse(payload.toString()) as { reasonCode: string }).reasonCode)),
      );
      await client.publishAsync(`${topicPrefix}stations/${tag}/telemetry`, '{"co2Ppm": 4', { qos: 1, properties: { responseTopic } });
      const reason = await waitFor('the MQTT reply', () =>
        Promise.race([answer, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 500))]));
      await client.endAsync();
      return reason;
    },
    restartUpstream: async () => void (await run('infra/stack.sh', ['restart', 'mosquitto'])),
    async tearDown() {},
  };
}

export function httpDriver(): ConnectorDriver {
  let kernel: TestKernel;
  let source: (Source & { readonly port: number }) | undefined;
  const organisation = `org-conf-${randomBytes(3).toString('hex')}`;
  const secret = `mf_conf_${randomBytes(16).toString('hex')}`;
  const url = (path: string) => `http://127.0.0.1:${source?.port ?? 0}${path}`;

  async function post(body: string, key: string): Promise<Response> {
    return fetch(url('/v1/uplinks'), {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': key },
      body,
    });
  }

  return {
    name: 'http',
    expectedAnswer: '400 INVALID_FIELD',
    async setUp(k) {
      kernel = k;
      const db = new pg.Client({ connectionString: k.config.postgres.url });
      await db.connect();
      await db.query('INSERT INTO organisations (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING', [organisation]);
      await db.query(`INSERT INTO api_tokens (id, organisation_id, name, secret_sha256, scopes) VALUES ($1, $2, 'conformance', $3, ARRAY['ingest'])`,
        [`tok-${organisation}`, organisation, createHash('sha256').update(secret).digest()]);
      await db.end();
    },
    createSource() {
      source = createHttpSource({
        port: 0, maxBodyBytes: 1 << 20, databaseUrl: kernel.config.postgres.url, redisUrl: kernel.config.redis.url,
        redisKeyPrefix: `conf:${organisation}:`, metrics: metrics(), logger: kernel.logger,
      });
      return source;
    },
    async sendValid(tag, count, clients) {
      const ids: string[] = [];
      await Promise.all(Array.from({ length: clients }, async (_, c) => {
        for (let i = c; i < count; i += clients) {
          const stationId = `${tag}-${i}`;
          ids.push(`station:${stationId}`);
          const body = JSON.stringify({ stationId, time: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(), values: { co2: 420 + i } });
          // A client retries what was not accepted, with the same key, as the README asks.
          await waitFor(`HTTP uplink ${stationId} to be accepted`, async () => {
            try {
              return (await post(body, `${tag}-${i}`)).status === 202;
            } catch {
              return false;
            }
          }, { timeoutMs: 120_000, intervalMs: 200 });
        }
      }));
      return ids;
    },
    async sendInvalid(tag) {
      const response = await post(JSON.stringify({ stationId: tag, values: { co2: 'lots' } }), `${tag}-bad`);
      const body = (await response.json()) as { error: { code: string } };
      return `${response.status} ${body.error.code}`;
    },
    async tearDown() {
      const db = new pg.Client({ connectionString: kernel.config.postgres.url });
      await db.connect();
      await db.query('DELETE FROM api_tokens WHERE organisation_id = $1', [organisation]);
      await db.query('DELETE FROM organisations WHERE id = $1', [organisation]);
      await db.end();
    },
  };
}

export function mbusTcpDriver(): ConnectorDriver {
  let kernel: TestKernel;
  let source: MbusTcpSource | undefined;
  return {
    name: 'mbus-tcp',
    expectedAnswer: 'NAK',
    async setUp(k) {
      kernel = k;
    },
    createSource() {
      source = createMbusTcpSource({ port: 0, host: '127.0.0.1', registry: metrics() });
      return source;
    },
    async sendValid(tag, count, clients) {
      const base = idBase(tag);
      const ledger = {};
      const port = source?.address()?.port ?? 0;
      const gateways = Array.from({ length: clients }, (_, c) => createTcpGateway({ host: '127.0.0.1', port, ledger, logger: kernel.logger, name: `conf-${c}` }));
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const m = meter(base + i);
        ids.push(meterDeviceId(m));
        gateways[i % clients]!.send(mbusFrame(m, m.register, Date.UTC(2026, 0, 1)));
      }
      await waitFor('every frame to be answered', () => gateways.every((g) => g.pending() === 0), { timeoutMs: 120_000 });
      await Promise.all(gateways.map((g) => g.close()));
      return ids;
    },
    async sendInvalid(tag) {
      const frame = mbusFrame(meter(idBase(tag)), 1n, Date.UTC(2026, 0, 1));
      frame[frame.length - 2] = (frame.at(-2)! ^ 0xff) & 0xff; // checksum
      const socket = new Socket();
      await new Promise<void>((resolve) => socket.connect(source?.address()?.port ?? 0, '127.0.0.1', resolve));
      const answer = new Promise<number>((resolve) => socket.once('data', (data: Buffer) => resolve(data[0]!)));
      socket.write(frame);
      const byte = await answer;
      socket.destroy();
      return byte === 0x15 ? 'NAK' : `0x${byte.toString(16)}`;
    },
    async tearDown() {},
  };
}

export function lnsDriver(): ConnectorDriver {
  let kernel: TestKernel;
  let emulator: LnsEmulator | undefined;
  return {
    name: 'lns',
    expectedAnswer: null,
    async setUp(k) {
      kernel = k;
      emulator = await startLnsEmulator({ users: { conf: 'secret' } });
    },
    createSource: () =>
      createLnsSource({
        url: emulator?.url ?? '', login: 'conf', password: 'secret', connector: 'lns', logger: kernel.logger, metrics: metrics(),
        resumeStore: createKafkaResumeStore({ kafka: kernel.kafka, codec: kernel.codec, topic: kernel.catalogue.rawUplinks, connector: 'lns', logger: kernel.logger }),
        reconnectInitialDelayMs: 100,
      }),
    async sendValid(tag, count) {
      const base = idBase(tag);
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const devEui = `70b3d5e7${String(base + i).padStart(8, '0')}`;
        ids.push(`lorawan:${devEui}`);
        emulator?.emit({ devEui, fcnt: 1, port: 1, payload: Uint8Array.from([0x78, 0x0c, 0x13, i & 0xff, 0, 0, 0]) });
      }
      return ids;
    },
    async sendInvalid() {
      emulator?.sendRaw('{"cmd":"rx","devEui":');
      return null;
    },
    restartUpstream: async () => emulator?.dropConnections(),
    async tearDown() {
      await emulator?.close();
    },
  };
}
