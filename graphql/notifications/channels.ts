/**
 * The two outside channels a delivery goes through: a webhook (HTTP POST of JSON) and e-mail over
 * SMTP. Each attempt ends in an {@link AttemptOutcome}; the dispatcher decides about retries.
 */
import { createHmac } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import nodemailer from 'nodemailer';
import { errorMessage } from '../../core/errors.js';
import { webhookOutcome, type AttemptOutcome } from './model.js';
import { addressRefusal, NO_INTERNAL_RECEIVERS, parseWebhookUrl, type WebhookAllowlist } from './webhook-destination.js';

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

/** The addresses a host name resolves to, as `dns.lookup` with `all` gives them. */
export type ResolveHost = (hostname: string) => Promise<readonly LookupAddress[]>;

/** Options of {@link createWebhookSender}. */
export interface WebhookSenderOptions {
  /** Longest wait for the receiver's answer, name resolution and connection included. */
  readonly timeoutMs: number;
  /**
   * Internal receivers webhooks may reach besides public addresses (`NOTIFY_WEBHOOK_ALLOW_HOSTS`).
   * @default NO_INTERNAL_RECEIVERS
   */
  readonly allowlist?: WebhookAllowlist;
  /** @default every address `dns.lookup` finds */
  readonly resolve?: ResolveHost;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * POSTs the delivery's payload as JSON with `Idempotency-Key` (the delivery id, the same on every
 * retry, so a receiver can drop repeats) and `X-Meterflux-Signature`.
 *
 * Every attempt resolves the host again and checks every address it resolves to
 * (`webhook-destination.ts`): one the URL's host may not reach refuses the attempt for good, before
 * anything is sent. The connection then goes to a checked address, never to a second lookup's
 * answer, so a name that changes its address between check and connection (DNS rebinding) cannot
 * lead inside. Redirects are not followed: a webhook URL names its receiver.
 */
export function createWebhookSender(options: WebhookSenderOptions): ChannelSender {
  const now = options.now ?? Date.now;
  const allowlist = options.allowlist ?? NO_INTERNAL_RECEIVERS;
  const resolve = options.resolve ?? ((hostname: string) => lookup(hostname, { all: true }));
  // Connections of this sender only: no socket another part of the process opened is reused.
  const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  return {
    async send(delivery) {
      const target = parseWebhookUrl(delivery.target);
      if (!target.ok) return { ok: false, retriable: false, reason: `webhook refused: URL ${target.problem}` };
      const body = JSON.stringify({ deliveryId: delivery.id, ...(delivery.payload as object) });
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'meterflux-notifications',
        'idempotency-key': delivery.id,
        'x-meterflux-delivery': delivery.id,
      };
      if (delivery.webhookSecret) headers['x-meterflux-signature'] = webhookSignature(delivery.webhookSecret, Math.floor(now() / 1000), body);
      const signal = AbortSignal.timeout(options.timeoutMs);
      try {
        const addresses =
          target.literalAddress === undefined
            ? await untilAborted(resolve(target.hostname), signal)
            : [{ address: target.literalAddress, family: isIP(target.literalAddress) }];
        if (addresses.length === 0) return { ok: false, retriable: true, reason: `webhook unreachable: ${target.hostname} has no address` };
        // One address the host may not reach refuses it all: it names an internal receiver.
        for (const { address } of addresses) {
          const refusal = addressRefusal(target.hostname, address, allowlist);
          if (refusal !== undefined) return { ok: false, retriable: false, reason: `webhook refused: ${refusal}` };
        }
        const agent = target.url.protocol === 'https:' ? agents.https : agents.http;
        return webhookOutcome(await post(target.url, { method: 'POST', headers, agent, signal, lookup: pinnedLookup(addresses) }, body));
      } catch (err) {
        if (signal.aborted) return { ok: false, retriable: true, reason: `webhook did not answer within ${options.timeoutMs} ms` };
        // Connecting to several addresses fails with one error per address.
        const causes = err instanceof AggregateError ? err.errors : [err];
        return { ok: false, retriable: true, reason: `webhook unreachable: ${causes.map(errorMessage).join('; ')}` };
      }
    },
    async close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

/**
 * A `lookup` for one request that answers with addresses already checked, so the connection goes
 * where the check said it may and no second resolution can answer otherwise.
 */
function pinnedLookup(addresses: readonly LookupAddress[]): LookupFunction {
  const [first] = addresses;
  return (_hostname, lookupOptions, callback) => {
    // Asynchronous like dns.lookup: the socket attaches its listeners after calling this.
    process.nextTick(() => {
      if (lookupOptions.all) callback(null, [...addresses]);
      else callback(null, first!.address, first!.family);
    });
  };
}

/** Sends one request and resolves to the answer's status once the answer's body is drained or cut off. */
function post(url: URL, requestOptions: http.RequestOptions, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(url, requestOptions, (response) => {
      const status = response.statusCode ?? 0;
      // The status is the answer; a body cut off by the timeout or the receiver changes nothing.
      response.on('error', () => undefined);
      response.on('close', () => resolve(status));
      // Drain, so the connection can be reused.
      response.resume();
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** `promise`, or the abort reason of `signal` if it comes first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const abort = (): void => reject(signal.reason);
    if (signal.aborted) abort();
    signal.addEventListener('abort', abort, { once: true });
    const settle = (): void => signal.removeEventListener('abort', abort);
    promise.then(
      (value) => {
        settle();
        resolve(value);
      },
      (err: unknown) => {
        settle();
        reject(err);
      },
    );
  });
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
