import { createHash } from 'node:crypto';
import { GraphQLError } from 'graphql/index.js';
import { describe, expect, it } from 'vitest';
import { authFor, bearerSecret, connectionSecret, newSecret, requireScope, secretHash, type TokenRow } from './auth.js';

const row = (over: Partial<TokenRow> = {}): TokenRow => ({
  id: 'tok-1',
  organisationId: 'org-1',
  scopes: ['read'],
  expiresAt: null,
  revokedAt: null,
  accessGroupIds: [],
  ...over,
});
const now = new Date('2026-03-01T00:00:00Z');

function codeOf(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err instanceof GraphQLError ? err.extensions['code'] : err;
  }
  return undefined;
}

describe('tokens', () => {
  it('hash secrets as the HTTP ingest connector does: SHA-256 of the UTF-8 bytes', () => {
    expect(secretHash('mf_abc')).toEqual(createHash('sha256').update('mf_abc').digest());
  });

  it('make 256-bit secrets that are valid bearer tokens', () => {
    const secret = newSecret();
    expect(secret).toMatch(/^mf_[A-Za-z0-9_-]{43}$/);
    expect(bearerSecret(`Bearer ${secret}`)).toBe(secret);
  });

  it('read the secret from an Authorization header or a connection_init payload', () => {
    expect(bearerSecret('bearer abc')).toBe('abc');
    expect(bearerSecret('Basic abc')).toBeUndefined();
    expect(bearerSecret(undefined)).toBeUndefined();
    expect(connectionSecret({ authorization: 'Bearer abc' })).toBe('abc');
    expect(connectionSecret({ Authorization: 'Bearer abc' })).toBe('abc');
    expect(connectionSecret({ token: 'abc' })).toBe('abc');
    expect(connectionSecret(null)).toBeUndefined();
    expect(connectionSecret({ token: 3 })).toBeUndefined();
  });

  it('refuse unknown, revoked and expired tokens as UNAUTHENTICATED', () => {
    expect(codeOf(() => authFor(undefined, now))).toBe('UNAUTHENTICATED');
    expect(codeOf(() => authFor(row({ revokedAt: new Date('2026-02-01') }), now))).toBe('UNAUTHENTICATED');
    expect(codeOf(() => authFor(row({ expiresAt: now }), now))).toBe('UNAUTHENTICATED');
    expect(codeOf(() => authFor(row({ expiresAt: new Date('2026-04-01'), revokedAt: new Date('2026-05-01') }), now))).toBeUndefined();
  });

  it('grant the organisation, known scopes and access groups (none meaning the whole organisation)', () => {
    const whole = authFor(row({ scopes: ['read', 'bogus'] }), now);
    expect(whole).toMatchObject({ organisationId: 'org-1', accessGroupIds: null });
    expect([...whole.scopes]).toEqual(['read']);
    expect(authFor(row({ accessGroupIds: ['g2', 'g1'] }), now).accessGroupIds).toEqual(['g1', 'g2']);
  });

  it('imply read from write and write from admin, and nothing from ingest', () => {
    const auth = (scopes: string[]) => authFor(row({ scopes }), now);
    expect(codeOf(() => requireScope(auth(['admin']), 'read'))).toBeUndefined();
    expect(codeOf(() => requireScope(auth(['write']), 'read'))).toBeUndefined();
    expect(codeOf(() => requireScope(auth(['write']), 'admin'))).toBe('FORBIDDEN');
    expect(codeOf(() => requireScope(auth(['read']), 'write'))).toBe('FORBIDDEN');
    expect(codeOf(() => requireScope(auth(['ingest']), 'read'))).toBe('FORBIDDEN');
  });
});
