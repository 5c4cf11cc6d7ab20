import { describe, expect, it } from 'vitest';
import { GarbageSplitter, type GarbagePiece } from './garbage.js';
import { concat, fixtureFrame, hex, noise, randomChunks, seededRandom } from './testing/frames.js';

const FRAME = fixtureFrame('itron_cyble_m-bus_v1.4_gas');
const damaged = (frame: Uint8Array) => Uint8Array.from(frame, (b, i) => (i === frame.length - 2 ? b ^ 0x01 : b));

function pieces(runs: readonly Uint8Array[]): GarbagePiece[] {
  const splitter = new GarbageSplitter();
  return [...runs.flatMap((run) => splitter.push(run)), ...splitter.flush()];
}

const split = (runs: readonly Uint8Array[]): string[] => pieces(runs).map((p) => hex(p.bytes));

describe('GarbageSplitter', () => {
  const random = seededRandom(5);

  it('cuts a run at every long-frame header, each piece as long as its L fields say', () => {
    const junk = noise(random, 9);
    const a = damaged(FRAME);
    const b = damaged(fixtureFrame('abb_delta'));
    expect(pieces([concat([junk, a, b, a])]).map((p) => [hex(p.bytes), p.framed])).toEqual([
      [hex(junk), false],
      [hex(a), true],
      [hex(b), true],
      [hex(a), true],
    ]);
  });

  it('ends a frame at the next header when the next frame starts before the announced length', () => {
    const cut = FRAME.subarray(0, 33);
    const a = damaged(FRAME);
    expect(split([concat([cut, a])])).toEqual([cut, a].map(hex));
  });

  it('ends a frame whose L fields disagree at the next header', () => {
    const mismatch = Uint8Array.from(FRAME, (b, i) => (i === 1 ? 0x57 : b));
    const a = damaged(FRAME);
    expect(split([concat([mismatch, a])])).toEqual([mismatch, a].map(hex));
  });

  it('holds a frame that reaches past the run until the garbage goes on or ends', () => {
    const a = damaged(FRAME);
    const splitter = new GarbageSplitter();
    expect(splitter.push(a.subarray(0, 50))).toEqual([]);
    expect(splitter.push(a.subarray(50)).map((p) => hex(p.bytes))).toEqual([hex(a)]);
    expect(splitter.push(a.subarray(0, 40))).toEqual([]);
    expect(splitter.flush().map((p) => [hex(p.bytes), p.framed])).toEqual([[hex(a.subarray(0, 40)), true]]);
    expect(splitter.flush()).toEqual([]);
  });

  it('finds a header whose bytes arrive in two runs', () => {
    const short = Uint8Array.of(0x68, 0x02, 0x02, 0x68, 0x08, 0x01, 0x72, 0x16);
    const junk = noise(random, 6);
    for (const cut of [1, 2, 3]) {
      const found = pieces([concat([junk, short.subarray(0, cut)]), short.subarray(cut)]);
      expect(found.map((p) => [hex(p.bytes), p.framed]), `cut after ${cut}`).toEqual([[hex(junk), false], [hex(short), true]]);
    }
  });

  it('gives back every byte, in order, however the runs are cut', () => {
    const stream = concat([noise(random, 30), damaged(FRAME), noise(random, 5), damaged(FRAME), FRAME.subarray(0, 70)]);
    for (const maxChunk of [1, 7, 64, 1000]) {
      expect(split(randomChunks(stream, random, maxChunk)).join(''), `runs of up to ${maxChunk}`).toBe(hex(stream));
    }
  });

  it('keeps a damaged frame that arrives a byte at a time in one piece', () => {
    const mismatch = Uint8Array.from(FRAME, (b, i) => (i === 2 ? 0x57 : b));
    for (const frame of [mismatch, damaged(FRAME)]) {
      const found = pieces(Array.from(frame, (byte) => Uint8Array.of(byte)));
      expect(found.map((p) => [hex(p.bytes), p.framed])).toEqual([[hex(frame), true]]);
    }
  });

  it('holds noise until the garbage ends, cutting a flood into pieces of at most a telegram', () => {
    const splitter = new GarbageSplitter();
    const flood = noise(random, 1000);
    const out = Array.from(flood, (byte) => splitter.push(Uint8Array.of(byte))).flat();
    expect(out.map((p) => p.bytes.length)).toEqual([261, 261, 261]);
    expect(splitter.flush().map((p) => [p.bytes.length, p.framed])).toEqual([[217, false]]);
  });

  it('sees a long-frame header only where two start bytes stand three apart', () => {
    const framed = (bytes: Uint8Array) => pieces([bytes]).map((p) => p.framed);
    expect(framed(FRAME.subarray(0, 20))).toEqual([true]);
    expect(framed(Uint8Array.of(0x68, 0x05, 0x05, 0x69, 0x00))).toEqual([false]);
  });
});
