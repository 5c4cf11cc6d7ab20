/**
 * Bearer tokens. A client sends `Authorization: Bearer <secret>`; the registry keeps only the
 * SHA-256 of each secret (`api_tokens.secret_sha256`), with its organisation, scopes, expiry and
 * revocation. Lookups read through a Redis cache, so a busy gateway does not cost a database
 * round trip per request.
 */
import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/log.js';

/** The scope a token needs to push data. */
export const INGEST_SCOPE = 'ingest';

/** One row of `api_tokens`, as the connector needs it. */
export interface TokenRecord {
  readonly id: string;
  readonly organisationId: string;
  readonly scopes: readonly string[];
  /** Epoch ms; null when the token does not expire. */
  readonly expiresAt: number | null;
  /** Epoch ms; null while the token is valid. */
  readonly revokedAt: number | null;
}

/** What a request may do, from its token. */
export interface TokenGrant {
  readonly tokenId: string;
  readonly organisationId: string;
}

/** The answer to a token: go ahead, 401 (who are you?) or 403 (not allowed to ingest). */
export type TokenVerdict =
  | { readonly kind: 'granted'; readonly grant: TokenGrant }
  | { readonly kind: 'unauthenticated'; readonly message: string }
  | { readonly kind: 'forbidden'; readonly message: string };

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The secret of an `Authorization: Bearer <secret>` header (RFC 6750 token68 syntax), or undefined. */
export function bearerSecret(header: string | undefined): string | undefined {
  return header === undefined ? undefined : BEARER.exec(header)?.[1];
}

/** The SHA-256 of a secret's UTF-8 bytes, as stored in `api_tokens.secret_sha256`. */
export function secretHash(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Decides what a token, found or not, allows at `nowMs`. */
export function verdictFor(record: TokenRecord | undefined, nowMs: number): TokenVerdict {
  if (record === undefined) return { kind: 'unauthenticated', message: 'the bearer token is not known' };
  if (record.revokedAt !== null && record.revokedAt <= nowMs) {
    return { kind: 'unauthenticated', message: `the bearer token was revoked at ${new Date(record.revokedAt).toISOString()}` };
  }
  if (record.expiresAt !== null && record.expiresAt <= nowMs) {
    return { kind: 'unauthenticated', message: `the bearer token expired at ${new Date(record.expiresAt).toISOString()}` };
  }
  if (!record.scopes.includes(INGEST_SCOPE)) {
    return {
      kind: 'forbidden',
      message: `the bearer token has scopes [${record.scopes.join(', ')}]; pushing data needs "${INGEST_SCOPE}"`,
    };
  }
  return { kind: 'granted', grant: { tokenId: record.id, organisationId: record.organisationId } };
}

/** Finds tokens by the hash of their secret. */
export interface TokenLookup {
  /**
   * The token whose secret hashes to `secretSha256`, or undefined when there is none.
   * @throws when PostgreSQL cannot be asked; a Redis failure only costs the cache.
   */
  find(secretSha256: Buffer): Promise<TokenRecord | undefined>;
}

/** Options of {@link createTokenLookup}. */
export interface TokenLookupOptions {
  readonly pool: Pool;
  readonly redis: Redis;
  /** Prefix of the cache keys, e.g. `meterflux:http:`. */
  readonly keyPrefix: string;
  /**
   * How long a found token stays cached; a revocation takes effect within this time. Unknown
   * secrets are not cached, so a new token works at once and random guesses cannot fill Redis.
   */
  readonly cacheTtlMs: number;
  readonly logger: Logger;
}

interface TokenRow {
  id: string;
  organisation_id: string;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
}

/** A read-through lookup: Redis first, then PostgreSQL, caching what PostgreSQL found. */
export function createTokenLookup(options: TokenLookupOptions): TokenLookup {
  const { pool, redis, cacheTtlMs, logger } = options;
  const cacheKey = (hash: Buffer) => `${options.keyPrefix}token:${hash.toString('hex')}`;

  async function cached(key: string): Promise<TokenRecord | undefined> {
    try {
      const text = await redis.get(key);
      return text === null ? undefined : (JSON.parse(text) as TokenRecord);
    } catch (err) {
      // The connection loss itself is logged once by the source; per request it is only noise.
      logger.debug({ err }, 'token cache unavailable; asking PostgreSQL');
      return undefined;
    }
  }

  return {
    async find(secretSha256) {
      const key = cacheKey(secretSha256);
      const hit = await cached(key);
      if (hit !== undefined) return hit;
      const { rows } = await pool.query<TokenRow>(
        'SELECT id, organisation_id, scopes, expires_at, revoked_at FROM api_tokens WHERE secret_sha256 = $1',
        [secretSha256],
      );
      const row = rows[0];
      if (row === undefined) return undefined;
      const record: TokenRecord = {
        id: row.id,
        organisationId: row.organisation_id,
        scopes: row.scopes,
        expiresAt: row.expires_at?.getTime() ?? null,
        revokedAt: row.revoked_at?.getTime() ?? null,
      };
      await redis.set(key, JSON.stringify(record), 'PX', cacheTtlMs).catch((err: unknown) => {
        logger.debug({ err }, 'could not cache a token');
      });
      return record;
    },
  };
}
