/**
 * One PostgreSQL connection that `LISTEN`s to {@link DELIVERY_NOTIFY_CHANNEL} and hands each
 * {@link DeliveryChange} to every handler. Reconnects with backoff when the connection drops;
 * changes committed while it was down are not replayed (handlers that must not miss anything —
 * the dispatcher — also poll).
 */
import pg from 'pg';
import type { Logger } from '../../core/log.js';
import { DELIVERY_NOTIFY_CHANNEL, type DeliveryChange } from './store.js';

/** A running listener. */
export interface DeliveryListener {
  /** Adds a handler; returns its removal. */
  subscribe(handler: (change: DeliveryChange) => void): () => void;
  start(): Promise<void>;
  /** Idempotent and safe before start. */
  stop(): Promise<void>;
}

/** Options of {@link createDeliveryListener}. */
export interface DeliveryListenerOptions {
  readonly databaseUrl: string;
  readonly logger: Logger;
  /**
   * Longest wait between reconnection attempts.
   * @default 10000
   */
  readonly maxBackoffMs?: number;
}

export function createDeliveryListener(options: DeliveryListenerOptions): DeliveryListener {
  const logger = options.logger.child({ component: 'notification-listener' });
  const handlers = new Set<(change: DeliveryChange) => void>();
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;

  function dispatch(message: pg.Notification): void {
    if (message.channel !== DELIVERY_NOTIFY_CHANNEL || message.payload === undefined) return;
    let change: DeliveryChange;
    try {
      change = JSON.parse(message.payload) as DeliveryChange;
    } catch (err) {
      logger.warn({ err }, 'ignoring an unreadable delivery notification');
      return;
    }
    for (const handler of handlers) {
      try {
        handler(change);
      } catch (err) {
        logger.error({ err }, 'a delivery change handler failed');
      }
    }
  }

  async function connect(): Promise<void> {
    const next = new pg.Client({ connectionString: options.databaseUrl });
    next.on('notification', dispatch);
    next.on('error', (err) => {
      logger.warn({ err }, 'delivery notifications connection lost; reconnecting');
      void next.end().catch(() => undefined);
      if (client === next) {
        client = undefined;
        schedule(1);
      }
    });
    await next.connect();
    await next.query(`LISTEN ${DELIVERY_NOTIFY_CHANNEL}`);
    if (stopped) {
      await next.end();
      return;
    }
    client = next;
  }

  function schedule(attempt: number): void {
    if (stopped) return;
    const delay = Math.min(options.maxBackoffMs ?? 10_000, 250 * 2 ** attempt);
    retry = setTimeout(() => {
      connect().catch((err: unknown) => {
        logger.warn({ err, attempt }, 'cannot listen for delivery notifications yet');
        schedule(attempt + 1);
      });
    }, delay);
  }

  return {
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    start: connect,
    async stop() {
      stopped = true;
      clearTimeout(retry);
      const current = client;
      client = undefined;
      await current?.end();
    },
  };
}
