import { describe, expect, it } from 'vitest';

import { MbusFramer, type FramerEvent } from './framer.js';
import { MAX_TELEGRAM_LENGTH } from './link-layer.js';
import { fixtureNames, parseHex, readFixture, requireFixtures } from './testing/libmbus-fixtures.js';

const SHORT = parseHex('10 5B FE 59 16');
const ACK = parseHex('E5');

function fixtureFrames(): Uint8Array[] {
  requireFixtures();
  return fixtureNames('frames').map((name) => parseHex(readFixture('frames', `${name}.hex`)!));
}

/** Events as comparable tokens: `frame:<hex>`, `ack`, `garbage:<reason>:<hex>`. */
function tokens(events: readonly FramerEvent[]): string[] {
  return events.map((event) => {
    if (event.type === 'ack') return 'ack';
    if (event.type === 'frame') return `frame:${Buffer.from(event.frame.bytes).toString('hex')}`;
    return `garbage:${event.reason}:${Buffer.from(event.bytes).toString('hex')}`;
  });
}

function frameToken(bytes: Uint8Array): string {
  return bytes.length === 1 ? 'ack' : `frame:${Buffer.from(bytes).toString('hex')}`;
}

function feed(framer: MbusFramer, chunks: readonly Uint8Array[]): FramerEvent[] {
  const events: FramerEvent[] = [];
  for (const chunk of chunks) {
    events.push(...framer.push(chunk));
    expect(framer.bufferedBytes).toBeLessThan(MAX_TELEGRAM_LENGTH);
  }
  return events;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** mulberry32: a small seeded PRNG, so the random tests are the same on every run. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('MbusFramer', () => {
  it('yields each fixture frame whole, wherever the stream is split', () => {
    for (const frame of fixtureFrames()) {
      for (let cut = 0; cut <= frame.length; cut++) {
        const framer = new MbusFramer();
        const events = feed(framer, [frame.subarray(0, cut), frame.subarray(cut)]);
        expect(tokens(events), `cut at ${cut}`).toEqual([frameToken(frame)]);
        expect(framer.bufferedBytes).toBe(0);
      }
    }
  });

  it('yields every frame of a stream fed one byte at a time', () => {
    const frames = fixtureFrames();
    const stream = concat(frames);
    const events = feed(new MbusFramer(), Array.from(stream, (byte) => Uint8Array.of(byte)));
    expect(tokens(events)).toEqual(frames.map(frameToken));
  });

  it('yields several frames, acks and short frames from one chunk', () => {
    const [first, second] = fixtureFrames();
    const events = new MbusFramer().push(concat([first!, ACK, SHORT, second!, ACK]));
    expect(tokens(events)).toEqual([frameToken(first!), 'ack', frameToken(SHORT), frameToken(second!), 'ack']);
  });

  it('recovers every frame from a randomly chunked stream with random garbage between them', () => {
    const random = prng(0x6d627573);
    const frames = [...fixtureFrames(), SHORT, ACK, SHORT, ACK];
    const parts: Uint8Array[] = [];
    const garbage: Uint8Array[] = [];
    const expected: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (const frame of frames) {
        // Noise never holds 0xE5 or 0x10, which alone or as a short frame would be read as telegrams;
        // it holds many 0x68, the long-frame start byte.
        const noise = Uint8Array.from({ length: Math.floor(random() * 24) }, () => {
          if (random() < 0.3) return 0x68;
          const byte = Math.floor(random() * 256);
          return byte === 0xe5 || byte === 0x10 ? 0x00 : byte;
        });
        parts.push(noise, frame);
        garbage.push(noise);
        expected.push(frameToken(frame));
      }
    }
    const stream = concat(parts);
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < stream.length; ) {
      const size = 1 + Math.floor(random() * 300);
      chunks.push(stream.subarray(at, at + size));
      at += size;
    }

    const framer = new MbusFramer();
    const events = [...feed(framer, chunks), ...framer.end()];
    expect(tokens(events.filter((event) => event.type !== 'garbage'))).toEqual(expected);
    const skipped = events.flatMap((event) => (event.type === 'garbage' ? [event.bytes] : []));
    expect(Buffer.from(concat(skipped)).toString('hex')).toBe(Buffer.from(concat(garbage)).toString('hex'));
  });

  it('skips a fake long-frame header and finds the frame that follows it', () => {
    const [frame] = fixtureFrames();
    const fake = parseHex('68 05 05 68 08 01 72');
    const events = new MbusFramer().push(concat([fake, frame!]));
    expect(tokens(events)).toEqual([`garbage:BAD_CHECKSUM:${Buffer.from(fake).toString('hex')}`, frameToken(frame!)]);
  });

  it('waits out a plausible header in the noise, then resynchronises on the frame inside it', () => {
    const [frame] = fixtureFrames();
    const fake = parseHex('68 F0 F0 68');
    const framer = new MbusFramer();
    const events = [...framer.push(concat([fake, frame!]))];
    expect(events).toEqual([]);
    expect(framer.bufferedBytes).toBe(fake.length + frame!.length);
    events.push(...framer.push(new Uint8Array(0xf0 + 6)));
    expect(tokens(events).slice(0, 2)).toEqual([`garbage:BAD_CHECKSUM:${Buffer.from(fake).toString('hex')}`, frameToken(frame!)]);
  });

  it('reports bytes that cannot start a telegram as one garbage event', () => {
    const events = new MbusFramer().push(concat([parseHex('00 01 02 68 69 6A'), ACK]));
    expect(tokens(events)).toEqual(['garbage:BAD_START:00010268696a', 'ack']);
  });

  it('returns a frame cut off by the end of the stream as truncated garbage', () => {
    const [frame] = fixtureFrames();
    const framer = new MbusFramer();
    expect(framer.push(frame!.subarray(0, 10))).toEqual([]);
    expect(tokens(framer.end())).toEqual([`garbage:TRUNCATED:${Buffer.from(frame!.subarray(0, 10)).toString('hex')}`]);
    expect(framer.bufferedBytes).toBe(0);
    expect(tokens(framer.push(frame!))).toEqual([frameToken(frame!)]);
  });

  it('gives each frame its own copy of the bytes', () => {
    const [frame] = fixtureFrames();
    const chunk = frame!.slice();
    const [event] = new MbusFramer().push(chunk);
    chunk.fill(0);
    expect(event?.type === 'frame' && [...event.frame.bytes]).toEqual([...frame!]);
  });
});
