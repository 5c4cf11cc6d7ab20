/**
 * How a worker's state values travel through its changelog topic. The default is JSON with
 * bigints written as `{"$bigint":"…"}`, so exact register values survive a restore.
 */
export interface StateCodec<S> {
  encode(value: S): Buffer;
  decode(bytes: Buffer): S;
}

const BIGINT = '$bigint';

export function jsonStateCodec<S>(): StateCodec<S> {
  return {
    encode: (value) =>
      Buffer.from(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? { [BIGINT]: v.toString() } : v))),
    decode: (bytes) =>
      JSON.parse(bytes.toString('utf8'), (_key, v: unknown) =>
        typeof v === 'object' && v !== null && BIGINT in v ? BigInt((v as Record<string, string>)[BIGINT]!) : v,
      ) as S,
  };
}
