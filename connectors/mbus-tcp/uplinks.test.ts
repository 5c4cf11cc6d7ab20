import { describe, expect, it } from 'vitest';
import { decodeApplicationLayer, MbusFramer, parseTelegram, type FixedHeader, type LongFrame } from '../../protocols/mbus/index.js';
import { payloadHash } from '../kit/ingest.js';
import { GarbageSplitter } from './garbage.js';
import {
  ACCESS_NUMBER_OFFSET,
  concat,
  fixtureFrame,
  fixtureFrames,
  hasLongHeader,
  hex,
  isFixedData,
  libmbusDeviceId,
  noise,
  seededRandom,
  withByte,
} from './testing/frames.js';
import { fixedSecondaryAddress, idempotencyKeyOf, judgeFrame, judgeGarbage, type FrameVerdict, type Rejection } from './uplinks.js';

const ORIGIN = { gateway: '10.20.0.15', sourceAddress: '10.20.0.15:40112' };
const GAS_METER = fixtureFrame('itron_cyble_m-bus_v1.4_gas');

function judge(bytes: Uint8Array): FrameVerdict {
  return judgeFrame(parseTelegram(bytes) as LongFrame, ORIGIN);
}

function rejectionOf(bytes: Uint8Array): Rejection {
  const verdict = judge(bytes);
  if (verdict.kind !== 'rejected') throw new Error(`expected a rejection, got an uplink for ${verdict.draft.deviceId}`);
  return verdict.rejection;
}

/** The rejection of each garbage piece in a stream that ends after `bytes`. */
function garbageOf(bytes: Uint8Array): Rejection[] {
  const framer = new MbusFramer();
  const splitter = new GarbageSplitter();
  const pieces = [...framer.push(bytes), ...framer.end()].flatMap((event) =>
    event.type === 'garbage' ? splitter.push(event.bytes) : splitter.flush(),
  );
  return [...pieces, ...splitter.flush()].map((piece) => judgeGarbage(piece, ORIGIN));
}

describe('judgeFrame', () => {
  it('turns every libmbus long-header frame into an uplink keyed as libmbus identifies the meter, bytes untouched', () => {
    const frames = fixtureFrames().filter((f) => hasLongHeader(f.bytes));
    expect(frames.length).toBeGreaterThan(50);
    for (const { name, bytes } of frames) {
      const verdict = judge(bytes);
      expect(verdict.kind, name).toBe('uplink');
      if (verdict.kind !== 'uplink') continue;
      expect(verdict.draft.deviceId, name).toBe(libmbusDeviceId(name));
      expect(hex(verdict.draft.payload), name).toBe(hex(bytes));
      expect(verdict.draft).toMatchObject({ transport: 'MBUS_TCP', payloadFormat: 'MBUS_LONG_FRAME', sourceAddress: ORIGIN.sourceAddress });
    }
  });

  it('keys the sample gas meter as the record contract documents it, with gateway, C, A and access number beside it', () => {
    const verdict = judge(GAS_METER);
    expect(verdict).toMatchObject({
      kind: 'uplink',
      draft: {
        deviceId: 'mbus:1002038704771403',
        idempotencyKey: `mbus-frame:${payloadHash(GAS_METER)}:154`,
        metadata: { gateway: '10.20.0.15', cField: '0x08', aField: '0x04', accessNumber: '154' },
      },
    });
  });

  it('gives a re-sent frame the same idempotency key, and frames 256 readouts apart different ones', () => {
    const again = Uint8Array.from(GAS_METER);
    const next = withByte(GAS_METER, ACCESS_NUMBER_OFFSET, 155);
    // Same access number after the counter wrapped, different volume: a different readout.
    const wrapped = withByte(GAS_METER, 30, GAS_METER[30]! + 1);
    const keys = [GAS_METER, again, next, wrapped].map((frame) => (judge(frame) as { draft: { idempotencyKey: string } }).draft.idempotencyKey);
    expect(keys[1]).toBe(keys[0]);
    expect(new Set(keys).size).toBe(3);
    expect(keys[3]!.endsWith(':154')).toBe(true);
    expect(idempotencyKeyOf(GAS_METER, 154)).toBe(keys[0]);
  });

  it('turns the fixed data structure into an uplink keyed by id, the wildcards for manufacturer and version, and the medium', () => {
    const fixed = fixtureFrames().filter((f) => !hasLongHeader(f.bytes));
    expect(fixed.map((f) => f.name)).toEqual(['manual_frame2', 'sen_pollusonic_2']);
    for (const { name, bytes } of fixed) {
      expect(isFixedData(bytes), name).toBe(true);
      const verdict = judge(bytes);
      if (verdict.kind !== 'uplink') throw new Error(`${name}: ${verdict.rejection.error.message}`);
      expect(verdict.draft.deviceId, name).toBe(libmbusDeviceId(name));
      expect(hex(verdict.draft.payload), name).toBe(hex(bytes));
      expect(verdict.draft.idempotencyKey, name).toBe(idempotencyKeyOf(bytes, bytes[11]!));
      expect(verdict.draft.metadata, name).toEqual({ gateway: ORIGIN.gateway, cField: '0x08', aField: `0x${hex(bytes.subarray(5, 6))}`, accessNumber: String(bytes[11]) });
    }
    // libmbus: water meter 12345678, access number 10; heat meter 90919293, access number 16.
    expect(fixed.map(({ bytes }) => judge(bytes)).map((v) => v.kind === 'uplink' && [v.draft.deviceId, v.draft.metadata?.['accessNumber']])).toEqual([
      ['mbus:12345678ffffff07', '10'],
      ['mbus:90919293ffffff04', '16'],
    ]);
  });

  it('keys a fixed structure sent MSB first (CI 0x77) like the same meter sent LSB first', () => {
    // The libmbus water meter with every field reversed: id, the medium-and-units word, both counters.
    const lsb = fixtureFrame('manual_frame2');
    const data = lsb.subarray(7, 23);
    const msbData = [...[...data.subarray(0, 4)].reverse(), data[4]!, data[5]!, data[7]!, data[6]!,
      ...[...data.subarray(8, 12)].reverse(), ...[...data.subarray(12, 16)].reverse()];
    const body = [0x08, 0x05, 0x77, ...msbData];
    const msb = Uint8Array.from([0x68, body.length, body.length, 0x68, ...body, body.reduce((a, b) => a + b, 0) & 0xff, 0x16]);
    const verdict = judge(msb);
    expect(verdict.kind === 'uplink' && verdict.draft.deviceId).toBe('mbus:12345678ffffff07');
  });

  it.each([
    [0x00, '00'], [0x02, '02'], [0x03, '03'], [0x04, '04'], [0x06, '06'], [0x07, '07'], [0x08, '08'],
    [0x09, 'FF'], [0x0a, '03'], [0x0b, '04'], [0x0c, '06'], [0x0d, '07'], [0x0e, '08'], [0x0f, 'FF'],
  ])('writes fixed medium code %i as device type %s (mode 2 is the same medium, reserved is the wildcard)', (code, deviceType) => {
    const header: FixedHeader = { ...fixedHeaderOf(fixtureFrame('manual_frame2')), medium: code };
    expect(fixedSecondaryAddress(header)).toBe(`12345678FFFFFF${deviceType}`);
  });

  it('refuses a fixed data structure cut short, with the bytes it lacks', () => {
    const short = Uint8Array.of(0x68, 0x07, 0x07, 0x68, 0x08, 0x05, 0x73, 0x78, 0x56, 0x34, 0x12, 0x94, 0x16);
    const { error, input, answerable } = rejectionOf(short);
    expect(error.reason).toBe('MBUS_TOO_SHORT_HEADER');
    expect(error.message).toContain('fixed data structure needs 16 bytes, 4 left');
    expect(answerable).toBe(true);
    expect(input).toMatchObject({ key: null, details: { ci: '0x73' } });
  });

  it('refuses a variable data structure with a short header, which does not name the meter', () => {
    const short = parseTelegram(Uint8Array.from([0x68, 0x07, 0x07, 0x68, 0x08, 0x01, 0x7a, 0x2a, 0x00, 0x00, 0x00, 0xad, 0x16]));
    const verdict = judgeFrame(short as LongFrame, ORIGIN);
    expect(verdict.kind === 'rejected' && verdict.rejection.error.reason).toBe('MBUS_NO_LONG_HEADER');
  });

  it.each([
    ['application_busy', 'MBUS_NOT_VARIABLE_DATA', 'or 0x73 or 0x77 (the fixed data structure), got 0x70, a report of an application error'],
    ['unspecified_error', 'MBUS_NOT_VARIABLE_DATA', 'got 0x70, a report of an application error'],
    ['error', 'MBUS_NOT_VARIABLE_DATA', 'got 0x70, in a control frame, which carries no data'],
    ['too_short_header', 'MBUS_TOO_SHORT_HEADER', 'long header needs 12 bytes, 5 left'],
  ])('refuses the libmbus error frame %s with %s', (name, reason, message) => {
    const { error } = rejectionOf(fixtureFrame(name, 'error-frames'));
    expect(error.reason).toBe(reason);
    expect(error.message).toContain(message);
  });

  it('forwards error frames whose header is sound but whose records are not: the decoder dead-letters those', () => {
    const names = ['premature_end_of_data1', 'premature_end_of_dif1', 'premature_end_of_vif1', 'too_many_dife', 'too_many_vife', 'too_long_var_vif'];
    for (const name of names) {
      const verdict = judge(fixtureFrame(name, 'error-frames'));
      expect(verdict.kind, name).toBe('uplink');
    }
  });
});

describe('judgeGarbage', () => {
  const random = seededRandom(7);

  it('names a frame with a bad checksum, with what was expected and what arrived, and asks for a NACK', () => {
    const damaged = Uint8Array.from(GAS_METER);
    damaged[damaged.length - 2] = 0x9e;
    const [rejection, ...rest] = garbageOf(concat([damaged, GAS_METER]));
    expect(rest).toEqual([]);
    expect(rejection!.error).toMatchObject({ reason: 'MBUS_BAD_CHECKSUM', message: 'checksum: expected 0x9f, got 0x9e' });
    expect(rejection!.answerable).toBe(true);
    expect(hex(rejection!.input.bytes)).toBe(hex(damaged));
    expect(rejection!.input.details).toEqual({ sourceAddress: ORIGIN.sourceAddress, gateway: ORIGIN.gateway, byteOffset: String(GAS_METER.length - 2) });
  });

  it.each([
    ['a wrong stop byte', (f: Uint8Array) => concat([f.subarray(0, -1), Uint8Array.of(0x17)]), 'MBUS_BAD_STOP', 'stop byte: expected 0x16, got 0x17'],
    ['two L fields that differ', (f: Uint8Array) => Uint8Array.from(f, (b, i) => (i === 2 ? b + 1 : b)), 'MBUS_BAD_LENGTH', 'second L field: expected 0x56, got 0x57'],
    ['an L field below 3', () => Uint8Array.of(0x68, 0x02, 0x02, 0x68, 0x08, 0x01, 0x72, 0x16), 'MBUS_BAD_LENGTH', 'L field: expected at least 0x03, got 0x02'],
    ['a frame cut short by the next one', (f: Uint8Array) => f.subarray(0, 40), 'MBUS_TRUNCATED', 'truncated: long frame needs 92 bytes, got 40'],
  ])('names %s and asks for a NACK', (_what, damage, reason, message) => {
    const bad = damage(GAS_METER);
    const rejections = garbageOf(concat([bad, GAS_METER]));
    expect(rejections.map((r) => [r.error.reason, r.error.message, r.answerable])).toEqual([[reason, message, true]]);
    expect(hex(rejections[0]!.input.bytes)).toBe(hex(bad));
  });

  it('names a frame cut off by the end of the stream as truncated', () => {
    const rejections = garbageOf(GAS_METER.subarray(0, 50));
    expect(rejections.map((r) => [r.error.reason, r.answerable])).toEqual([['MBUS_TRUNCATED', true]]);
  });

  it('judges each of several damaged frames in a row on its own, and noise before them apart', () => {
    const junk = noise(random, 12);
    const badStop = concat([GAS_METER.subarray(0, -1), Uint8Array.of(0x00)]);
    const badChecksum = Uint8Array.from(GAS_METER, (b, i) => (i === GAS_METER.length - 2 ? b + 1 : b));
    const cut = GAS_METER.subarray(0, 20);
    const rejections = garbageOf(concat([junk, badStop, badChecksum, cut, badChecksum, GAS_METER]));
    expect(rejections.map((r) => [r.error.reason, r.answerable])).toEqual([
      ['MBUS_GARBAGE', false],
      ['MBUS_BAD_STOP', true],
      ['MBUS_BAD_CHECKSUM', true],
      ['MBUS_TRUNCATED', true],
      ['MBUS_BAD_CHECKSUM', true],
    ]);
    expect(rejections.map((r) => hex(r.input.bytes))).toEqual([junk, badStop, badChecksum, cut, badChecksum].map(hex));
  });

  it('does not answer a damaged short frame: short frames are never answered', () => {
    const rejections = garbageOf(concat([Uint8Array.of(0x10, 0x5b, 0xfe, 0x00, 0x16), GAS_METER]));
    expect(rejections.map((r) => [r.error.reason, r.answerable])).toEqual([['MBUS_GARBAGE', false]]);
  });

  it('calls bytes that do not start a long frame garbage, with no NACK: no frame of the gateway matches them', () => {
    const junk = noise(random, 30);
    junk[0] = 0x01;
    const [rejection] = garbageOf(concat([junk, GAS_METER]));
    expect(rejection!.error.reason).toBe('MBUS_GARBAGE');
    expect(rejection!.error.message).toBe('30 bytes that are not an M-Bus long frame (start byte: expected 0x68, 0x10 or 0xe5, got 0x01)');
    expect(rejection!.answerable).toBe(false);
    expect(hex(rejection!.input.bytes)).toBe(hex(junk));
  });
});

function fixedHeaderOf(frame: Uint8Array): FixedHeader {
  const layer = decodeApplicationLayer(frame[6]!, frame.subarray(7, -2));
  if (layer.structure !== 'fixed') throw new Error('not a fixed data structure');
  return layer.header;
}
