import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bearerSecret, secretHash, verdictFor, type TokenRecord } from './auth.js';

describe('bearerSecret', () => {
  const cases: Array<[string | undefined, string | undefined]> = [
    ['Bearer mf_abc-DEF.123~+/=', 'mf_abc-DEF.123~+/='],
    ['bearer abc', 'abc'],
    ['Bearer   abc  ', 'abc'],
    [undefined, undefined],
    ['Bearer', undefined],
    ['Bearer ', undefined],
    ['Basic dXNlcjpwYXNz', undefined],
    ['Bearer two words', undefined],
    ['Bearer abc=def', undefined],
    ['abc', undefined],
  ];
  for (const [header, secret] of cases) {
    it(`takes ${secret === undefined ? 'no secret' : `"${secret}"`} from ${header === undefined ? 'no header' : `"${header}"`}`, () => {
      expect(bearerSecret(header)).toBe(secret);
    });
  }
});

describe('verdictFor', () => {
  const now = Date.parse('2026-03-29T10:00:00Z');
  const token: TokenRecord = { id: 'tok-1', organisationId: 'org-1', scopes: ['read', 'ingest'], expiresAt: null, revokedAt: null };
  const cases: Array<[string, TokenRecord | undefined, string, string?]> = [
    ['a valid ingest token', token, 'granted'],
    ['a token that expires later', { ...token, expiresAt: now + 1 }, 'granted'],
    ['a revocation scheduled for later', { ...token, revokedAt: now + 1 }, 'granted'],
    ['no token', undefined, 'unauthenticated', 'not known'],
    ['an expired token', { ...token, expiresAt: now }, 'unauthenticated', 'expired at 2026-03-29T10:00:00.000Z'],
    ['a revoked token', { ...token, revokedAt: now - 1 }, 'unauthenticated', 'revoked at'],
    ['a revoked token without the scope', { ...token, scopes: ['read'], revokedAt: now - 1 }, 'unauthenticated', 'revoked'],
    ['a token without the ingest scope', { ...token, scopes: ['read', 'write'] }, 'forbidden', 'scopes [read, write]'],
  ];
  for (const [name, record, kind, message] of cases) {
    it(`answers ${kind} for ${name}`, () => {
      const verdict = verdictFor(record, now);
      expect(verdict.kind).toBe(kind);
      if (verdict.kind === 'granted') expect(verdict.grant).toEqual({ tokenId: 'tok-1', organisationId: 'org-1' });
      else expect(verdict.message).toContain(message);
    });
  }
});

it('hashes a secret as the SHA-256 of its UTF-8 bytes, as api_tokens.secret_sha256 stores it', () => {
  expect(secretHash('mf_ü').toString('hex')).toBe(createHash('sha256').update(Buffer.from('mf_ü', 'utf8')).digest('hex'));
  expect(secretHash('mf_ü')).toHaveLength(32);
});
