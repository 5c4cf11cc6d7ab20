import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDirectoryDestination, createS3Destination } from './destination.js';
import { EMPTY_SHA256, signRequest } from './sigv4.js';

// s3rver accepts the credentials S3RVER/S3RVER; it checks the access key id and the form of the
// SigV4 header and payload hash, not the signature itself (the signer's unit tests hold it to
// AWS's published examples).
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1' };
let server: S3rver;
let base: string;
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'meterflux-billing-dest-'));
  server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(scratch, 's3'), configureBuckets: [{ name: 'exports' }] });
  const { port } = await server.run();
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await server?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('the S3 destination', () => {
  it('puts the file with a signed PUT under the bucket prefix, byte for byte', async () => {
    const destination = createS3Destination({ url: `${base}/exports/billing/2026/`, credentials });
    const content = Buffer.from('ЛицевойСчет;Расход\r\n1001;12,500\r\n', 'utf8');
    expect(await destination.put('org_2026-03_1c-csv_001.csv', content)).toBe('s3://exports/billing/2026/org_2026-03_1c-csv_001.csv');

    const url = new URL(`${base}/exports/billing/2026/org_2026-03_1c-csv_001.csv`);
    const signed = signRequest({ method: 'GET', url, payloadSha256: EMPTY_SHA256, now: new Date() }, credentials);
    const response = await fetch(url, { headers: signed.headers });
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
  });

  it('replaces an object put again, so a resumed export leaves one file', async () => {
    const destination = createS3Destination({ url: `${base}/exports`, credentials });
    await destination.put('again.txt', Buffer.from('first'));
    await destination.put('again.txt', Buffer.from('second'));
    const url = new URL(`${base}/exports/again.txt`);
    const response = await fetch(url, { headers: signRequest({ method: 'GET', url, payloadSha256: EMPTY_SHA256, now: new Date() }, credentials).headers });
    expect(await response.text()).toBe('second');
  });

  it('fails with a retriable error naming the status when the store refuses the credentials', async () => {
    const destination = createS3Destination({ url: `${base}/exports/`, credentials: { ...credentials, accessKeyId: 'NOBODY' } });
    await expect(destination.put('x.txt', Buffer.from('x'))).rejects.toMatchObject({ retriable: true, code: 'S3_PUT_FAILED', message: expect.stringMatching(/answered 403.*InvalidAccessKeyId/s) });
  });

  it('fails with a retriable error when the store cannot be reached', async () => {
    const destination = createS3Destination({ url: 'http://127.0.0.1:9/exports/', credentials, timeoutMs: 2000 });
    await expect(destination.put('x.txt', Buffer.from('x'))).rejects.toMatchObject({ retriable: true, code: 'SERVICE_UNAVAILABLE' });
  });
});

describe('the directory destination', () => {
  it('writes the whole file under its name, leaves no temporary file, and replaces it when put again', async () => {
    const directory = join(scratch, 'dir', 'nested');
    const destination = createDirectoryDestination(directory);
    const location = await destination.put('a.csv', Buffer.from('one'));
    expect(fileURLToPath(location)).toBe(join(directory, 'a.csv'));
    await destination.put('a.csv', Buffer.from('two'));
    expect(await readdir(directory)).toEqual(['a.csv']);
    expect(createHash('sha256').update(await readFile(join(directory, 'a.csv'))).digest('hex')).toBe(createHash('sha256').update('two').digest('hex'));
  });

  it('refuses names that would leave the directory or hide as dot files', async () => {
    const destination = createDirectoryDestination(join(scratch, 'dir2'));
    await expect(destination.put('../escape.csv', Buffer.from('x'))).rejects.toMatchObject({ reason: 'BAD_FILE_NAME' });
    await expect(destination.put('.hidden', Buffer.from('x'))).rejects.toMatchObject({ reason: 'BAD_FILE_NAME' });
  });
});
