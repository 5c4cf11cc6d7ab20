/**
 * A serial-to-IP gateway as meterflux expects one (connectors/mbus-tcp/README.md): streams long
 * frames over one TCP connection, reads one answer byte per frame in order (E5 stored, 0x15
 * refused), and after a connection loss reconnects and sends again every frame it holds no answer
 * for. Frames are written as the gateway's serial side would: in arbitrary chunks.
 *
 * Faults: a frame sent as a `duplicate` is answered like any other but counted as a duplicate;
 * `garbage` writes noise that holds no start byte (0x68, 0x10, 0xE5), which the connector
 * dead-letters without an answer; `drop` resets the connection like a gateway losing its line.
 */
import { Socket } from 'node:net';
import type { Logger } from 'pino';
import { countsOf, type Ledger } from '../ledger.js';

const ACK = 0xe5;
const NAK = 0x15;

/** A gateway connection; `send` queues a frame, `close` stops reconnecting. */
export interface TcpGateway {
  send(frame: Uint8Array, options?: { readonly duplicate?: boolean }): void;
  /** Writes noise between frames (never a start byte, so no answer is due). */
  garbage(noise: Uint8Array): void;
  /** Resets the connection; the gateway reconnects and resends what was unanswered. */
  drop(): void;
  /** Frames sent and not yet answered. */
  pending(): number;
  close(): Promise<void>;
}

/** A frame on its way, and whether it is an injected duplicate. */
interface Outgoing {
  readonly frame: Uint8Array;
  readonly duplicate: boolean;
}

export function createTcpGateway(options: { host: string; port: number; ledger: Ledger; logger: Logger; name: string }): TcpGateway {
  const counts = countsOf(options.ledger, 'mbus-tcp');
  const unanswered: Outgoing[] = [];
  const queued: Outgoing[] = [];
  let socket: Socket | undefined;
  let connected = false;
  let closed = false;
  let attempt = 0;

  function write(outgoing: Outgoing): void {
    const { frame } = outgoing;
    unanswered.push(outgoing);
    // Split like a serial line does: the connector must reassemble frames from any chunking.
    const cut = 1 + Math.floor(Math.random() * (frame.length - 1));
    socket?.write(frame.subarray(0, cut));
    socket?.write(frame.subarray(cut));
  }

  function connect(): void {
    if (closed) return;
    const s = new Socket();
    socket = s;
    s.setNoDelay(true);
    s.on('connect', () => {
      connected = true;
      attempt = 0;
      // Everything unanswered on the lost connection is sent again, in order, before new frames.
      const resend = unanswered.splice(0);
      counts.resent += resend.length;
      for (const outgoing of resend) write(outgoing);
      for (const outgoing of queued.splice(0)) write(outgoing);
    });
    s.on('data', (answers: Buffer) => {
      for (const byte of answers) {
        const answered = unanswered.shift();
        if (answered === undefined || answered.duplicate) continue;
        if (byte === ACK) counts.acknowledged++;
        else if (byte === NAK) counts.refused++;
      }
    });
    s.on('error', (err) => options.logger.debug({ err, gateway: options.name }, 'gateway connection error'));
    s.on('close', () => {
      connected = false;
      if (closed) return;
      const delay = Math.min(5000, 100 * 2 ** attempt++);
      setTimeout(connect, delay).unref();
    });
    s.connect(options.port, options.host);
  }

  connect();
  return {
    send(frame, { duplicate = false } = {}) {
      if (duplicate) counts.duplicates++;
      else counts.sent++;
      if (connected) write({ frame, duplicate });
      else queued.push({ frame, duplicate });
    },
    garbage(noise) {
      if (noise.some((byte) => byte === 0x68 || byte === 0x10 || byte === ACK)) throw new RangeError('gateway noise must not hold a start byte');
      if (!connected) return;
      counts.garbage++;
      socket?.write(noise);
    },
    drop() {
      if (!connected) return;
      counts.disconnects++;
      socket?.resetAndDestroy();
    },
    pending: () => unanswered.length + queued.length,
    async close() {
      closed = true;
      await new Promise<void>((resolve) => {
        if (!socket || socket.destroyed) return resolve();
        socket.once('close', () => resolve());
        socket.end();
      });
    },
  };
}
