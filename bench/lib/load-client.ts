/**
 * The load client of `bench/connectors.bench.ts`, forked as a child process: it plays the devices
 * (MQTT publishers, HTTP clients, M-Bus gateways) or the LoRaWAN network server (the LNS
 * emulator) of one connector. In its own process, making and sending traffic does not take turns
 * with the connector on one event loop; on a 2-core host the two then share the CPU as a
 * connector shares it with any other process. Commands and replies are {@link LoadCommand} and
 * {@link LoadReply} over the IPC channel, one reply per command, in order.
 */
import { Agent, request } from 'node:http';
import { Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { startLnsEmulator, type LnsEmulator } from '../../connectors/lns/emulator.js';
import { errorMessage } from '../../core/errors.js';
import {
  httpUplink,
  lnsUplink,
  mbusFrameOf,
  nowMs,
  stationMessage,
  type LoadCommand,
  type LoadReply,
  type LoadSetup,
  type SendCommand,
  type SentReply,
} from './connector-load.js';

const STORED_REPLY = 0xe5;

/** One connector's clients: sends a run, closes. */
interface Load {
  send(command: SendCommand): Promise<SentReply>;
  close(): Promise<void>;
}

/** A run's bookkeeping: who was sent when, who was answered when, and when everything was. */
class Tally {
  readonly sentMs: number[];
  readonly answeredMs: number[];
  startedMs = 0;
  private answered = 0;
  private readonly done: Promise<number>;
  private finish!: (at: number) => void;
  private fail!: (error: Error) => void;

  constructor(readonly count: number, readonly timed: boolean) {
    this.sentMs = timed ? new Array<number>(count) : [];
    this.answeredMs = timed ? new Array<number>(count) : [];
    this.done = new Promise<number>((resolve, reject) => {
      this.finish = resolve;
      this.fail = reject;
    });
  }

  sent(index: number, at: number): void {
    if (index === 0) this.startedMs = at;
    if (this.timed) this.sentMs[index] = at;
  }

  /** Records `records` answers starting at `index`. */
  answer(index: number, records: number, at: number): void {
    if (this.timed) this.answeredMs.fill(at, index, index + records);
    this.answered += records;
    if (this.answered >= this.count) this.finish(at);
  }

  failed(error: Error): void {
    this.fail(error);
  }

  async reply(withAnswers: boolean): Promise<SentReply> {
    const finishedMs = await this.done;
    return { kind: 'sent', startedMs: this.startedMs, finishedMs, sentMs: this.sentMs, answeredMs: withAnswers ? this.answeredMs : [] };
  }
}

/**
 * Calls `sendOne(i)` for every message: all at once, or open loop at `ratePerS` messages/s
 * (checked every millisecond; what fell due since is sent at once).
 */
async function pace(count: number, ratePerS: number | undefined, sendOne: (index: number) => void): Promise<void> {
  if (ratePerS === undefined) {
    for (let i = 0; i < count; i++) sendOne(i);
    return;
  }
  const started = nowMs();
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(count, Math.floor(((nowMs() - started) / 1000) * ratePerS) + 1);
      while (next < due) sendOne(next++);
      if (next >= count) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
}

/** QoS 1 publishers, messages spread round-robin; done when the broker acknowledged every one. */
async function mqttLoad(setup: Extract<LoadSetup, { transport: 'mqtt' }>): Promise<Load> {
  const clients: MqttClient[] = await Promise.all(
    Array.from({ length: setup.publishers }, (_, i) =>
      mqtt.connectAsync(setup.url, { clientId: `bench-pub-${process.pid}-${i}`, clean: true, reconnectPeriod: 0 })),
  );
  return {
    async send({ run, count, ratePerS, topicPrefix = '' }) {
      const messages = Array.from({ length: count }, (_, i) => stationMessage(run, i));
      const tally = new Tally(count, ratePerS !== undefined);
      await pace(count, ratePerS, (i) => {
        const { topic, payload } = messages[i]!;
        tally.sent(i, nowMs());
        clients[i % clients.length]!.publish(`${topicPrefix}${topic}`, payload, { qos: 1 }, (err) => {
          if (err) tally.failed(err);
          else tally.answer(i, 1, nowMs());
        });
      });
      return tally.reply(false);
    },
    async close() {
      await Promise.all(clients.map((client) => client.endAsync()));
    },
  };
}

/** Keep-alive HTTP clients posting `uplinksPerRequest` uplinks per request, each with an Idempotency-Key. */
function httpLoad(setup: Extract<LoadSetup, { transport: 'http' }>): Load {
  const target = new URL(setup.url);
  // Closed loop over `connections` sockets when sending as fast as possible; open loop needs sockets
  // for whatever is in flight, so a paced request never waits in the client for a free one.
  const bounded = new Agent({ keepAlive: true, maxSockets: setup.connections });
  const unbounded = new Agent({ keepAlive: true, maxSockets: 1024 });
  const per = setup.uplinksPerRequest;
  return {
    async send({ run, count, ratePerS }) {
      if (count % per !== 0) throw new Error(`${count} records do not make whole requests of ${per} uplinks`);
      const bodies = Array.from({ length: count / per }, (_, r) => {
        const uplinks = Array.from({ length: per }, (_, u) => httpUplink(run, r * per + u));
        return JSON.stringify(per === 1 ? uplinks[0] : { uplinks });
      });
      const agent = ratePerS === undefined ? bounded : unbounded;
      const tally = new Tally(count, ratePerS !== undefined);
      await pace(bodies.length, ratePerS === undefined ? undefined : ratePerS / per, (r) => {
        const body = bodies[r]!;
        const at = nowMs();
        for (let u = 0; u < per; u++) tally.sent(r * per + u, at);
        const post = request({
          agent, host: target.hostname, port: target.port, method: 'POST', path: '/v1/uplinks',
          headers: {
            authorization: `Bearer ${setup.token}`, 'content-type': 'application/json',
            'content-length': Buffer.byteLength(body), 'idempotency-key': `bench-${run}-${r}`,
          },
        }, (response) => {
          const answeredAt = nowMs();
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            if (response.statusCode === 202) tally.answer(r * per, per, answeredAt);
            else tally.failed(new Error(`HTTP ${response.statusCode ?? '?'} for request ${r}: ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`));
          });
        });
        post.on('error', (err) => tally.failed(err));
        post.end(body);
      });
      return tally.reply(true);
    },
    async close() {
      bounded.destroy();
      unbounded.destroy();
    },
  };
}

/**
 * Serial-to-IP gateways: frames spread round-robin over `gateways` connections, each reading one
 * answer byte per frame in order (connectors/mbus-tcp/README.md); done at the last E5.
 */
async function tcpLoad(setup: Extract<LoadSetup, { transport: 'mbus-tcp' }>): Promise<Load> {
  let tally: Tally | undefined;
  const connections = await Promise.all(Array.from({ length: setup.gateways }, async () => {
    const socket = new Socket();
    socket.setNoDelay(true);
    const connection = { socket, awaiting: [] as number[], head: 0 };
    socket.on('data', (answers: Buffer) => {
      const at = nowMs();
      for (const byte of answers) {
        const index = connection.awaiting[connection.head++];
        if (index === undefined || tally === undefined) continue;
        if (byte === STORED_REPLY) tally.answer(index, 1, at);
        else tally.failed(new Error(`gateway got 0x${byte.toString(16)} instead of E5 for frame ${index}`));
      }
    });
    socket.on('close', () => tally?.failed(new Error('the connector closed a gateway connection')));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(setup.port, setup.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return connection;
  }));
  return {
    async send({ run, count, ratePerS }) {
      const frames = Array.from({ length: count }, (_, i) => mbusFrameOf(run, i));
      const current = new Tally(count, ratePerS !== undefined);
      tally = current;
      for (const connection of connections) {
        connection.awaiting = [];
        connection.head = 0;
      }
      await pace(count, ratePerS, (i) => {
        const connection = connections[i % connections.length]!;
        connection.awaiting.push(i);
        current.sent(i, nowMs());
        connection.socket.write(frames[i]!);
      });
      return current.reply(true);
    },
    async close() {
      tally = undefined;
      for (const { socket } of connections) socket.removeAllListeners('close');
      await Promise.all(connections.map(({ socket }) => new Promise<void>((resolve) => socket.end(resolve))));
    },
  };
}

/** The network server: emits uplinks to the connector's WebSocket; done when the last one was pushed. */
function lnsLoad(emulator: LnsEmulator): Load {
  return {
    async send({ run, count, ratePerS }) {
      const uplinks = Array.from({ length: count }, (_, i) => lnsUplink(run, i));
      const tally = new Tally(count, ratePerS !== undefined);
      await pace(count, ratePerS, (i) => {
        const at = nowMs();
        tally.sent(i, at);
        emulator.emit(uplinks[i]!);
        tally.answer(i, 1, at);
      });
      return tally.reply(false);
    },
    close: () => emulator.close(),
  };
}

let load: Load | undefined;

async function handle(command: LoadCommand): Promise<LoadReply> {
  switch (command.kind) {
    case 'setup': {
      const { setup } = command;
      if (setup.transport === 'lns') {
        const emulator = await startLnsEmulator({ users: { [setup.login]: setup.password } });
        load = lnsLoad(emulator);
        return { kind: 'ready', lnsUrl: emulator.url };
      }
      load = setup.transport === 'mqtt' ? await mqttLoad(setup) : setup.transport === 'http' ? httpLoad(setup) : await tcpLoad(setup);
      return { kind: 'ready' };
    }
    case 'send':
      if (load === undefined) throw new Error('send before setup');
      return load.send(command);
    case 'close':
      await load?.close();
      return { kind: 'closed' };
  }
}

let queue = Promise.resolve();
process.on('message', (message: unknown) => {
  queue = queue.then(async () => {
    const reply = await handle(message as LoadCommand).catch((err: unknown): LoadReply => ({ kind: 'failed', message: errorMessage(err) }));
    process.send?.(reply);
    if (reply.kind === 'closed') process.disconnect();
  });
});
