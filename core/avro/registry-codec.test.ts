import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceUnavailableError } from '../errors.js';
import { createRegistryCodec } from './registry-codec.js';

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A real HTTP server on a free port; `handle` returning false leaves the request unanswered. */
async function registryServer(handle: (req: IncomingMessage, res: ServerResponse) => boolean): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      handle(req, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function json(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  return true;
}

describe('registry codec request deadline', () => {
  it('abandons a registration the registry takes in and never answers, and succeeds on the next attempt', async () => {
    const requests: string[] = [];
    let posts = 0;
    const url = await registryServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      if (req.method === 'GET') return json(res, 404, { error_code: 40401, message: 'Subject not found.' });
      if (req.method === 'POST') return ++posts === 1 ? false : json(res, 200, { id: 7 });
      return json(res, 200, { compatibility: 'BACKWARD' });
    });
    const codec = createRegistryCodec(url, { requestTimeoutMs: 300 });

    await expect(codec.register('t-value', 'Reading')).resolves.toBe(7);
    expect(requests).toEqual([
      'GET /config/t-value',
      'POST /subjects/t-value/versions',
      'GET /config/t-value',
      'POST /subjects/t-value/versions',
      'PUT /config/t-value',
    ]);
  });

  it('reports a registry that never answers as unavailable, naming the deadline, for registrations and schema lookups', async () => {
    const url = await registryServer(() => false);
    const codec = createRegistryCodec(url, { requestTimeoutMs: 200 });

    const registering = codec.register('t-value', 'Reading');
    await expect(registering).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(registering).rejects.toThrow(`Schema registry is not reachable at ${url}: a request got no answer within 200 ms`);

    const framed = Buffer.from([0, 0, 0, 0, 42, 0]);
    await expect(codec.decode('Reading', framed)).rejects.toThrow(/a request got no answer within 200 ms/);
  });
});
