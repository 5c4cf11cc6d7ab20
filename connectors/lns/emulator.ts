/**
 * A LoRaWAN network server's application WebSocket, small enough for tests and the fleet simulator
 * and faithful, for the messages the `lns` connector uses, to IOT Vega Server (`auth_req`,
 * `get_device_appdata_req`, `get_data_req`, pushed `rx`) or to LORIOT (token in the URL, pushed
 * `rx`, `cq` cache queries). It keeps every uplink it is told about in a history, pushes it to the
 * logged-in connections, and can drop or refuse connections to play an outage.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { isObject, type JsonObject, type LnsDialect } from './protocol.js';

/** Options of {@link startLnsEmulator}. */
export interface LnsEmulatorOptions {
  /** @default 0: a free port, read back from {@link LnsEmulator.port} */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 'vega' */
  readonly dialect?: LnsDialect;
  /** Vega accounts, login → password. @default {} */
  readonly users?: Readonly<Record<string, string>>;
  /** LORIOT application tokens accepted in the `token` query parameter. @default [] */
  readonly tokens?: readonly string[];
  /** DevEUIs Vega lists in `get_device_appdata_resp` before any of them sent an uplink. @default [] */
  readonly devices?: readonly string[];
  /** Server clock, stamping uplinks emitted without `ts`. @default Date.now */
  readonly now?: () => number;
}

/** An uplink the emulated network server receives from a device. */
export interface EmulatedUplink {
  /** 16 hex digits, spelled as the server spells it on the wire. */
  readonly devEui: string;
  readonly fcnt: number;
  readonly port: number;
  /** The application payload: bytes, or hex. */
  readonly payload: Uint8Array | string;
  /** Server time (epoch ms). @default the emulator's clock */
  readonly ts?: number;
  /** @default -97 */
  readonly rssi?: number;
  /** @default 7.5 */
  readonly snr?: number;
  /** @default '7276ff0039030001' */
  readonly gatewayId?: string;
  /** @default 868100000 */
  readonly freq?: number;
  /** @default 7 */
  readonly sf?: number;
}

/** A request a client sent, for tests that check what the connector asked. */
export interface ReceivedRequest {
  readonly cmd: string;
  readonly message: JsonObject;
  /** Emulator time of arrival. */
  readonly at: number;
}

/** A running emulator. */
export interface LnsEmulator {
  /** `ws://host:port/` (Vega) or `ws://host:port/app` (LORIOT; add `?token=`). */
  readonly url: string;
  readonly port: number;
  readonly dialect: LnsDialect;
  /** Stores the uplink and pushes it to every logged-in connection; returns the pushed message. */
  emit(uplink: EmulatedUplink): JsonObject;
  /** Sends `text` as it is to every logged-in connection (for malformed frames); returns how many got it. */
  sendRaw(text: string): number;
  /** Drops every connection at once, as a network outage does (no close handshake). */
  dropConnections(): void;
  /** While `true`, new connections are refused with HTTP 503. */
  refuseConnections(refuse: boolean): void;
  /** Open, logged-in connections. */
  sessions(): number;
  /** Connections accepted since start. */
  connectionsAccepted(): number;
  /** Every uplink emitted, oldest first, as pushed. */
  history(): readonly JsonObject[];
  /** Every request received, oldest first. */
  requests(): readonly ReceivedRequest[];
  /** Closes every connection and stops listening. Idempotent. */
  close(): Promise<void>;
}

interface Session {
  readonly socket: WebSocket;
  authenticated: boolean;
}

interface Stored {
  readonly devEui: string;
  readonly ts: number;
  readonly message: JsonObject;
}

/** Starts an emulator; resolves once it listens. */
export async function startLnsEmulator(options: LnsEmulatorOptions = {}): Promise<LnsEmulator> {
  const dialect = options.dialect ?? 'vega';
  const users = options.users ?? {};
  const tokens = new Set(options.tokens ?? []);
  const now = options.now ?? Date.now;
  const devices = new Map((options.devices ?? []).map((eui) => [eui.toLowerCase(), eui]));
  const sessions = new Set<Session>();
  const stored: Stored[] = [];
  const received: ReceivedRequest[] = [];
  let refusing = false;
  let accepted = 0;
  let seqno = 0;

  const wss = new WebSocketServer({ noServer: true });
  const server = createServer((_request, response) => {
    response.writeHead(426, { 'Content-Type': 'text/plain' }).end('WebSocket only\n');
  });
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (refusing) return refuse(socket, 503, 'Service Unavailable');
    if (dialect === 'loriot' && !tokens.has(new URL(request.url ?? '/', 'http://emulator').searchParams.get('token') ?? '')) {
      return refuse(socket, 401, 'Unauthorized');
    }
    wss.handleUpgrade(request, socket, head, (ws) => welcome(ws));
  });

  function refuse(socket: Duplex, status: number, text: string): void {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }

  function welcome(socket: WebSocket): void {
    accepted++;
    // LORIOT authenticates by the token in the URL; Vega waits for auth_req.
    const session: Session = { socket, authenticated: dialect === 'loriot' };
    sessions.add(session);
    socket.on('close', () => sessions.delete(session));
    socket.on('error', () => sessions.delete(session));
    socket.on('message', (data: Buffer) => {
      let message: unknown;
      try {
        message = JSON.parse(data.toString('utf8'));
      } catch {
        return;
      }
      if (!isObject(message) || typeof message['cmd'] !== 'string') return;
      received.push({ cmd: message['cmd'], message, at: now() });
      const answer = dialect === 'vega' ? answerVega(session, message['cmd'], message) : answerLoriot(message['cmd'], message);
      if (answer !== undefined) socket.send(JSON.stringify(answer));
    });
  }

  function answerVega(session: Session, cmd: string, message: JsonObject): JsonObject | undefined {
    const resp = cmd.replace(/_req$/, '_resp');
    if (cmd === 'auth_req') {
      const login = message['login'];
      if (typeof login !== 'string' || users[login] === undefined || users[login] !== message['password']) {
        session.authenticated = false;
        return { cmd: 'auth_resp', status: false, err_string: 'invalid login or password' };
      }
      session.authenticated = true;
      return {
        cmd: 'auth_resp', status: true, token: randomBytes(16).toString('hex'), device_access: 'FULL', consoleEnable: false,
        command_list: ['get_data', 'get_device_appdata'], rx_settings: { unsolicited: true, direction: 'UPLINK', withMacCommands: false },
      };
    }
    if (!session.authenticated) return { cmd: resp, status: false, err_string: 'not authorized' };
    switch (cmd) {
      case 'ping_req':
        return { cmd: 'ping_resp' };
      case 'close_auth_req':
        session.authenticated = false;
        return { cmd: 'close_auth_resp', status: true };
      case 'get_device_appdata_req':
        return { cmd: 'get_device_appdata_resp', status: true, devices_list: [...devices.values()].map((devEui) => ({ devEui, devName: devEui })) };
      case 'get_data_req':
        return vegaData(message);
      default:
        return { cmd: resp, status: false, err_string: `unknown command ${cmd}` };
    }
  }

  function vegaData(message: JsonObject): JsonObject {
    const devEui = message['devEui'];
    if (typeof devEui !== 'string' || !devices.has(devEui.toLowerCase())) {
      return { cmd: 'get_data_resp', status: false, err_string: 'unknown device', devEui: typeof devEui === 'string' ? devEui : '' };
    }
    const select = isObject(message['select']) ? message['select'] : {};
    const from = numberOr(select['date_from'], -Infinity);
    const to = numberOr(select['date_to'], Infinity);
    const begin = numberOr(select['begin_index'], 0);
    const limit = numberOr(select['limit'], Infinity);
    // Newest first, like LORIOT's cache; the connector does not depend on the order.
    const matching = stored.filter((s) => s.devEui === devEui.toLowerCase() && s.ts >= from && s.ts <= to).reverse();
    return {
      cmd: 'get_data_resp', status: true, devEui, appEui: '0000000000000000', direction: 'UPLINK', totalNum: matching.length,
      data_list: matching.slice(begin, begin + limit).map(({ message: { cmd: _cmd, devEui: _devEui, appEui: _appEui, ...entry } }) => entry),
    };
  }

  function answerLoriot(cmd: string, message: JsonObject): JsonObject | undefined {
    if (cmd !== 'cq') return undefined;
    const filter = isObject(message['filter']) ? message['filter'] : {};
    const from = numberOr(filter['from'], -Infinity);
    const to = numberOr(filter['to'], Infinity);
    const eui = typeof filter['EUI'] === 'string' ? filter['EUI'].toLowerCase() : undefined;
    const page = numberOr(message['page'], 1);
    const perPage = numberOr(message['perPage'], 100);
    const matching = stored.filter((s) => s.ts >= from && s.ts <= to && (eui === undefined || s.devEui === eui)).reverse();
    return { cmd: 'cq', filter, page, perPage, total: matching.length, cache: matching.slice((page - 1) * perPage, page * perPage).map((s) => s.message) };
  }

  function wireMessage(uplink: EmulatedUplink, ts: number): JsonObject {
    const data = typeof uplink.payload === 'string' ? uplink.payload : Buffer.from(uplink.payload).toString('hex');
    const radio = { freq: uplink.freq ?? 868_100_000, rssi: uplink.rssi ?? -97, snr: uplink.snr ?? 7.5, dr: `SF${uplink.sf ?? 7} BW125 4/5` };
    if (dialect === 'vega') {
      return { cmd: 'rx', devEui: uplink.devEui, appEui: '0000000000000000', ts, gatewayId: uplink.gatewayId ?? '7276ff0039030001', ack: false,
        fcnt: uplink.fcnt, port: uplink.port, data, macData: '', ...radio, type: 'UNCONF_UP', packetStatus: 'NEW' };
    }
    return { cmd: 'rx', seqno: ++seqno, EUI: uplink.devEui, ts, fcnt: uplink.fcnt, port: uplink.port, ...radio, toa: 0, ack: false, bat: 255, offline: false, data };
  }

  function broadcast(text: string): number {
    let sent = 0;
    for (const session of sessions) {
      if (session.authenticated && session.socket.readyState === session.socket.OPEN) {
        session.socket.send(text);
        sent++;
      }
    }
    return sent;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  let closing: Promise<void> | undefined;

  return {
    url: `ws://${host}:${port}/${dialect === 'loriot' ? 'app' : ''}`,
    port,
    dialect,
    emit(uplink) {
      const ts = uplink.ts ?? now();
      const message = wireMessage(uplink, ts);
      const devEui = uplink.devEui.toLowerCase();
      if (!devices.has(devEui)) devices.set(devEui, uplink.devEui);
      // History stays ordered by server time, as a server's store is, whatever order uplinks are emitted in.
      const index = stored.findLastIndex((s) => s.ts <= ts);
      stored.splice(index + 1, 0, { devEui, ts, message });
      broadcast(JSON.stringify(message));
      return message;
    },
    sendRaw: broadcast,
    dropConnections() {
      for (const session of sessions) session.socket.terminate();
    },
    refuseConnections(refuse) {
      refusing = refuse;
    },
    sessions: () => [...sessions].filter((s) => s.authenticated).length,
    connectionsAccepted: () => accepted,
    history: () => stored.map((s) => s.message),
    requests: () => [...received],
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const session of sessions) session.socket.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}
