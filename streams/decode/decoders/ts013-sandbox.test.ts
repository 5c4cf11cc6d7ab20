import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DecodeError, TransientError } from '../../../core/errors.js';
import { rejection } from './testing/uplinks.js';
import { createTs013Runner, type Ts013Input } from './ts013-sandbox.js';

const CODECS = new URL('../../../test/fixtures/decode/ts013/', import.meta.url);
const codec = (name: string): string => readFileSync(new URL(`${name}.js`, CODECS), 'utf8');

const RECV_TIME = Date.parse('2026-03-29T07:15:02Z');
const input = (hex: string, fPort = 1): Ts013Input => ({ bytes: Buffer.from(hex, 'hex'), fPort, recvTime: RECV_TIME });
// Acme WM-1: leak flag, 123456 l, battery 7 %, 12.34 °C.
const WATER_PAYLOAD = '0140e20100' + '07' + 'd204';

const TIMEOUT_MS = 1000;
const runner = createTs013Runner({ timeoutMs: TIMEOUT_MS, maxMemoryMb: 32, workers: 1 });
afterAll(() => runner.close());

describe('a TS013 codec in the sandbox', () => {
  it('decodes as its vendor wrote it, with its warnings', async () => {
    expect(await runner.decodeUplink(codec('acme-wm1-water-meter'), input(WATER_PAYLOAD))).toEqual({
      data: {
        volumeL: 123456,
        temperatureC: 12.34,
        batteryPercent: 7,
        alarms: { leak: true, backflow: false, tamper: false },
      },
      warnings: ['battery low: 7%'],
      errors: [],
    });
  });

  it('returns the errors a codec reports, and empty lists for those it leaves out', async () => {
    expect(await runner.decodeUplink(codec('acme-wm1-water-meter'), input('01', 1))).toEqual({
      data: undefined,
      warnings: [],
      errors: ['expected 8 bytes on fPort 1, got 1'],
    });
  });

  it('hands the codec bytes as an array of numbers, the fPort, and recvTime as a Date', async () => {
    const script = `function decodeUplink(input) {
      return { data: { isArray: Array.isArray(input.bytes), bytes: input.bytes, fPort: input.fPort,
        isDate: input.recvTime instanceof Date, recvTime: input.recvTime.toISOString() } };
    }`;
    expect((await runner.decodeUplink(script, input('00ff10', 7))).data).toEqual({
      isArray: true,
      bytes: [0, 255, 16],
      fPort: 7,
      isDate: true,
      recvTime: '2026-03-29T07:15:02.000Z',
    });
  });

  it('compiles a script once and reuses it for later calls', async () => {
    const script = 'var calls = 0; function decodeUplink() { calls += 1; return { data: { calls: calls } }; }';
    await runner.decodeUplink(script, input('00'));
    expect((await runner.decodeUplink(script, input('00'))).data).toEqual({ calls: 2 });
  });

  it('keeps each codec in its own context', async () => {
    await runner.decodeUplink('function decodeUplink() { globalThis.leaked = 1; return { data: {} }; }', input('00'));
    const other = 'function decodeUplink() { return { data: { leaked: typeof leaked } }; }';
    expect((await runner.decodeUplink(other, input('00'))).data).toEqual({ leaked: 'undefined' });
  });

  it('takes a decodeUplink exported through module.exports only', async () => {
    const script = 'module.exports = { decodeUplink: function (input) { return { data: { n: input.bytes.length } }; } };';
    expect((await runner.decodeUplink(script, input('0102'))).data).toEqual({ n: 2 });
  });

  it('gives the codec nothing of the host: no require, process, fetch, timers, eval, nor a way through its input', async () => {
    expect((await runner.decodeUplink(codec('escape-attempt'), input('00'))).data).toEqual({
      require: 'undefined',
      process: 'undefined',
      fetch: 'undefined',
      setTimeout: 'undefined',
      buffer: 'undefined',
      webAssembly: 'undefined',
      functionConstructor: 'blocked',
      eval: 'blocked',
      inputRealm: 'blocked',
      bytesRealm: 'blocked',
    });
  });

  it('serves calls beyond its pool size in turn', async () => {
    const script = 'function decodeUplink(input) { return { data: { first: input.bytes[0] } }; }';
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => runner.decodeUplink(script, input(`0${n}`))));
    expect(results.map((result) => result.data)).toEqual([1, 2, 3, 4, 5].map((first) => ({ first })));
  });
});

describe('a codec that misbehaves', () => {
  it('is stopped with CODEC_TIMEOUT when it loops forever, and the next call works', async () => {
    const started = performance.now();
    const err = await rejection(runner.decodeUplink(codec('infinite-loop'), input('')));
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(DecodeError);
    expect(err).toMatchObject({ reason: 'CODEC_TIMEOUT', retriable: false });
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 2000);
    expect((await runner.decodeUplink(codec('acme-wm1-water-meter'), input(WATER_PAYLOAD))).errors).toEqual([]);
  });

  it('is stopped with CODEC_OUT_OF_MEMORY when it allocates without bound, and the next call works', async () => {
    const err = await rejection(runner.decodeUplink(codec('memory-bomb'), input('00')));
    expect(err).toMatchObject({ reason: 'CODEC_OUT_OF_MEMORY', message: 'codec: exceeded the 32 MB heap limit' });
    expect((await runner.decodeUplink(codec('acme-wm1-water-meter'), input(WATER_PAYLOAD))).errors).toEqual([]);
  });

  it.each([
    { case: 'does not compile', script: 'function decodeUplink(input) {', reason: 'CODEC_INVALID', message: /^codec: SyntaxError: / },
    { case: 'defines no decodeUplink', script: 'function decode(input) { return {}; }', reason: 'CODEC_INVALID', message: /no function decodeUplink/ },
    {
      case: 'throws',
      script: 'function decodeUplink(input) { throw new RangeError("byte 3 out of range"); }',
      reason: 'CODEC_EXCEPTION',
      message: /^codec: RangeError: byte 3 out of range$/,
    },
    {
      case: 'recurses past the stack limit',
      script: 'function f(n) { return f(n + 1) + 1; } function decodeUplink() { return { data: { n: f(0) } }; }',
      reason: 'CODEC_EXCEPTION',
      message: /Maximum call stack size exceeded/,
    },
    { case: 'returns no object', script: 'function decodeUplink() { return 42; }', reason: 'CODEC_BAD_OUTPUT', message: /got 42$/ },
    { case: 'returns nothing', script: 'function decodeUplink() {}', reason: 'CODEC_BAD_OUTPUT', message: /got undefined$/ },
    {
      case: 'returns errors that are no list of strings',
      script: 'function decodeUplink() { return { errors: "bad" }; }',
      reason: 'CODEC_BAD_OUTPUT',
      message: /errors must be an array of strings, got "bad"$/,
    },
    {
      case: 'returns what JSON cannot hold',
      script: 'function decodeUplink() { return { data: { n: 10n } }; }',
      reason: 'CODEC_BAD_OUTPUT',
      message: /the return value is not JSON/,
    },
  ])('is reported with $reason when it $case', async ({ script, reason, message }) => {
    const err = await rejection(runner.decodeUplink(script, input('00')));
    expect(err).toBeInstanceOf(DecodeError);
    expect(err).toMatchObject({ reason, message: expect.stringMatching(message) });
  });
});

describe('closing the sandbox', () => {
  it('fails later calls with a retriable SANDBOX_CLOSED, and may be repeated', async () => {
    const closing = createTs013Runner({ workers: 1 });
    await closing.decodeUplink('function decodeUplink() { return { data: {} }; }', input('00'));
    await closing.close();
    await closing.close();
    const err = await rejection(closing.decodeUplink('function decodeUplink() { return { data: {} }; }', input('00')));
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code: 'SANDBOX_CLOSED', retriable: true });
  });

  it('fails a call it interrupts as retriable, not as the codec\'s fault', async () => {
    const closing = createTs013Runner({ workers: 1, timeoutMs: 5000 });
    const pending = rejection(closing.decodeUplink(codec('infinite-loop'), input('')));
    const queued = rejection(closing.decodeUplink(codec('acme-wm1-water-meter'), input(WATER_PAYLOAD)));
    // One turn of the event loop: the first call is then running in its worker.
    await new Promise(setImmediate);
    await closing.close();
    expect(await pending).toMatchObject({ code: 'SANDBOX_CLOSED' });
    expect(await queued).toMatchObject({ code: 'SANDBOX_CLOSED' });
  });

  it('refuses options that are not positive integers', () => {
    expect(() => createTs013Runner({ timeoutMs: 0 })).toThrow('timeoutMs: expected a positive integer, got 0');
  });
});
