/**
 * The two outside channels a delivery goes through: a webhook (HTTP POST of JSON) and e-mail over
 * SMTP. Each attempt ends in an {@link AttemptOutcome}; the dispatcher decides about retries.
 */
import { createHmac } from 'node:crypto';
import nodemailer from 'nodemailer';
import { errorMessage } from '../../core/errors.js';
import { webhookOutcome, type AttemptOutcome } from './model.js';

/** What a channel needs to send one delivery. */
export interface OutgoingDelivery {
  readonly id: string;
  /** Webhook URL or e-mail address. */
  readonly target: string;
  readonly subject: string;
  readonly body: string;
  readonly payload: unknown;
  /** HMAC key of the webhook signature; only for webhooks. */
  readonly webhookSecret?: string | null;
}

/** Sends deliveries of one channel. */
export interface ChannelSender {
  send(delivery: OutgoingDelivery): Promise<AttemptOutcome>;
  /** Releases connections; idempotent. */
  close(): Promise<void>;
}

/**
 * The webhook signature header value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
 * Receivers recompute it with the subscription's secret and refuse old timestamps to stop replays.
 */
export function webhookSignature(secret: string, timestampS: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestampS}.${body}`).digest('hex');
  return `t=${timestampS},v1=${mac}`;
}

/** Options of {@link createWebhookSender}. */
export interface WebhookSenderOptions {
  /** Longest wait for the receiver's answer, connection included. */
  readonly timeoutMs: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * POSTs the delivery's payload as JSON with `Idempotency-Key` (the delivery id, the same on every
 * retry, so a receiver can drop repeats) and `X-Meterflux-Signature`. Redirects are not followed:
 * a webhook URL names its receiver.
 */
export function createWebhookSender(options: WebhookSenderOptions): ChannelSender {
  const now = options.now ?? Date.now;
  return {
    async send(delivery) {
      const body = JSON.stringify({ deliveryId: delivery.id, ...(delivery.payload as object) });
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'meterflux-notifications',
        'idempotency-key': delivery.id,
        'x-meterflux-delivery': delivery.id,
      };
      if (delivery.webhookSecret) headers['x-meterflux-signature'] = webhookSignature(delivery.webhookSecret, Math.floor(now() / 1000), body);
      try {
        const response = await fetch(delivery.target, {
          method: 'POST',
          headers,
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        // Drain, so the connection can be reused.
        await response.arrayBuffer().catch(() => undefined);
        return webhookOutcome(response.status);
      } catch (err) {
        if (err instanceof DOMException && err.name === 'TimeoutError') {
          return { ok: false, retriable: true, reason: `webhook did not answer within ${options.timeoutMs} ms` };
        }
        const cause = (err as { cause?: unknown }).cause;
        return { ok: false, retriable: true, reason: `webhook unreachable: ${errorMessage(cause ?? err)}` };
      }
    },
    async close() {},
  };
}

/** Options of {@link createEmailSender}. */
export interface EmailSenderOptions {
  /** `smtp://user:pass@host:port` or `smtps://…`; nodemailer's URL form. */
  readonly url: string;
  /** The From header, e.g. `meterflux <alerts@example.org>`. */
  readonly from: string;
  /** Longest wait for each SMTP step. */
  readonly timeoutMs: number;
}

/**
 * Sends a plain-text e-mail per delivery over one pooled SMTP connection. A 5xx answer from the
 * server (mailbox unknown, message refused) is permanent; connection problems and 4xx are retried.
 */
export function createEmailSender(options: EmailSenderOptions): ChannelSender {
  const transport = nodemailer.createTransport({
    url: options.url,
    pool: true,
    maxConnections: 2,
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
  });
  let closed = false;
  return {
    async send(delivery) {
      try {
        await transport.sendMail({
          from: options.from,
          to: delivery.target,
          subject: delivery.subject,
          text: delivery.body,
          headers: { 'X-Meterflux-Delivery': delivery.id },
        });
        return { ok: true };
      } catch (err) {
        const code = (err as { responseCode?: unknown }).responseCode;
        const permanent = typeof code === 'number' && code >= 500 && code < 600;
        return { ok: false, retriable: !permanent, reason: `SMTP: ${errorMessage(err)}` };
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      transport.close();
    },
  };
}
