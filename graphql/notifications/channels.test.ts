import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createWebhookSender, webhookSignature, type ChannelSender, type OutgoingDelivery, type ResolveHost } from './channels.js';
import { webhookAllowlist } from './webhook-destination.js';

/** A receiver on the loopback: answers with the status its path asks for (`/302/…` redirects), never for `/hang`. */
let server: Server;
let port: number;
const received: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '/';
      received.push({ path, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (path === '/hang') return;
      const status = Number(/^\/(\d{3})\//.exec(path)?.[1] ?? 200);
      response.writeHead(status, status === 302 ? { location: `http://127.0.0.1:${port}/200/moved` } : {}).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received.length = 0;
});

const senders: ChannelSender[] = [];
afterAll(async () => {
  await Promise.all(senders.map((sender) => sender.close()));
});

function sender(options: Partial<Parameters<typeof createWebhookSender>[0]> = {}): ChannelSender {
  const created = createWebhookSender({ timeoutMs: 2_000, now: () => 1_700_000_000_000, ...options });
  senders.push(created);
  return created;
}

function delivery(target: string): OutgoingDelivery {
  return { id: 'delivery-1', target, subject: 'subject', body: 'body', payload: { type: 'alert' }, webhookSecret: 'secret' };
}

/** A resolver that answers from a table and counts its lookups. */
function fakeDns(table: Record<string, string[]>): ResolveHost & { lookups: string[] } {
  const lookups: string[] = [];
  const resolve = async (hostname: string) => {
    lookups.push(hostname);
    return (table[hostname] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { lookups });
}

describe('the webhook sender', () => {
  it('refuses the loopback unless the operator allows it, without sending anything', async () => {
    const url = `http://127.0.0.1:${port}/200/hook`;
    expect(await sender().send(delivery(url))).toEqual({ ok: false, retriable: false, reason: 'webhook refused: 127.0.0.1 is a loopback address' });
    expect(received).toEqual([]);

    expect(await sender({ allowlist: webhookAllowlist(['127.0.0.0/8']) }).send(delivery(url))).toEqual({ ok: true });
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request!.headers).toMatchObject({ 'content-type': 'application/json', 'idempotency-key': 'delivery-1', 'x-meterflux-delivery': 'delivery-1' });
    expect(JSON.parse(request!.body)).toEqual({ deliveryId: 'delivery-1', type: 'alert' });
    expect(request!.headers['x-meterflux-signature']).toBe(webhookSignature('secret', 1_700_000_000, request!.body));
  });

  it('refuses a host name that resolves to an internal address, or to one among public ones', async () => {
    const dns = fakeDns({ 'metadata.example': ['169.254.169.254'], 'mixed.example': ['93.184.215.14', '::ffff:10.0.0.7'] });
    const webhook = sender({ resolve: dns });
    expect(await webhook.send(delivery('http://metadata.example/latest/meta-data'))).toEqual({
      ok: false,
      retriable: false,
      reason: 'webhook refused: metadata.example resolves to 169.254.169.254, a link-local address',
    });
    expect(await webhook.send(delivery('https://mixed.example/hook'))).toEqual({
      ok: false,
      retriable: false,
      reason: 'webhook refused: mixed.example resolves to ::ffff:10.0.0.7, a private address',
    });
  });

  it('connects to the address it checked, without resolving the name again', async () => {
    // `.test` names never resolve in DNS: reaching the receiver proves the checked address was used.
    const dns = fakeDns({ 'receiver.test': ['127.0.0.1'] });
    const webhook = sender({ resolve: dns, allowlist: webhookAllowlist(['receiver.test']) });
    expect(await webhook.send(delivery(`http://receiver.test:${port}/204/pinned`))).toEqual({ ok: true });
    expect(dns.lookups).toEqual(['receiver.test']);
    expect(received.map((r) => [r.path, r.headers.host])).toEqual([['/204/pinned', `receiver.test:${port}`]]);
  });

  it('resolves the name again at every attempt', async () => {
    const table: Record<string, string[]> = { 'rebind.test': ['127.0.0.1'] };
    const dns = fakeDns(table);
    const webhook = sender({ resolve: dns, allowlist: webhookAllowlist(['127.0.0.1']) });
    expect(await webhook.send(delivery(`http://rebind.test:${port}/200/first`))).toEqual({ ok: true });
    table['rebind.test'] = ['10.0.0.1'];
    expect(await webhook.send(delivery(`http://rebind.test:${port}/200/second`))).toMatchObject({ ok: false, retriable: false });
    expect(received.map((r) => r.path)).toEqual(['/200/first']);
  });

  it('does not follow a redirect, and does not retry it', async () => {
    const outcome = await sender({ allowlist: webhookAllowlist(['127.0.0.1']) }).send(delivery(`http://127.0.0.1:${port}/302/away`));
    expect(outcome).toEqual({ ok: false, retriable: false, reason: 'webhook answered HTTP 302, a redirect, which is not followed' });
    expect(received.map((r) => r.path)).toEqual(['/302/away']);
  });

  it('refuses a URL it may not use, before resolving anything', async () => {
    const dns = fakeDns({});
    const webhook = sender({ resolve: dns });
    expect(await webhook.send(delivery('https://user:pw@hooks.example/'))).toMatchObject({ ok: false, retriable: false, reason: expect.stringMatching(/^webhook refused: URL must not carry credentials/) });
    expect(await webhook.send(delivery('file:///etc/passwd'))).toEqual({ ok: false, retriable: false, reason: 'webhook refused: URL must use http or https, not file' });
    expect(dns.lookups).toEqual([]);
  });

  it('retries what may pass later: a 503, a name without addresses, a receiver that does not answer in time', async () => {
    const allowed = { allowlist: webhookAllowlist(['127.0.0.1']) };
    expect(await sender(allowed).send(delivery(`http://127.0.0.1:${port}/503/busy`))).toEqual({ ok: false, retriable: true, reason: 'webhook answered HTTP 503' });
    expect(await sender({ resolve: fakeDns({}) }).send(delivery('https://gone.test/'))).toEqual({
      ok: false,
      retriable: true,
      reason: 'webhook unreachable: gone.test has no address',
    });
    expect(await sender({ ...allowed, timeoutMs: 200 }).send(delivery(`http://127.0.0.1:${port}/hang`))).toEqual({
      ok: false,
      retriable: true,
      reason: 'webhook did not answer within 200 ms',
    });
  });
});
