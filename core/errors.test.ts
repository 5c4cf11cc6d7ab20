import { describe, expect, it } from 'vitest';
import {
  BadInputError,
  ConfigError,
  DecodeError,
  errorMessage,
  isRetriable,
  MeterfluxError,
  PayloadError,
  PreflightError,
  SchemaValidationError,
  ServiceUnavailableError,
  TransientError,
} from './errors.js';

function refused(address: string): Error {
  return Object.assign(new Error(`connect ECONNREFUSED ${address}`), { syscall: 'connect', code: 'ECONNREFUSED' });
}

describe('error kinds', () => {
  it('marks transient errors retriable and bad input and config errors not', () => {
    expect(new TransientError('broker rebalancing').retriable).toBe(true);
    expect(new ServiceUnavailableError({ service: 'Kafka', address: 'h:1', detail: 'down' }).retriable).toBe(true);
    expect(new BadInputError('nope').retriable).toBe(false);
    expect(new DecodeError('TRUNCATED', 'truncated buffer').retriable).toBe(false);
    expect(new ConfigError(['X must be set']).retriable).toBe(false);
  });

  it('gives every kind a stable code and its class name as name', () => {
    const kinds: [MeterfluxError, string, string][] = [
      [new TransientError('t'), 'TRANSIENT', 'TransientError'],
      [new TransientError('t', { code: 'KAFKA_TIMEOUT' }), 'KAFKA_TIMEOUT', 'TransientError'],
      [new ServiceUnavailableError({ service: 'Redis', address: 'h:1', detail: 'd' }), 'SERVICE_UNAVAILABLE', 'ServiceUnavailableError'],
      [new BadInputError('b'), 'BAD_INPUT', 'BadInputError'],
      [new SchemaValidationError([]), 'SCHEMA_VALIDATION', 'SchemaValidationError'],
      [new DecodeError('WRONG_MAGIC_BYTE', 'd'), 'DECODE', 'DecodeError'],
      [new PayloadError({ field: 'f', problem: 'p' }), 'PAYLOAD', 'PayloadError'],
      [new ConfigError([]), 'CONFIG', 'ConfigError'],
    ];
    for (const [error, code, name] of kinds) {
      expect({ code: error.code, name: error.name }).toEqual({ code, name });
      expect(error).toBeInstanceOf(MeterfluxError);
      expect(error).toBeInstanceOf(Error);
    }
  });

  it('keeps the wrapped failure as the native cause', () => {
    const cause = new Error('socket hang up');
    const error = new TransientError('schema registry request failed', { cause });
    expect(error.cause).toBe(cause);
    expect('cause' in new TransientError('no cause')).toBe(false);
  });

  it('copies and freezes the context so later changes by the caller do not leak in', () => {
    const context = { topic: 'reading.v1', partition: 3 };
    const error = new BadInputError('bad', { context });
    context.partition = 4;
    expect(error.context).toEqual({ topic: 'reading.v1', partition: 3 });
    expect(Object.isFrozen(error.context)).toBe(true);
  });
});

describe('ServiceUnavailableError', () => {
  it('says which service is missing, where, why in short, and how to start it', () => {
    const error = new ServiceUnavailableError({ service: 'Kafka', address: '127.0.0.1:9092', cause: refused('127.0.0.1:9092') });
    expect(error.message).toBe(
      'Kafka is not reachable at 127.0.0.1:9092: connect ECONNREFUSED. Start the local stack with `make up`.',
    );
    expect({ service: error.service, address: error.address }).toEqual({ service: 'Kafka', address: '127.0.0.1:9092' });
  });

  it('uses an explicit detail and hint over the defaults', () => {
    const error = new ServiceUnavailableError({
      service: 'Schema registry',
      address: 'http://h:8081',
      detail: 'GET /subjects answered HTTP 404',
      hint: 'Check SCHEMA_REGISTRY_URL.',
    });
    expect(error.message).toBe('Schema registry is not reachable at http://h:8081: GET /subjects answered HTTP 404. Check SCHEMA_REGISTRY_URL.');
  });
});

describe('PreflightError', () => {
  it('puts one line per unavailable service in its message', () => {
    const error = new PreflightError([
      new ServiceUnavailableError({ service: 'Kafka', address: 'a:1', detail: 'x' }),
      new ServiceUnavailableError({ service: 'Redis', address: 'b:2', detail: 'y' }),
    ]);
    expect(error.message.split('\n')).toEqual([
      'Kafka is not reachable at a:1: x. Start the local stack with `make up`.',
      'Redis is not reachable at b:2: y. Start the local stack with `make up`.',
    ]);
    expect(error.retriable).toBe(true);
  });
});

describe('SchemaValidationError', () => {
  it('names every bad path with what was expected and a short description of what arrived', () => {
    const error = new SchemaValidationError(
      [
        { path: 'value', expected: 'double', received: '12,5' },
        { path: 'unit', expected: 'one of m3|kWh', received: undefined },
        { path: 'deviceId', expected: 'string', received: 'x'.repeat(100) },
      ],
      { record: 'Reading' },
    );
    expect(error.paths).toEqual(['value', 'unit', 'deviceId']);
    expect(error.message).toBe(
      `Reading is invalid: value: expected double, got string "12,5"; unit: expected one of m3|kWh, got nothing; deviceId: expected string, got string "${'x'.repeat(40)}…"`,
    );
  });
});

describe('DecodeError and PayloadError', () => {
  it('carries the decode reason for the dead-letter record', () => {
    const error = new DecodeError('UNKNOWN_SCHEMA_ID', 'schema id 42 is not registered', { context: { topic: 'reading.v1', offset: '17' } });
    expect(error.reason).toBe('UNKNOWN_SCHEMA_ID');
    expect(error.toJSON()).toMatchObject({ code: 'DECODE', reason: 'UNKNOWN_SCHEMA_ID', context: { topic: 'reading.v1', offset: '17' } });
  });

  it('names the payload field and its problem', () => {
    const error = new PayloadError({ field: 'devEUI', problem: 'must be 16 hex digits, got 15', reason: 'INVALID_FIELD' });
    expect(error.message).toBe('devEUI must be 16 hex digits, got 15');
    expect(error.toJSON()).toMatchObject({ field: 'devEUI', problem: 'must be 16 hex digits, got 15', reason: 'INVALID_FIELD' });
    expect(new PayloadError({ field: 'data', problem: 'is missing' }).reason).toBe('MALFORMED_PAYLOAD');
  });
});

describe('ConfigError', () => {
  it('lists every problem on its own line', () => {
    const error = new ConfigError(['API_PORT must be an integer from 1 to 65535, got "x"', 'LOG_LEVEL must be one of …']);
    expect(error.message).toBe(
      'Invalid configuration (2 problems):\n  - API_PORT must be an integer from 1 to 65535, got "x"\n  - LOG_LEVEL must be one of …',
    );
    expect(error.problems).toHaveLength(2);
  });
});

describe('toJSON', () => {
  it('serializes code, message, context, subclass fields and the cause chain, never a stack', () => {
    const root = new Error('ECONNRESET');
    const inner = new TransientError('produce failed', { cause: root, context: { topic: 'reading.v1' } });
    const outer = new SchemaValidationError([{ path: 'value', expected: 'double', received: null }], { cause: inner });
    const json: unknown = JSON.parse(JSON.stringify(outer));
    expect(json).toEqual({
      name: 'SchemaValidationError',
      code: 'SCHEMA_VALIDATION',
      message: 'record is invalid: value: expected double, got null',
      retriable: false,
      context: {},
      reason: 'SCHEMA_VALIDATION',
      paths: ['value'],
      issues: [{ path: 'value', expected: 'double', received: 'null' }],
      cause: {
        name: 'TransientError',
        code: 'TRANSIENT',
        message: 'produce failed',
        retriable: true,
        context: { topic: 'reading.v1' },
        cause: { name: 'Error', message: 'ECONNRESET' },
      },
    });
    expect(JSON.stringify(outer)).not.toContain('stack');
  });
});

describe('isRetriable', () => {
  it('trusts meterflux errors and foreign errors that declare retriable, and nothing else', () => {
    expect(isRetriable(new TransientError('t'))).toBe(true);
    expect(isRetriable(new BadInputError('b'))).toBe(false);
    expect(isRetriable(Object.assign(new Error('kafkajs timeout'), { retriable: true }))).toBe(true);
    expect(isRetriable(Object.assign(new Error('kafkajs bad'), { retriable: false }))).toBe(false);
    expect(isRetriable(new Error('plain'))).toBe(false);
    expect(isRetriable('a string')).toBe(false);
    expect(isRetriable(undefined)).toBe(false);
  });
});

describe('errorMessage', () => {
  it('prints errors by message and anything else as readably as it can', () => {
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    expect(errorMessage(new Error('boom'))).toBe('boom');
    expect(errorMessage('thrown string')).toBe('thrown string');
    expect(errorMessage({ code: 42 })).toBe('{"code":42}');
    expect(errorMessage(undefined)).toBe('undefined');
    expect(errorMessage(circular)).toBe('[object Object]');
  });
});
