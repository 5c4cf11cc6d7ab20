import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiHarness, type ApiHarness } from '../testing/harness.js';

let harness: ApiHarness;

beforeAll(async () => {
  harness = await startApiHarness({ label: 'api-server' });
}, 120_000);

afterAll(async () => {
  await harness?.stop();
});

describe('the API server', () => {
  it('answers a query over HTTP for a valid token and refuses a request without one with 401 UNAUTHENTICATED', async () => {
    const org = await harness.organisation('Vodokanal');
    const { secret } = await harness.token(org, ['read']);

    const ok = await harness.query(secret, '{ viewer { organisation { id name } scopes } }');
    expect(ok.status).toBe(200);
    expect(ok.body.data).toEqual({ viewer: { organisation: { id: org, name: 'Vodokanal' }, scopes: ['READ'] } });

    const anonymous = await harness.query(undefined, '{ viewer { tokenId } }');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses revoked and expired tokens', async () => {
    const org = await harness.organisation();
    const revoked = await harness.token(org, ['read']);
    await harness.db.query('UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [revoked.id]);
    const expired = await harness.token(org, ['read'], { expiresAt: new Date(Date.now() - 1000) });

    for (const secret of [revoked.secret, expired.secret, 'mf_not-a-token']) {
      const answer = await harness.query(secret, '{ viewer { tokenId } }');
      expect(answer.status).toBe(401);
      expect(answer.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  it('runs queries over graphql-ws with the token in connection_init, and closes the socket 4401 without one', async () => {
    const org = await harness.organisation();
    const { secret } = await harness.token(org, ['read']);
    const client = createClient({ url: harness.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${secret}` }, retryAttempts: 0 });
    try {
      const result = await new Promise<unknown>((resolve, reject) => {
        client.subscribe({ query: '{ viewer { organisation { id } } }' }, { next: resolve, error: reject, complete: () => undefined });
      });
      expect(result).toEqual({ data: { viewer: { organisation: { id: org } } } });
    } finally {
      await client.dispose();
    }

    const anonymous = createClient({ url: harness.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => {
      anonymous.on('closed', (event) => resolve(event as { code: number; reason: string }));
    });
    await anonymous.dispose();
    expect(closed.code).toBe(4401);
    expect(closed.reason).toContain('UNAUTHENTICATED');
  });

  it('refuses operations deeper than the limit with QUERY_TOO_COMPLEX before running them', async () => {
    const org = await harness.organisation();
    const { secret } = await harness.token(org, ['read']);
    const deep = '{ devices { edges { node { site { devices { edges { node { site { devices { edges { node { site { devices { edges { node { id } } } } } } } } } } } } } } } }';
    const answer = await harness.query(secret, deep);
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });
});
