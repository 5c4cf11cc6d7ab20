/**
 * One WebSocket connection to a network server: opens it, hands every frame to the connector,
 * matches response frames to the requests waiting for them, and detects a dead peer with
 * WebSocket pings. It never reconnects by itself; the source decides when to open the next one.
 */
import { WebSocket } from 'ws';
import { ServiceUnavailableError, TransientError } from '../../core/errors.js';
import type { LinkRequests, ResponseFrame } from './dialects.js';
import type { JsonObject } from './protocol.js';

/** Options of {@link openLink}. */
export interface LinkOptions {
  /** The URL to open, credentials included where the dialect puts them there. */
  readonly url: string;
  /** The URL without credentials, for messages. */
  readonly address: string;
  /** Longest wait for the opening handshake and for each response. */
  readonly requestTimeoutMs: number;
  /** Interval of WebSocket pings; a peer that has not answered the previous one is dropped. */
  readonly pingIntervalMs: number;
  /** Called with every frame, in order of arrival. */
  readonly onFrame: (link: Link, bytes: Buffer) => void;
}

/** How a connection ended. */
export interface LinkClosed {
  readonly code: number;
  readonly reason: string;
}

/** An open connection. */
export interface Link extends LinkRequests {
  /** Resolves when the connection has closed, for whatever reason. */
  readonly closed: Promise<LinkClosed>;
  /** Offers a response frame to the waiting requests; `false` when none wanted it. */
  answer(frame: ResponseFrame): boolean;
  /** Closes the connection (idempotent); waiting requests reject. */
  close(code: number, reason: string): void;
}

interface Waiting {
  accept(frame: ResponseFrame): boolean;
  fail(error: Error): void;
}

/**
 * Opens a connection. Rejects with a {@link ServiceUnavailableError} when the server cannot be
 * reached or refuses the upgrade (the message then names the HTTP status, e.g. `401`).
 */
export async function openLink(options: LinkOptions): Promise<Link> {
  const socket = new WebSocket(options.url, { handshakeTimeout: options.requestTimeoutMs });
  const waiting = new Set<Waiting>();
  let alive = true;
  const heartbeat = setInterval(() => {
    if (socket.readyState !== WebSocket.OPEN) return;
    if (!alive) {
      socket.terminate();
      return;
    }
    alive = false;
    socket.ping();
  }, options.pingIntervalMs);
  const closed = new Promise<LinkClosed>((resolve) => {
    socket.once('close', (code, reason) => {
      clearInterval(heartbeat);
      const error = new TransientError(`LNS connection to ${options.address} closed (code ${code})`, { code: 'LNS_CLOSED' });
      for (const w of waiting) w.fail(error);
      waiting.clear();
      resolve({ code, reason: reason.toString('utf8') });
    });
  });
  // An error is always followed by 'close', which is where it is handled.
  socket.on('error', () => undefined);
  socket.on('pong', () => (alive = true));

  const link: Link = {
    closed,
    request<T>(message: JsonObject, match: (frame: ResponseFrame) => T | undefined): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(entry);
          reject(new TransientError(`LNS did not answer ${String(message['cmd'])} within ${options.requestTimeoutMs} ms`, { code: 'LNS_TIMEOUT' }));
        }, options.requestTimeoutMs);
        const entry: Waiting = {
          accept(frame) {
            const result = match(frame);
            if (result === undefined) return false;
            clearTimeout(timer);
            resolve(result);
            return true;
          },
          fail(error) {
            clearTimeout(timer);
            reject(error);
          },
        };
        if (socket.readyState !== WebSocket.OPEN) {
          entry.fail(new TransientError(`LNS connection to ${options.address} is not open`, { code: 'LNS_CLOSED' }));
          return;
        }
        waiting.add(entry);
        socket.send(JSON.stringify(message));
      });
    },
    answer(frame) {
      for (const w of waiting) {
        if (w.accept(frame)) {
          waiting.delete(w);
          return true;
        }
      }
      return false;
    },
    close(code, reason) {
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close(code, reason);
    },
  };

  // Listening before the handshake completes, so no frame sent right after it is missed.
  socket.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
    alive = true;
    options.onFrame(link, Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));
  });
  await new Promise<void>((resolve, reject) => {
    const failed = (cause: Error): void =>
      reject(new ServiceUnavailableError({ service: 'LNS', address: options.address, cause, hint: 'Retrying with backoff.' }));
    socket.once('error', failed);
    socket.once('open', () => {
      socket.off('error', failed);
      resolve();
    });
  });
  return link;
}
