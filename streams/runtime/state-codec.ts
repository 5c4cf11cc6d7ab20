/**
 * How a worker's state values travel through its changelog topic. The default is JSON with
 * bigints written as `{"$bigint":"…"}`, so exact register values survive a restore.
 */
export interface StateCodec<S> {
  encode(value: S): Buffer;
  decode(bytes: Buffer): S;
}

const BIGINT = '$bigint';

const writeBigints = (_key: string, v: unknown): unknown => (typeof v === 'bigint' ? { [BIGINT]: v.toString() } : v);

const readBigints = (_key: string, v: unknown): unknown =>
  typeof v === 'object' && v !== null && BIGINT in v ? BigInt((v as Record<string, string>)[BIGINT]!) : v;

export function jsonStateCodec<S>(): StateCodec<S> {
  return {
    encode(value) {
      // A replacer takes JSON.stringify off V8's fast path (several times slower on every batch's
      // changelog); only a value holding a bigint, which plain JSON refuses, needs it.
      try {
        return Buffer.from(JSON.stringify(value));
      } catch (err) {
        if (!(err instanceof TypeError)) throw err;
        return Buffer.from(JSON.stringify(value, writeBigints));
      }
    },
    decode(bytes) {
      const text = bytes.toString('utf8');
      return JSON.parse(text, text.includes(`"${BIGINT}"`) ? readBigints : undefined) as S;
    },
  };
}
