/**
 * The request fixtures of test/fixtures/http (format in its README.md), for the unit and the
 * integration tests, and a comparable view of the records a request produced.
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { RadioMetadata, RawUplink } from '../../../schemas/avro/index.js';
import type { UplinkDraft } from '../../kit/ingest.js';

const DIRECTORY = new URL('../../../test/fixtures/http/', import.meta.url);

/** One case: the body as bytes and what must come of it. */
export interface HttpFixture {
  readonly name: string;
  readonly description: string;
  readonly body: Buffer;
  readonly request: { readonly path: string; readonly contentType?: string; readonly idempotencyKey?: string };
  readonly status: number;
  readonly uplinks?: readonly ExpectedUplink[];
  readonly error?: { readonly code: string; readonly fields?: readonly string[] };
}

interface ExpectedUplink {
  readonly deviceId: string;
  readonly payloadFormat: string;
  readonly payloadHex?: string;
  readonly payloadText?: string;
  readonly payloadIsBody?: boolean;
  readonly deviceTimeAt: string | null;
  readonly radio: RadioMetadata | null;
  readonly idempotencyKey: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** What a test compares of a record: everything a fixture specifies, in one plain object. */
export interface UplinkView {
  readonly deviceId: string;
  readonly payloadFormat: string;
  readonly payloadHex: string;
  readonly deviceTimeAt: string | null;
  readonly radio: RadioMetadata | null;
  readonly idempotencyKey: string;
  readonly organisationId: string | null;
  readonly transport: string;
  readonly sourceAddress: string;
}

/** Every fixture, by name. */
export function loadHttpFixtures(): HttpFixture[] {
  return readdirSync(DIRECTORY)
    .filter((file) => file.endsWith('.expected.json'))
    .sort()
    .map((file) => {
      const name = file.slice(0, -'.expected.json'.length);
      const expected = JSON.parse(readFileSync(new URL(file, DIRECTORY), 'utf8')) as Omit<HttpFixture, 'name' | 'body'>;
      return { name, ...expected, body: readFileSync(new URL(`${name}.json`, DIRECTORY)) };
    });
}

/** The views a fixture expects, for the given organisation and request id (`{requestId}` in untimed keys). */
export function expectedViews(fixture: HttpFixture, organisationId: string, requestId: string): UplinkView[] {
  return (fixture.uplinks ?? []).map((uplink) => ({
    deviceId: uplink.deviceId,
    payloadFormat: uplink.payloadFormat,
    payloadHex: uplink.payloadIsBody === true
      ? fixture.body.toString('hex')
      : uplink.payloadText !== undefined ? Buffer.from(uplink.payloadText, 'utf8').toString('hex') : uplink.payloadHex ?? '',
    deviceTimeAt: uplink.deviceTimeAt,
    radio: uplink.radio,
    idempotencyKey: uplink.idempotencyKey.replaceAll('{organisationId}', organisationId).replaceAll('{requestId}', requestId),
    organisationId,
    transport: 'HTTP',
    sourceAddress: fixture.request.path,
  }));
}

/** The metadata subsets a fixture expects, in uplink order. */
export function expectedMetadata(fixture: HttpFixture): Array<Readonly<Record<string, string>>> {
  return (fixture.uplinks ?? []).map((uplink) => uplink.metadata ?? {});
}

/** The view of a draft handed to the ingest, or of a record read back from Kafka. */
export function viewOf(uplink: UplinkDraft | RawUplink): UplinkView {
  return {
    deviceId: uplink.deviceId,
    payloadFormat: uplink.payloadFormat,
    payloadHex: Buffer.from(uplink.payload).toString('hex'),
    deviceTimeAt: uplink.deviceTimeAt === null || uplink.deviceTimeAt === undefined ? null : new Date(uplink.deviceTimeAt).toISOString(),
    radio: uplink.radio ?? null,
    idempotencyKey: uplink.idempotencyKey,
    organisationId: uplink.organisationId ?? null,
    transport: uplink.transport,
    sourceAddress: uplink.sourceAddress,
  };
}
