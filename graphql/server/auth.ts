/**
 * Bearer tokens. HTTP requests send `Authorization: Bearer <secret>`; graphql-ws clients send
 * `{ "authorization": "Bearer <secret>" }` (or `{ "token": "<secret>" }`) as the `connection_init`
 * payload. `api_tokens` keeps only the SHA-256 of the secret's UTF-8 bytes, the same format the
 * HTTP ingest connector verifies, with organisation, scopes, expiry, revocation and (0006) the
 * access groups the token is limited to.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { SCOPES, type AuthContext, type Scope } from './context.js';
import { forbidden, unauthenticated } from './errors.js';

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The secret of an `Authorization: Bearer <secret>` header (RFC 6750 token68), or undefined. */
export function bearerSecret(header: string | undefined): string | undefined {
  return header === undefined ? undefined : BEARER.exec(header)?.[1];
}

/** The SHA-256 of a secret's UTF-8 bytes, as stored in `api_tokens.secret_sha256`. */
export function secretHash(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** A new token secret: `mf_` and 32 random bytes in base64url (256 bits). */
export function newSecret(): string {
  return `mf_${randomBytes(32).toString('base64url')}`;
}

/** The secret a graphql-ws `connection_init` payload carries, or undefined. */
export function connectionSecret(payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const fields = payload as Record<string, unknown>;
  const header = fields['authorization'] ?? fields['Authorization'];
  if (typeof header === 'string') return bearerSecret(header);
  const token = fields['token'];
  return typeof token === 'string' && token !== '' ? token : undefined;
}

/** One token as stored. */
export interface TokenRow {
  readonly id: string;
  readonly organisationId: string;
  readonly scopes: readonly string[];
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  readonly accessGroupIds: readonly string[];
}

/**
 * What a token allows at `now`.
 *
 * @throws GraphQLError `UNAUTHENTICATED` for a missing, unknown, revoked or expired token.
 */
export function authFor(row: TokenRow | undefined, now: Date): AuthContext {
  if (row === undefined) throw unauthenticated('the bearer token is not known');
  if (row.revokedAt !== null && row.revokedAt <= now) throw unauthenticated('the bearer token was revoked');
  if (row.expiresAt !== null && row.expiresAt <= now) throw unauthenticated('the bearer token has expired');
  return {
    tokenId: row.id,
    organisationId: row.organisationId,
    scopes: new Set(row.scopes.filter((scope): scope is Scope => (SCOPES as readonly string[]).includes(scope))),
    accessGroupIds: row.accessGroupIds.length === 0 ? null : [...row.accessGroupIds].sort(),
  };
}

/** Finds the token of a secret in PostgreSQL; undefined when none matches. */
export async function findToken(pool: Pool, secret: string): Promise<TokenRow | undefined> {
  const { rows } = await pool.query<{
    id: string;
    organisation_id: string;
    scopes: string[];
    expires_at: Date | null;
    revoked_at: Date | null;
    groups: string[];
  }>(
    `SELECT t.id, t.organisation_id, t.scopes, t.expires_at, t.revoked_at,
            COALESCE(array_agg(g.access_group_id) FILTER (WHERE g.access_group_id IS NOT NULL), '{}') AS groups
       FROM api_tokens t LEFT JOIN api_token_access_groups g ON g.token_id = t.id
      WHERE t.secret_sha256 = $1
      GROUP BY t.id`,
    [secretHash(secret)],
  );
  const row = rows[0];
  if (row === undefined) return undefined;
  return {
    id: row.id,
    organisationId: row.organisation_id,
    scopes: row.scopes,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    accessGroupIds: row.groups,
  };
}

/**
 * Authenticates a secret against PostgreSQL. Tokens are looked up on every HTTP request and every
 * subscription start, so a revocation takes effect at once.
 *
 * @throws GraphQLError `UNAUTHENTICATED`.
 */
export async function authenticate(pool: Pool, secret: string | undefined, now = new Date()): Promise<AuthContext> {
  if (secret === undefined) throw unauthenticated('send "Authorization: Bearer <token>"');
  return authFor(await findToken(pool, secret), now);
}

/**
 * Scope check for a resolver: `read` for queries and subscriptions, `write` for data edits,
 * `admin` for tokens and access groups. `admin` implies `write`, and `write` implies `read`;
 * `ingest` implies nothing here (it is for pushing data to the ingest connector).
 *
 * @throws GraphQLError `FORBIDDEN` naming the scope needed.
 */
export function requireScope(auth: AuthContext, scope: 'read' | 'write' | 'admin'): void {
  const implied: Record<typeof scope, readonly Scope[]> = {
    read: ['read', 'write', 'admin'],
    write: ['write', 'admin'],
    admin: ['admin'],
  };
  if (!implied[scope].some((held) => auth.scopes.has(held))) {
    throw forbidden(`this needs a token with the "${scope}" scope; this token has [${[...auth.scopes].join(', ')}]`);
  }
}
