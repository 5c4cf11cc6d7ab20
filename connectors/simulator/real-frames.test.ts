import { describe, expect, it } from 'vitest';
import { decodeFrame, parseTelegram, type LongFrame, type VariableDataResponse } from '../../protocols/mbus/index.js';
import { loadFrameTemplates, realFrame, templateOf, type FrameTemplate } from './real-frames.js';

const templates = loadFrameTemplates();
const byName = (name: string): FrameTemplate => {
  const template = templates.find((t) => t.name === name);
  if (template === undefined) throw new Error(`no template ${name}`);
  return template;
};

function decoded(bytes: Uint8Array): VariableDataResponse {
  const layer = decodeFrame(parseTelegram(bytes) as LongFrame);
  if (layer.structure !== 'variable') throw new Error('not variable data');
  return layer;
}

describe('frames from real meters', () => {
  it('finds templates among the libmbus fixtures: water, gas, heat and electricity meters', () => {
    const media = new Set(templates.map((t) => t.medium));
    for (const medium of [0x02, 0x03, 0x04, 0x07]) expect(media, `medium ${medium}`).toContain(medium);
  });

  it('refuses frames that cannot be templates: fixed data, MSB-first or broken frames', () => {
    expect(templateOf('junk', Uint8Array.of(0x68, 0x03, 0x03, 0x68, 0x08, 0x01, 0x72, 0x7b, 0x16))).toBeUndefined();
    expect(templateOf('ack', Uint8Array.of(0xe5))).toBeUndefined();
  });

  it('sends the meter\'s own identity and access number, its counter advanced, its clock set, with a valid checksum', () => {
    const template = byName('itron_cyble_m-bus_v1.4_water');
    const at = Date.UTC(2026, 2, 29, 10, 17, 42);
    // The register advanced by 1234 litres; the counter counts in 10-litre steps (VIF 0x14).
    const frame = realFrame(template, { id: 12_345_678, accessNumber: 0x1a5, advance: 1234n, atMs: at });
    const layer = decoded(frame);
    expect(Buffer.from(frame.subarray(7, 11)).reverse().toString('hex')).toBe('12345678');
    expect(frame.subarray(11, 15)).toEqual(template.bytes.subarray(11, 15));
    expect(frame[15]).toBe(0xa5);
    const offset = template.counters[0]!.offset;
    const recordAt = (records: VariableDataResponse['records']) => records.find((r) => r.offset + r.dib.length + r.vib.length === offset)!;
    const before = recordAt(decoded(template.bytes).records).value;
    const after = recordAt(layer.records).value;
    if (before.kind !== 'number' || after.kind !== 'number') throw new Error('the counter is not a number');
    // In m³: 123 steps of 10 litres.
    expect(after.number - before.number).toBeCloseTo(1.23, 6);
    const clock = layer.records.find((r) => r.vib.length === 1 && r.vib[0] === 0x6d && r.storageNumber === 0)!;
    expect(JSON.stringify(clock.value)).toContain('2026');
  });

  it('wraps a BCD counter at its width, as the real register does', () => {
    const template = byName('els_falcon');
    const counter = template.counters[0]!;
    const width = 10n ** BigInt(counter.length * 2);
    const frame = realFrame(template, { id: 1, accessNumber: 0, advance: width - counter.start + 5n, atMs: Date.UTC(2026, 0, 1) });
    expect(Buffer.from(frame.subarray(counter.offset, counter.offset + counter.length)).toString('hex')).toBe('05000000');
    expect(() => parseTelegram(frame)).not.toThrow();
  });

  it('keeps every other byte as the real meter sent it', () => {
    const template = byName('landis+gyr_ultraheat_t230');
    const frame = realFrame(template, { id: Number(Buffer.from(template.bytes.subarray(7, 11)).reverse().toString('hex')), accessNumber: template.bytes[15]!, advance: 0n, atMs: Date.UTC(2026, 0, 1) });
    const changed = [...frame].flatMap((byte, i) => (byte === template.bytes[i] ? [] : [i]));
    const allowed = new Set([...template.clocks.flatMap((o) => [o, o + 1, o + 2, o + 3]), frame.length - 2]);
    expect(changed.filter((i) => !allowed.has(i))).toEqual([]);
  });
});
