import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../core/errors.js';
import { checkContentType } from './body.js';
import { idempotencyKeyOf } from './idempotency.js';

describe('checkContentType', () => {
  const accepted: Array<[string, string | undefined]> = [
    ['application/json', undefined],
    ['application/json; charset=utf-8', undefined],
    ['Application/JSON;charset="UTF-8"', undefined],
    ['application/json', 'identity'],
  ];
  for (const [type, encoding] of accepted) {
    it(`accepts ${type}${encoding === undefined ? '' : ` with ${encoding}`}`, () => {
      expect(() => checkContentType(type, encoding)).not.toThrow();
    });
  }

  const refused: Array<[string | undefined, string | undefined, string]> = [
    [undefined, undefined, 'got no Content-Type'],
    ['text/plain', undefined, 'got "text/plain"'],
    ['application/x-www-form-urlencoded', undefined, 'application/json'],
    ['application/json; charset=iso-8859-1', undefined, 'UTF-8'],
    ['application/jsonx', undefined, 'application/json'],
    ['application/json', 'gzip', 'Content-Encoding "gzip"'],
  ];
  for (const [type, encoding, message] of refused) {
    it(`refuses ${type ?? 'no type'}${encoding === undefined ? '' : ` with ${encoding}`} as UNSUPPORTED_MEDIA_TYPE`, () => {
      const error = (() => {
        try {
          checkContentType(type, encoding);
        } catch (err) {
          return err;
        }
      })();
      expect(error).toBeInstanceOf(BadInputError);
      expect(error).toMatchObject({ reason: 'UNSUPPORTED_MEDIA_TYPE' });
      expect((error as Error).message).toContain(message);
    });
  }
});

describe('idempotencyKeyOf', () => {
  const cases: Array<[string | undefined, string | undefined]> = [
    [undefined, undefined],
    ['8e03978e-40d5-43e8-bc93-6894a57f9324', '8e03978e-40d5-43e8-bc93-6894a57f9324'],
    ['"8e03978e-40d5-43e8-bc93-6894a57f9324"', '8e03978e-40d5-43e8-bc93-6894a57f9324'],
    ['gateway-17/2026-03-29/000042', 'gateway-17/2026-03-29/000042'],
    ['k'.repeat(255), 'k'.repeat(255)],
  ];
  for (const [header, key] of cases) {
    it(`reads ${header === undefined ? 'no header' : `"${header.slice(0, 40)}"`} as ${key === undefined ? 'no key' : 'the key'}`, () => {
      expect(idempotencyKeyOf(header)).toBe(key);
    });
  }

  for (const header of ['', '""', 'two words', 'k'.repeat(256), 'ключ', 'a,b, c']) {
    it(`refuses "${header.slice(0, 20)}" as INVALID_HEADER`, () => {
      expect(() => idempotencyKeyOf(header)).toThrow(expect.objectContaining({ reason: 'INVALID_HEADER' }));
    });
  }
});
