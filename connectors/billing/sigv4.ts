/**
 * AWS Signature Version 4 for S3-compatible object stores, written from AWS's published
 * specification ("Authenticating Requests: Using the Authorization Header", S3 API reference):
 * canonical request → string to sign → HMAC chain of date, region, service and `aws4_request`.
 * Pure: the caller supplies the clock and the payload hash.
 */
import { createHash, createHmac } from 'node:crypto';

/** Credentials and scope of a signer. */
export interface SigV4Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** e.g. `us-east-1`; S3-compatible servers usually accept `us-east-1`. */
  readonly region: string;
  /** @default 's3' */
  readonly service?: string;
}

/** A request to sign. */
export interface SigV4Request {
  readonly method: string;
  readonly url: URL;
  /** Headers to sign besides `host`, `x-amz-date` and `x-amz-content-sha256`, which the signer adds. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`. */
  readonly payloadSha256: string;
  readonly now: Date;
}

/** The SHA-256 of an empty body, hex. */
export const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

/**
 * RFC 3986 encoding as SigV4 wants it: unreserved characters as they are, every other UTF-8 byte
 * as `%XX` (upper-case hex); `/` kept in paths.
 */
export function uriEncode(text: string, keepSlash: boolean): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(char) || (keepSlash && char === '/')) out += char;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function amzDate(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** The canonical request and the pieces the signature is built from, for tests and debugging. */
export interface SigV4Signature {
  /** Every header to send: the request's, plus `host`, `x-amz-date`, `x-amz-content-sha256`, `authorization`. */
  readonly headers: Record<string, string>;
  readonly canonicalRequest: string;
  readonly stringToSign: string;
  readonly signature: string;
}

/** Signs `request` with `credentials`: the headers to send with it. */
export function signRequest(request: SigV4Request, credentials: SigV4Credentials): SigV4Signature {
  const service = credentials.service ?? 's3';
  const timestamp = amzDate(request.now);
  const day = timestamp.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
  headers['host'] = request.url.host;
  headers['x-amz-date'] = timestamp;
  headers['x-amz-content-sha256'] = request.payloadSha256;

  const names = Object.keys(headers).sort();
  const canonicalHeaders = names.map((name) => `${name}:${headers[name]!.trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  // The URL parser already percent-encoded the path; decode it so every character is encoded exactly once.
  const path = uriEncode(decodeURIComponent(request.url.pathname), true) || '/';
  const query = [...request.url.searchParams]
    .map(([key, value]) => [uriEncode(key, false), uriEncode(value, false)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  const canonicalRequest = [request.method.toUpperCase(), path, query, canonicalHeaders, signedHeaders, request.payloadSha256].join('\n');

  const scope = `${day}/${credentials.region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', timestamp, scope, createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), credentials.region), service), 'aws4_request');
  const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  headers['authorization'] =
    `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { headers, canonicalRequest, stringToSign, signature };
}
