/**
 * Avro values in the Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary.
 * Schemas are registered under TopicNameStrategy (`<topic>-value`) with BACKWARD compatibility in
 * any Confluent-compatible registry (locally Apicurio's ccompat API).
 */
import { SchemaRegistry, SchemaType, COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import type avro from 'avsc';
import { DecodeError, SchemaValidationError, ServiceUnavailableError, TransientError } from '../errors.js';
import { AVRO_TYPE_OPTIONS, avroType, recordSchema, validateRecord, type RecordName } from '../../schemas/avro/index.js';
import type { RecordTypes } from '../../schemas/avro/index.js';

const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

/** A decoded value with the id of the schema it was written with. */
export interface DecodedValue<R extends RecordName> {
  readonly schemaId: number;
  readonly value: RecordTypes[R];
}

/** Encodes and decodes record values for topics; one per process, shared by producers and consumers. */
export interface RegistryCodec {
  /**
   * Registers the record's schema under `subject` (idempotent: the same schema returns the same id)
   * and remembers the id for {@link encode}. Throws {@link SchemaValidationError}-free
   * `TransientError` with code `SCHEMA_INCOMPATIBLE` when the registry refuses the schema.
   */
  register(subject: string, record: RecordName): Promise<number>;
  /**
   * Validates `value` against the record schema (throws {@link SchemaValidationError} naming every bad
   * field path) and encodes it with the id registered for `subject`.
   */
  encode<R extends RecordName>(subject: string, record: R, value: RecordTypes[R]): Buffer;
  /**
   * Encodes a value that typed code built (a stream worker's output) with a lighter check than
   * {@link encode}: every field must still hold a value of its Avro type (what keeps the encoder from
   * writing wrong bytes; a failure throws the same {@link SchemaValidationError} with paths), but
   * fields the record does not declare are not looked for: the encoding drops them, and TypeScript
   * already refuses them in the code that built the value. Data entering from outside goes
   * through {@link encode}.
   */
  encodeOutput<R extends RecordName>(subject: string, record: R, value: RecordTypes[R]): Buffer;
  /**
   * Decodes a framed value into the CURRENT reader schema of `record` (resolving from the writer's
   * schema, so older records written under BACKWARD-compatible versions still read). Throws
   * {@link DecodeError} with reason WRONG_MAGIC_BYTE, TRUNCATED, UNKNOWN_SCHEMA_ID, TRAILING_DATA or
   * INVALID_AVRO for bytes that will never decode, and TransientError when the registry is unreachable.
   */
  decode<R extends RecordName>(record: R, bytes: Buffer | null): Promise<DecodedValue<R>>;
}

/** Reads the schema id of a framed value, or throws the {@link DecodeError} saying why it is not one. */
export function readSchemaId(bytes: Buffer | null): number {
  if (bytes === null || bytes.length === 0) {
    throw new DecodeError('TRUNCATED', 'value is empty: expected magic byte 0, a 4-byte schema id and Avro data');
  }
  if (bytes[0] !== MAGIC_BYTE) {
    throw new DecodeError('WRONG_MAGIC_BYTE', `magic byte: expected 0x00, got 0x${bytes[0]!.toString(16).padStart(2, '0')}`);
  }
  if (bytes.length < HEADER_BYTES) {
    throw new DecodeError('TRUNCATED', `value has ${bytes.length} bytes: the header alone needs ${HEADER_BYTES}`);
  }
  return bytes.readUInt32BE(1);
}

function frame(schemaId: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out[0] = MAGIC_BYTE;
  out.writeUInt32BE(schemaId, 1);
  body.copy(out, HEADER_BYTES);
  return out;
}

function httpStatus(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number') return err.status;
  return undefined;
}

/** How long one registry request may go unanswered before it is abandoned: 10 s. */
export const REGISTRY_REQUEST_TIMEOUT_MS = 10_000;

type RegistryMiddleware = NonNullable<NonNullable<ConstructorParameters<typeof SchemaRegistry>[0]>['middlewares']>[number];

/**
 * Gives every registry request a deadline, after which its connection is closed and the request
 * fails. Without one, a request the registry never answers waits forever: Apicurio 3.3 was seen to
 * take in a POST on a kept-alive connection (every byte acknowledged) and never answer it, which
 * stalled a process's start for good.
 */
function requestDeadline(timeoutMs: number): RegistryMiddleware {
  return () => ({
    async prepareRequest(next) {
      return (await next()).enhance({ timeout: timeoutMs });
    },
  });
}

/** The client library reports an abandoned request as a status-400 error carrying mappersmith's "Timeout (N ms)". */
function isTimeout(err: unknown): boolean {
  return httpStatus(err) === 400 && err instanceof Error && /\bTimeout \(\d+ms\)/.test(err.message);
}

/** Options of {@link createRegistryCodec}. */
export interface RegistryCodecOptions {
  /** Deadline of each registry request; {@link REGISTRY_REQUEST_TIMEOUT_MS} when omitted. */
  readonly requestTimeoutMs?: number;
}

/** Creates the codec for the registry at `url` (the Confluent API base, e.g. `…/apis/ccompat/v7`). */
export function createRegistryCodec(url: string, { requestTimeoutMs = REGISTRY_REQUEST_TIMEOUT_MS }: RegistryCodecOptions = {}): RegistryCodec {
  const registry = new SchemaRegistry(
    { host: url, retry: { retries: 3, initialRetryTimeInSecs: 0.2 }, middlewares: [requestDeadline(requestTimeoutMs)] },
    { [SchemaType.AVRO]: AVRO_TYPE_OPTIONS },
  );
  const unanswered = (cause: unknown): ServiceUnavailableError =>
    new ServiceUnavailableError({
      service: 'Schema registry',
      address: url,
      cause,
      detail: `a request got no answer within ${requestTimeoutMs} ms`,
      hint: "The request was abandoned; see the registry's log and load.",
    });
  const idsBySubject = new Map<string, number>();
  // `resolver` is undefined when the writer's schema is the reader's: decoding then skips resolution.
  const resolvers = new Map<string, Promise<{ reader: avro.Type; resolver: avro.Resolver | undefined }>>();

  async function writerType(schemaId: number): Promise<avro.Type> {
    try {
      return (await registry.getSchema(schemaId)) as unknown as avro.Type;
    } catch (err) {
      const status = httpStatus(err);
      if (status === 404) {
        throw new DecodeError('UNKNOWN_SCHEMA_ID', `schema id ${schemaId} is not in the registry`, { cause: err });
      }
      if (isTimeout(err)) throw unanswered(err);
      if (status === undefined) throw new ServiceUnavailableError({ service: 'Schema registry', address: url, cause: err });
      throw new TransientError(`schema registry answered ${status} for schema id ${schemaId}`, { cause: err, code: 'REGISTRY_ERROR' });
    }
  }

  function registeredId(subject: string): number {
    const schemaId = idsBySubject.get(subject);
    if (schemaId === undefined) {
      throw new TransientError(`no schema registered for ${subject} in this process: call register() first`, {
        code: 'SCHEMA_NOT_REGISTERED',
      });
    }
    return schemaId;
  }

  function resolverFor(record: RecordName, schemaId: number) {
    const cacheKey = `${record}:${schemaId}`;
    let entry = resolvers.get(cacheKey);
    if (!entry) {
      entry = writerType(schemaId).then((writer) => {
        const reader = avroType(record);
        try {
          return { reader, resolver: reader.equals(writer) ? undefined : reader.createResolver(writer) };
        } catch (cause) {
          throw new DecodeError('INCOMPATIBLE_SCHEMA', `schema id ${schemaId} cannot be read as ${record}`, { cause });
        }
      });
      // A failed lookup must not be cached: the registry may be back on the next message.
      entry.catch(() => resolvers.delete(cacheKey));
      resolvers.set(cacheKey, entry);
    }
    return entry;
  }

  return {
    async register(subject, record) {
      const attempt = async (): Promise<number> => {
        const { id } = await registry.register(
          { type: SchemaType.AVRO, schema: JSON.stringify(recordSchema(record)) },
          { subject, compatibility: COMPATIBILITY.BACKWARD },
        );
        return id;
      };
      try {
        let id: number;
        try {
          id = await attempt();
        } catch {
          // Processes starting together register the same new subject at the same moment, and the
          // registry may refuse the second one's compatibility rule as already existing. Registering
          // is idempotent (the same schema gets the same id), so one more attempt settles it; a
          // real refusal fails the same way again and is reported below.
          await new Promise((resolve) => setTimeout(resolve, 200));
          id = await attempt();
        }
        idsBySubject.set(subject, id);
        return id;
      } catch (err) {
        if (isTimeout(err)) throw unanswered(err);
        const status = httpStatus(err);
        if (status === 409) {
          throw new TransientError(`the registry refused ${record} under ${subject}: not BACKWARD compatible with the registered versions`, {
            cause: err,
            code: 'SCHEMA_INCOMPATIBLE',
            context: { subject },
          });
        }
        if (status === undefined && !(err instanceof Error && err.name.startsWith('ConfluentSchemaRegistry'))) {
          throw new ServiceUnavailableError({ service: 'Schema registry', address: url, cause: err });
        }
        throw err;
      }
    },

    encode(subject, record, value) {
      const schemaId = registeredId(subject);
      const check = validateRecord(record, value);
      if (!check.ok) throw new SchemaValidationError(check.issues, { record, context: { subject } });
      return frame(schemaId, avroType(record).toBuffer(value));
    },

    encodeOutput(subject, record, value) {
      const schemaId = registeredId(subject);
      let body: Buffer;
      try {
        // avsc's writer refuses every value that is not of its field's type, so one pass both checks and encodes.
        body = avroType(record).toBuffer(value);
      } catch {
        const check = validateRecord(record, value);
        throw new SchemaValidationError(check.ok ? [] : check.issues, { record, context: { subject } });
      }
      return frame(schemaId, body);
    },

    async decode(record, bytes) {
      const schemaId = readSchemaId(bytes);
      const { resolver, reader } = await resolverFor(record, schemaId);
      const body = bytes!.subarray(HEADER_BYTES);
      let decoded: { value: unknown; offset: number };
      try {
        decoded = reader.decode(body, 0, resolver);
      } catch (cause) {
        throw new DecodeError('INVALID_AVRO', `value is not valid Avro for ${record} (schema id ${schemaId})`, { cause });
      }
      if (decoded.offset < 0) {
        throw new DecodeError('TRUNCATED', `truncated buffer: ${body.length} bytes of Avro data end inside a ${record}`);
      }
      if (decoded.offset !== body.length) {
        throw new DecodeError('TRAILING_DATA', `trailing data: ${body.length - decoded.offset} bytes after the ${record}`);
      }
      // The resolver read it with the reader type of `record`, which is what the caller's R names.
      return { schemaId, value: decoded.value as never };
    },
  };
}
