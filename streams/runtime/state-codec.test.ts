import { describe, expect, it } from 'vitest';
import { jsonStateCodec } from './state-codec.js';

describe('the JSON state codec', () => {
  const codec = jsonStateCodec<unknown>();

  it('round-trips plain JSON values as plain JSON', () => {
    const value = { count: 3, at: 1_774_767_600_000, marks: { volume: { value: 12.345, step: -3 } }, keys: ['a', 'b'], none: null };
    const bytes = codec.encode(value);
    expect(JSON.parse(bytes.toString('utf8'))).toEqual(value);
    expect(codec.decode(bytes)).toEqual(value);
  });

  it('keeps bigints exact, at any depth, as {"$bigint": "…"}', () => {
    const value = { register: 12_345_678_901_234_567_890n, nested: [{ total: -1n }], plain: 1 };
    const bytes = codec.encode(value);
    expect(bytes.toString('utf8')).toBe('{"register":{"$bigint":"12345678901234567890"},"nested":[{"total":{"$bigint":"-1"}}],"plain":1}');
    expect(codec.decode(bytes)).toEqual(value);
  });

  it('still refuses a value JSON cannot hold', () => {
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    expect(() => codec.encode(circular)).toThrow(TypeError);
  });
});
