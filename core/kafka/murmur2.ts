/**
 * The key → partition rule of Kafka's Java client (and of kafkajs's `DefaultPartitioner`):
 * murmur2 of the key's UTF-8 bytes, made positive, modulo the partition count. Written with 32-bit
 * integer arithmetic; kafkajs computes the same hash through a 64-bit `Long` emulation, which
 * cost the decode stage about 5 % of its CPU on the two keyed writes of every uplink.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** murmur2 (Kafka's variant, seed 0x9747b28c) as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= data[whole + 2]! << 16;
    if (rest >= 2) h ^= data[whole + 1]! << 8;
    h ^= data[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of `key` among `partitions`, as every Kafka client that follows Java computes it. */
export function partitionOfKey(key: string | Uint8Array, partitions: number): number {
  return (murmur2(typeof key === 'string' ? Buffer.from(key, 'utf8') : key) & 0x7fffffff) % partitions;
}
