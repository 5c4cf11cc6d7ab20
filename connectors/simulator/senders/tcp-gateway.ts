/**
 * A serial-to-IP gateway as meterflux expects one (connectors/mbus-tcp/README.md): streams long
 * frames over one TCP connection, reads one answer byte per frame in order (E5 stored, 0x15
 * refused), and after a connection loss reconnects and sends again every frame it holds no answer
 * for. Frames are written as the gateway's serial side would: in arbitrary chunks.
 */
import { Socket } from 'node:net';
import type { Logger } from 'pino';
import { countsOf, type Ledger } from '../ledger.js';

const ACK = 0xe5;
const NAK = 0x15;

/** A gateway connection; `send` queues a frame, `close` stops reconnecting. */
export interface TcpGateway {
  send(frame: Uint8Array): void;
  /** Frames sent and not yet answered. */
  pending(): number;
  close(): Promise<void>;
}

export function createTcpGateway(options: { host: string; port: number; ledger: Ledger; logger: Logger; name: string }): TcpGateway {
  const counts = countsOf(options.ledger, 'mbus-tcp');
  const unanswered: Uint8Array[] = [];
  const queued: Uint8Array[] = [];
  let socket: Socket | undefined;
  let connected = false;
  let closed = false;
  let attempt = 0;

  function write(frame: Uint8Array): void {
    unanswered.push(frame);
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
      for (const frame of resend) write(frame);
      for (const frame of queued.splice(0)) write(frame);
    });
    s.on('data', (answers: Buffer) => {
      for (const byte of answers) {
        if (unanswered.shift() === undefined) continue;
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
    send(frame) {
      counts.sent++;
      if (connected) write(frame);
      else queued.push(frame);
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
