/**
 * Where export files land: a directory, or a bucket of an S3-compatible object store. A put is
 * atomic and idempotent: a reader sees the whole file or none, and putting the same name again
 * replaces it with the same bytes (a resumed export rewrites what it may have written before).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BadInputError, ServiceUnavailableError, TransientError } from '../../core/errors.js';
import { signRequest, type SigV4Credentials } from './sigv4.js';

/** A place to put export files. */
export interface Destination {
  /** `directory /var/billing` or `s3 http://host:9000/bucket/prefix/`, for logs. */
  readonly description: string;
  /**
   * Writes `content` durably as `name` and returns where it is (`file:` or `s3:` URL).
   * @throws a retriable error when the store cannot be reached or fails; the exporter tries again.
   */
  put(name: string, content: Buffer): Promise<string>;
}

/**
 * Files in `directory`: written to a temporary name in the same directory, fsynced, renamed over
 * the final name, and the directory fsynced, so a crash leaves either the old state or the whole
 * new file, never a torn one.
 */
export function createDirectoryDestination(directory: string): Destination {
  const root = resolve(directory);
  return {
    description: `directory ${root}`,
    async put(name, content) {
      if (name.includes('/') || name.startsWith('.')) throw new BadInputError(`expected a plain file name, got "${name}"`, { reason: 'BAD_FILE_NAME' });
      await mkdir(root, { recursive: true });
      const final = join(root, name);
      const temporary = join(root, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
      try {
        const file = await open(temporary, 'w', 0o640);
        try {
          await file.writeFile(content);
          await file.sync();
        } finally {
          await file.close();
        }
        await rename(temporary, final);
      } catch (err) {
        await rm(temporary, { force: true });
        throw new TransientError(`writing ${final} failed: ${(err as Error).message}`, { cause: err, code: 'EXPORT_WRITE_FAILED' });
      }
      const dir = await open(root, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
      return pathToFileURL(final).toString();
    },
  };
}

/** Options of {@link createS3Destination}. */
export interface S3DestinationOptions {
  /**
   * Bucket URL in path style, with an optional key prefix: `https://s3.eu-central-1.amazonaws.com/bucket/billing/`
   * or `http://127.0.0.1:9000/bucket/`.
   */
  readonly url: string;
  readonly credentials: SigV4Credentials;
  /** @default Date */
  readonly now?: () => Date;
  /** @default 30000 */
  readonly timeoutMs?: number;
}

/**
 * Objects in an S3-compatible bucket, written with one signed `PUT` (AWS Signature Version 4, the
 * payload's SHA-256 signed, so the store refuses a body altered on the way). S3 makes an object
 * visible only once its PUT completed, which gives the atomicity.
 */
export function createS3Destination(options: S3DestinationOptions): Destination {
  const base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
  const [bucket = '', ...prefix] = base.pathname.slice(1).split('/');
  if (bucket === '') throw new BadInputError(`expected an S3 URL with a bucket in its path, got "${options.url}"`, { reason: 'BAD_S3_URL' });
  const now = options.now ?? (() => new Date());
  return {
    description: `s3 ${base.origin}/${bucket}/${prefix.join('/')}`,
    async put(name, content) {
      const key = `${prefix.join('/')}${name}`;
      const url = new URL(`/${bucket}/${key}`, base);
      const payloadSha256 = createHash('sha256').update(content).digest('hex');
      const signed = signRequest({
        method: 'PUT', url, payloadSha256, now: now(),
        headers: { 'content-type': name.endsWith('.xml') ? 'application/xml' : name.endsWith('.csv') ? 'text/csv' : 'text/plain', 'content-length': String(content.length) },
      }, options.credentials);
      let response: Response;
      try {
        response = await fetch(url, { method: 'PUT', headers: signed.headers, body: Uint8Array.from(content), signal: AbortSignal.timeout(options.timeoutMs ?? 30_000) });
      } catch (err) {
        throw new ServiceUnavailableError({ service: 'S3 bucket', address: `${base.origin}/${bucket}`, cause: err, hint: 'Check BILLING_S3_URL and that the object store is up.' });
      }
      if (!response.ok) {
        const body = (await response.text()).slice(0, 500);
        throw new TransientError(`PUT ${url.pathname} answered ${response.status}: ${body}`, { code: 'S3_PUT_FAILED', context: { status: response.status } });
      }
      await response.body?.cancel();
      return `s3://${bucket}/${key}`;
    },
  };
}
