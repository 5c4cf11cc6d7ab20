/**
 * The M-Bus over TCP source: a node:net server that serial-to-IP gateways connect to, one
 * {@link GatewaySession} per connection, with the connection limit, idle timeout and allowlist.
 */
import { BlockList, createServer, isIPv4, isIPv6, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { IngestConfig } from '../../core/config.js';
import type { ComponentHealth } from '../../core/metrics.js';
import type { Ingest } from '../kit/ingest.js';
import type { Source } from '../kit/source.js';
import { mbusTcpMetrics, type RefuseReason } from './metrics.js';
import { GatewaySession, type GatewayLink } from './session.js';
import type { GatewayOrigin } from './uplinks.js';

/** Options of {@link createMbusTcpSource}. */
export interface MbusTcpSourceOptions {
  /** Port to listen on (`INGEST_TCP_PORT`); 0 lets the OS choose, read it back with `address()`. */
  readonly port: number;
  /**
   * Interface to bind.
   * @default all interfaces, as gateways connect from the field
   */
  readonly host?: string;
  /**
   * Most simultaneous gateway connections; further ones are closed at once and counted.
   * @default 256
   */
  readonly maxConnections?: number;
  /**
   * A connection with no traffic for this long is closed (after its pending answers).
   * @default 300000
   */
  readonly idleTimeoutMs?: number;
  /**
   * IP addresses allowed to connect; others are closed at once and counted. Empty allows any.
   * @default []
   */
  readonly allowlist?: readonly string[];
  /**
   * Consecutive bad inputs (garbage runs, refused frames) after which a connection is closed; a
   * good frame resets the count.
   * @default 16
   */
  readonly maxErrorsPerConnection?: number;
  /**
   * Frames of one connection waiting for Kafka above which the connector stops reading from it
   * until half of them are answered.
   * @default 64
   */
  readonly maxPendingFrames?: number;
  /**
   * How long `stop()` lets frames already read reach Kafka and be answered before it drops the
   * remaining connections.
   * @default 5000
   */
  readonly stopGraceMs?: number;
  /** Registry for the connector's metrics: the one the Ingest registers its metrics in. */
  readonly registry: Registry;
}

/** The source, plus where it listens. */
export interface MbusTcpSource extends Source {
  /** The bound address while listening (the OS-chosen port when 0 was asked for), else `undefined`. */
  address(): AddressInfo | undefined;
}

/** The connector's options from the ingest slice of the configuration (`INGEST_TCP_*`). */
export function mbusTcpSourceOptions(ingest: IngestConfig, registry: Registry): MbusTcpSourceOptions {
  return {
    port: ingest.tcpPort,
    maxConnections: ingest.tcpMaxConnections,
    idleTimeoutMs: ingest.tcpIdleTimeoutMs,
    allowlist: ingest.tcpAllowlist,
    registry,
  };
}

type State = 'new' | 'starting' | 'listening' | 'stopping' | 'stopped';

/**
 * Creates the `mbus-tcp` source. The connector process starts it with the Ingest once the Kafka
 * producer is up; `start` rejects with the listen error (e.g. `EADDRINUSE`). A source runs once:
 * after `stop`, create a new one.
 */
export function createMbusTcpSource(options: MbusTcpSourceOptions): MbusTcpSource {
  const maxConnections = options.maxConnections ?? 256;
  const idleTimeoutMs = options.idleTimeoutMs ?? 300_000;
  const maxErrors = options.maxErrorsPerConnection ?? 16;
  const maxPendingFrames = options.maxPendingFrames ?? 64;
  const stopGraceMs = options.stopGraceMs ?? 5_000;
  const allowlist = blockListOf(options.allowlist ?? []);
  const metrics = mbusTcpMetrics(options.registry);

  let state: State = 'new';
  let server: Server | undefined;
  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  const sessions = new Set<GatewaySession>();

  async function listen(ingest: Ingest): Promise<void> {
    const logger = ingest.logger.child({ component: 'mbus-tcp' });
    const created = createServer({ allowHalfOpen: true, noDelay: true }, (socket) =>
      connect(socket, ingest, logger),
    );
    await new Promise<void>((resolve, reject) => {
      created.once('error', reject);
      created.listen(options.port, options.host, () => {
        created.off('error', reject);
        resolve();
      });
    });
    created.on('error', (err) => logger.error({ err }, 'M-Bus TCP server error'));
    server = created;
    state = 'listening';
    logger.info({ port: (created.address() as AddressInfo).port, host: options.host }, 'listening for M-Bus gateways');
  }

  function connect(socket: Socket, ingest: Ingest, logger: Logger): void {
    // An error event without a listener would crash the process; the close that follows is handled.
    socket.on('error', (err) => logger.debug({ err }, 'gateway connection error'));
    const origin = originOf(socket);
    if (origin === undefined) {
      socket.destroy();
      return;
    }
    const refusal = refusalOf(origin.gateway);
    if (refusal !== undefined) {
      metrics.refused.inc({ reason: refusal });
      logger.warn({ sourceAddress: origin.sourceAddress, reason: refusal }, 'refused a gateway connection');
      socket.destroy();
      return;
    }
    const session = new GatewaySession({
      link: linkOf(socket),
      origin,
      ingest,
      metrics,
      logger: logger.child({ sourceAddress: origin.sourceAddress }),
      maxErrors,
      maxPendingFrames,
    });
    sessions.add(session);
    metrics.connections.inc();
    socket.setTimeout(idleTimeoutMs, () => void session.close('idle'));
    socket.on('data', (chunk: Buffer) => session.receive(chunk));
    socket.on('end', () => session.finish());
    socket.once('close', () => {
      session.lost();
      sessions.delete(session);
      metrics.connections.dec();
      metrics.closed.inc({ reason: session.closeReason ?? 'peer' });
    });
  }

  function refusalOf(ip: string): RefuseReason | undefined {
    if (state !== 'listening') return 'stopping';
    if (allowlist !== undefined && !allowlist.check(ip, isIPv6(ip) ? 'ipv6' : 'ipv4')) return 'allowlist';
    if (sessions.size >= maxConnections) return 'limit';
    return undefined;
  }

  async function shutdown(): Promise<void> {
    if (starting !== undefined) await starting.catch(() => undefined);
    const current = server;
    state = 'stopping';
    if (current !== undefined) {
      const closed = new Promise<void>((resolve) => current.close(() => resolve()));
      for (const session of sessions) void session.close('stop');
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), stopGraceMs)));
      if (await Promise.race([closed.then(() => false), expired])) {
        for (const session of sessions) session.destroy('stop');
      }
      clearTimeout(timer);
      await closed;
    }
    state = 'stopped';
  }

  return {
    name: 'mbus-tcp',
    async start(ingest) {
      if (state !== 'new') throw new Error(`the mbus-tcp source cannot start: it is ${state}`);
      state = 'starting';
      starting = listen(ingest).catch((err: unknown) => {
        state = 'new';
        throw err;
      });
      await starting;
    },
    stop() {
      stopping ??= shutdown();
      return stopping;
    },
    health(): ComponentHealth {
      if (state !== 'listening') return { healthy: false, detail: state === 'new' || state === 'starting' ? 'not started' : state };
      return { healthy: true, detail: `listening on port ${(server?.address() as AddressInfo).port}, ${sessions.size} gateways connected` };
    },
    address() {
      return state === 'listening' ? (server?.address() as AddressInfo) : undefined;
    },
  };
}

function linkOf(socket: Socket): GatewayLink {
  return {
    write: (bytes) => socket.write(bytes),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    // allowHalfOpen keeps the socket open after the gateway's FIN; once our side is flushed, it goes.
    end: () => socket.end(() => socket.destroy()),
    destroy: () => socket.destroy(),
  };
}

/** The gateway's address, with IPv4-mapped IPv6 (`::ffff:10.0.0.5`) written as plain IPv4. */
function originOf(socket: Socket): GatewayOrigin | undefined {
  const { remoteAddress, remotePort } = socket;
  if (remoteAddress === undefined || remotePort === undefined) return undefined;
  const gateway = plainIp(remoteAddress);
  return { gateway, sourceAddress: isIPv6(gateway) ? `[${gateway}]:${remotePort}` : `${gateway}:${remotePort}` };
}

function plainIp(ip: string): string {
  const mapped = /^::ffff:(.+)$/i.exec(ip)?.[1];
  return mapped !== undefined && isIPv4(mapped) ? mapped : ip;
}

function blockListOf(addresses: readonly string[]): BlockList | undefined {
  if (addresses.length === 0) return undefined;
  const list = new BlockList();
  for (const address of addresses.map(plainIp)) list.addAddress(address, isIPv6(address) ? 'ipv6' : 'ipv4');
  return list;
}
