import { describe, expect, it } from 'vitest';
import { meterIdOf } from './wmbus.js';

describe('meterIdOf', () => {
  it('reads the secondary address from the link layer: BCD ident least significant first, manufacturer as a 16-bit number', () => {
    // The ACW gas meter of schemas/avro/README.md: ident 10020387, M 0x0477, version 0x14, medium 0x03.
    const header = Buffer.from('2e44' + '7704' + '87030210' + '14' + '03' + '7a', 'hex');
    expect(meterIdOf(header)).toBe('mbus:1002038704771403');
  });

  it('shows ident nibbles that are not BCD as lower-case hex rather than failing', () => {
    const header = Buffer.from('2e44' + '9315' + 'ab0000f0' + '01' + '07' + '7a', 'hex');
    expect(meterIdOf(header)).toBe('mbus:f00000ab15930107');
  });
});
