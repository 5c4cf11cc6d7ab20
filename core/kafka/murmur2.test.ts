import { randomBytes } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { murmur2, partitionOfKey } from './murmur2.js';

describe('murmur2 and the key partition', () => {
  it('gives the hashes of the Java client (Kafka UtilsTest vectors)', () => {
    const cases: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of cases) expect(murmur2(Buffer.from(key)), key).toBe(hash);
  });

  it('puts every key on the partition kafkajs DefaultPartitioner chooses', () => {
    const reference = Partitioners.DefaultPartitioner();
    const keys = [
      'mbus:900000012c2d1b07',
      'ÿ€ key with non-ASCII bytes',
      '',
      ...Array.from({ length: 2000 }, (_, i) => randomBytes(i % 41).toString('base64')),
    ];
    for (const partitions of [1, 3, 12, 17]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
      for (const key of keys) {
        expect(partitionOfKey(key, partitions), key).toBe(reference({ topic: 't', partitionMetadata, message: { key, value: null } }));
      }
    }
  });
});
