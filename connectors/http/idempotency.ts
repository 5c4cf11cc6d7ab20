/**
 * The `Idempotency-Key` request header (IETF draft-ietf-httpapi-idempotency-key-header): a client
 * that got no answer retries with the same key and receives the first answer instead of causing a
 * second write. Keys are scoped per organisation and kept in Redis: while the first request runs
 * the key holds a short-lived claim, after a 202 it holds that answer for the retention time.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { BadInputError } from '../../core/errors.js';

/** An answer kept for replay. */
export interface StoredAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** What a claim on a key found. */
export type Claim =
  /** The key is this request's: finish with `complete` (keeps the answer) or `release` (forgets the key). */
  | {
      readonly kind: 'claimed';
      complete(answer: StoredAnswer): Promise<void>;
      release(): Promise<void>;
    }
  /** An earlier request with this key and body was answered; send its answer again. */
  | { readonly kind: 'replay'; readonly answer: StoredAnswer }
  /** An earlier request with this key and body is still running. */
  | { readonly kind: 'in-progress' }
  /** The key was used for a different request (another body or endpoint). */
  | { readonly kind: 'mismatch' };

export interface IdempotencyStore {
  /**
   * Claims `key` within `scope` (the organisation) for a request whose method, URL and body hash
   * to `fingerprint`, or reports what an earlier request with the key left.
   * @throws when Redis cannot be reached.
   */
  claim(scope: string, key: string, fingerprint: string): Promise<Claim>;
}

/** Options of {@link createIdempotencyStore}. */
export interface IdempotencyStoreOptions {
  readonly redis: Redis;
  /** Prefix of the Redis keys, e.g. `meterflux:http:`. */
  readonly keyPrefix: string;
  /** How long an answer is kept for replay. */
  readonly retentionMs: number;
  /**
   * How long a claim lasts if its request never finishes (a crash); a retry after that is
   * processed again, and the records' idempotency keys let decode drop the repeat.
   */
  readonly claimMs: number;
}

type Entry =
  | { readonly state: 'claimed'; readonly fingerprint: string; readonly claimId: string }
  | { readonly state: 'done'; readonly fingerprint: string; readonly answer: StoredAnswer };

// Each runs atomically in Redis, so two concurrent requests with one key cannot both claim it, and a
// request whose claim lapsed and was taken over cannot overwrite or delete the new owner's entry.
const CLAIM = "local current = redis.call('GET', KEYS[1]) if current then return current end " +
  "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return false";
const COMPLETE = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end return 0";
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 0";

const KEY_SYNTAX = /^[\x21-\x7e]{1,255}$/;

/**
 * The key of an `Idempotency-Key` header: 1 to 255 visible ASCII characters, optionally in double
 * quotes as the draft's structured-field string; undefined when the header is absent.
 * @throws {BadInputError} `INVALID_HEADER` for any other value.
 */
export function idempotencyKeyOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const key = /^".*"$/.test(header) ? header.slice(1, -1) : header;
  if (KEY_SYNTAX.test(key)) return key;
  throw new BadInputError(
    `Idempotency-Key must be 1 to 255 visible ASCII characters, got ${header.length} characters`,
    { reason: 'INVALID_HEADER' },
  );
}

/** The Redis-backed store. */
export function createIdempotencyStore(options: IdempotencyStoreOptions): IdempotencyStore {
  const { redis, retentionMs, claimMs } = options;

  return {
    async claim(scope, key, fingerprint) {
      const redisKey = `${options.keyPrefix}idempotency:${scope}:${createHash('sha256').update(key).digest('hex')}`;
      const mine = JSON.stringify({ state: 'claimed', fingerprint, claimId: randomUUID() } satisfies Entry);
      const found = await redis.eval(CLAIM, 1, redisKey, mine, claimMs);
      if (typeof found !== 'string') {
        return {
          kind: 'claimed',
          async complete(answer) {
            const done = JSON.stringify({ state: 'done', fingerprint, answer } satisfies Entry);
            await redis.eval(COMPLETE, 1, redisKey, mine, done, retentionMs);
          },
          async release() {
            await redis.eval(RELEASE, 1, redisKey, mine);
          },
        };
      }
      const entry = JSON.parse(found) as Entry;
      if (entry.fingerprint !== fingerprint) return { kind: 'mismatch' };
      return entry.state === 'done' ? { kind: 'replay', answer: entry.answer } : { kind: 'in-progress' };
    },
  };
}
