import { Registry } from 'prom-client';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { SchemaValidationError, ServiceUnavailableError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { mbusTcpMetrics, type MbusTcpMetrics } from './metrics.js';
import { GatewaySession, REJECTED_REPLY, STORED_REPLY, type GatewayLink } from './session.js';
import { deferred, FakeIngest } from './testing/fake-ingest.js';
import {
  concat,
  distinctFrames,
  fixtureFrame,
  fixtureFrames,
  hex,
  isKeyed,
  malformedFrames,
  noise,
  randomChunks,
  seededRandom,
} from './testing/frames.js';

const E5 = STORED_REPLY;
const NAK = REJECTED_REPLY;
const GOOD = fixtureFrame('itron_cyble_m-bus_v1.4_gas');
const BAD_CHECKSUM = Uint8Array.from(GOOD, (byte, i) => (i === GOOD.length - 2 ? byte ^ 0xff : byte));
const SHORT_FRAME = Uint8Array.of(0x10, 0x5b, 0xfe, 0x59, 0x16);
const KAFKA_DOWN = new ServiceUnavailableError({ service: 'Kafka', address: '127.0.0.1:9092', detail: 'connect ECONNREFUSED' });

class FakeLink implements GatewayLink {
  readonly written: number[] = [];
  paused = false;
  ended = false;
  destroyed = false;
  write(bytes: Uint8Array): void {
    if (this.ended || this.destroyed) throw new Error('write after close');
    this.written.push(...bytes);
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
}

let ingest: FakeIngest;
let link: FakeLink;
let registry: Registry;
let metrics: MbusTcpMetrics;

function session(overrides: { maxErrors?: number; maxPendingFrames?: number } = {}): GatewaySession {
  return new GatewaySession({
    link,
    ingest,
    metrics,
    origin: { gateway: '10.0.0.7', sourceAddress: '10.0.0.7:50123' },
    logger: createLogger({ level: 'silent', name: 'test' }),
    maxErrors: overrides.maxErrors ?? 16,
    maxPendingFrames: overrides.maxPendingFrames ?? 64,
  });
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const values = (await registry.getSingleMetric(name)!.get()).values;
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
}

const answered = (count: number) => vi.waitFor(() => expect(link.written.length).toBeGreaterThanOrEqual(count));

beforeEach(() => {
  ingest = new FakeIngest();
  link = new FakeLink();
  registry = new Registry();
  metrics = mbusTcpMetrics(registry);
});

describe('GatewaySession', () => {
  it('answers every fixture frame once, however the stream is cut, with garbage between frames', async () => {
    const random = seededRandom(0x6d627573);
    const frames = fixtureFrames().map((f) => f.bytes);
    const parts = frames.flatMap((frame) => [noise(random, Math.floor(random() * 20)), frame]);
    const expected = frames.map((frame) => (isKeyed(frame) ? E5 : NAK));
    for (const maxChunk of [1, 3, 17, 300]) {
      link = new FakeLink();
      ingest = new FakeIngest();
      const gateway = session({ maxErrors: 1000 });
      for (const chunk of randomChunks(concat(parts), random, maxChunk)) gateway.receive(chunk);
      await answered(expected.length);
      expect(link.written, `chunks of up to ${maxChunk} bytes`).toEqual(expected);
      expect(ingest.accepted.map((d) => hex(d.payload))).toEqual(frames.filter(isKeyed).map(hex));
    }
  });

  it('answers each malformed frame with one NAK in its place, however the stream is cut', async () => {
    const bad = malformedFrames();
    const goods = distinctFrames(bad.length);
    const stream = concat(bad.flatMap(([, bytes], i) => [goods[i]!, bytes]));
    const random = seededRandom(77);
    const links: FakeLink[] = [];
    for (let round = 0; round < 200; round++) {
      link = new FakeLink();
      links.push(link);
      const gateway = session({ maxErrors: 1000 });
      for (const chunk of randomChunks(stream, random, 1 + (round % 40))) gateway.receive(chunk);
      gateway.finish();
    }
    await vi.waitFor(() => expect(links.every((l) => l.ended)).toBe(true));
    for (const [round, l] of links.entries()) expect(l.written, `round ${round}`).toEqual(bad.flatMap(() => [E5, NAK]));
    expect(ingest.deadLetters.map((d) => d.error.reason)).toEqual(Array.from({ length: 200 }, () => bad.map(([reason]) => reason)).flat());
  });

  it('answers a frame cut at any byte, and only once it is whole', async () => {
    const links: FakeLink[] = [];
    for (let cut = 1; cut < GOOD.length; cut++) {
      link = new FakeLink();
      links.push(link);
      const gateway = session();
      gateway.receive(GOOD.subarray(0, cut));
      expect(ingest.offered.length, `cut at ${cut}`).toBe(cut - 1);
      gateway.receive(GOOD.subarray(cut));
    }
    await vi.waitFor(() => expect(links.every((l) => l.written.length === 1)).toBe(true));
    expect(links.every((l) => l.written[0] === E5)).toBe(true);
  });

  it('answers in frame order even when Kafka acknowledges a later frame first', async () => {
    const [first, second] = distinctFrames(2);
    const held = deferred();
    ingest.beforeAccept = (draft) => (hex(draft.payload) === hex(first!) ? held.promise : Promise.resolve());
    session().receive(concat([first!, second!]));
    await vi.waitFor(() => expect(ingest.accepted.length).toBe(1));
    await new Promise((resolve) => setImmediate(resolve));
    expect(link.written).toEqual([]);
    held.resolve();
    await answered(2);
    expect(link.written).toEqual([E5, E5]);
  });

  it('answers a refused frame with NAK in its place, after the dead letter is written', async () => {
    const [first, third] = distinctFrames(2);
    const held = deferred();
    ingest.beforeReject = () => held.promise;
    session().receive(concat([first!, BAD_CHECKSUM, third!]));
    await vi.waitFor(() => expect(ingest.accepted.length).toBe(2));
    expect(link.written).toEqual([E5]);
    held.resolve();
    await answered(3);
    expect(link.written).toEqual([E5, NAK, E5]);
    expect(ingest.deadLetters.map((d) => [d.error.reason, hex(d.input.bytes)])).toEqual([['MBUS_BAD_CHECKSUM', hex(BAD_CHECKSUM)]]);
    expect(await metric('meterflux_mbus_tcp_nacks_total', { reason: 'MBUS_BAD_CHECKSUM' })).toBe(1);
    expect(await metric('meterflux_mbus_tcp_acks_total')).toBe(2);
  });

  it('does not acknowledge a frame Kafka did not take, and ends the connection so the gateway re-sends it', async () => {
    const frames = distinctFrames(3);
    ingest.beforeAccept = async (draft) => {
      if (hex(draft.payload) === hex(frames[1]!)) throw KAFKA_DOWN;
    };
    const gateway = session();
    gateway.receive(concat(frames));
    await vi.waitFor(() => expect(link.ended).toBe(true));
    expect(link.written).toEqual([E5]);
    expect(ingest.accepted.length).toBe(2);
    expect(gateway.closeReason).toBe('write-failed');
    gateway.receive(frames[0]!);
    expect(ingest.offered.length).toBe(3);
  });

  it('treats a write that failed for any reason but bad input as not stored', async () => {
    ingest.beforeAccept = async () => {
      throw new Error('producer disconnected');
    };
    session().receive(GOOD);
    await vi.waitFor(() => expect(link.ended).toBe(true));
    expect(link.written).toEqual([]);
  });

  it('leaves a refused frame unanswered when its dead letter cannot be written, so the gateway sends it again', async () => {
    ingest.beforeReject = async () => {
      throw KAFKA_DOWN;
    };
    session().receive(concat([GOOD, BAD_CHECKSUM]));
    await vi.waitFor(() => expect(link.ended).toBe(true));
    expect(link.written).toEqual([E5]);
  });

  it('answers and dead-letters a draft the ingest finds invalid, like a refused frame', async () => {
    ingest.beforeAccept = async () => {
      throw new SchemaValidationError([{ path: 'rawUplink.deviceId', expected: 'string', received: 1 }]);
    };
    session().receive(GOOD);
    await answered(1);
    expect(link.written).toEqual([NAK]);
    expect(ingest.deadLetters[0]).toMatchObject({ error: { reason: 'SCHEMA_VALIDATION' }, input: { deviceId: 'mbus:1002038704771403' } });
  });

  it('dead-letters garbage without answering it: no frame boundary, nothing to NACK', async () => {
    const junk = noise(seededRandom(3), 40);
    session().receive(concat([junk, GOOD]));
    await answered(1);
    expect(link.written).toEqual([E5]);
    expect(ingest.deadLetters.map((d) => [d.error.reason, hex(d.input.bytes)])).toEqual([['MBUS_GARBAGE', hex(junk)]]);
    expect(await metric('meterflux_mbus_tcp_garbage_bytes_total')).toBe(40);
  });

  it('ignores short frames and single E5 characters: link traffic with no meter data', async () => {
    session().receive(concat([SHORT_FRAME, Uint8Array.of(0xe5), GOOD]));
    await answered(1);
    expect(link.written).toEqual([E5]);
    expect(ingest.offered.length).toBe(1);
    expect(ingest.deadLetters).toEqual([]);
    expect(await metric('meterflux_mbus_tcp_frames_total', { outcome: 'ignored' })).toBe(2);
  });

  it('closes a connection after the bounded number of consecutive bad inputs, answering those already read', async () => {
    const random = seededRandom(11);
    const gateway = session({ maxErrors: 4 });
    gateway.receive(concat([BAD_CHECKSUM, BAD_CHECKSUM, BAD_CHECKSUM]));
    gateway.receive(noise(random, 10));
    gateway.receive(noise(random, 10));
    gateway.receive(BAD_CHECKSUM);
    await vi.waitFor(() => expect(link.ended).toBe(true));
    expect(link.written).toEqual([NAK, NAK, NAK]);
    expect(ingest.deadLetters.length).toBe(4);
    expect(gateway.closeReason).toBe('errors');
  });

  it('keeps a noisy line that still delivers: a good frame resets the error count', async () => {
    const gateway = session({ maxErrors: 2 });
    for (const frame of distinctFrames(5)) gateway.receive(concat([BAD_CHECKSUM, frame]));
    await answered(10);
    expect(link.ended).toBe(false);
    expect(link.written).toEqual([NAK, E5, NAK, E5, NAK, E5, NAK, E5, NAK, E5]);
  });

  it('stops reading while too many frames wait for Kafka, and resumes when half are answered', async () => {
    const held = deferred();
    ingest.beforeAccept = () => held.promise;
    session({ maxPendingFrames: 4 }).receive(concat(distinctFrames(4)));
    expect(link.paused).toBe(true);
    held.resolve();
    await answered(4);
    expect(link.paused).toBe(false);
  });

  it('answers a frame the gateway cut off by closing its side with a NAK, then ends the connection', async () => {
    const gateway = session();
    gateway.receive(concat([GOOD, GOOD.subarray(0, 30)]));
    gateway.finish();
    await vi.waitFor(() => expect(link.ended).toBe(true));
    expect(link.written).toEqual([E5, NAK]);
    expect(ingest.deadLetters.map((d) => d.error.reason)).toEqual(['MBUS_TRUNCATED']);
    expect(gateway.closeReason).toBe('peer');
  });

  it('on close, answers what it already read once Kafka has it, then ends, and reads nothing more', async () => {
    const held = deferred();
    ingest.beforeAccept = () => held.promise;
    const [first, second] = distinctFrames(2);
    const gateway = session();
    gateway.receive(first!);
    const closed = gateway.close('stop');
    gateway.receive(second!);
    expect(link.ended).toBe(false);
    held.resolve();
    await closed;
    expect(link.written).toEqual([E5]);
    expect(link.ended).toBe(true);
    expect(ingest.offered.length).toBe(1);
  });

  it('writes nothing once the link is lost, though Kafka still takes what was read', async () => {
    const held = deferred();
    ingest.beforeAccept = () => held.promise;
    const gateway = session();
    gateway.receive(GOOD);
    gateway.lost();
    held.resolve();
    await vi.waitFor(() => expect(ingest.accepted.length).toBe(1));
    await gateway.close('peer');
    expect(link.written).toEqual([]);
    expect(link.ended).toBe(false);
  });
});
