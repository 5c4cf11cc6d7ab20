/**
 * The TS013 sandbox's worker thread (started by ts013-sandbox.ts; plain JavaScript so that it runs
 * under any loader, tsx or vitest, without a TypeScript step).
 *
 * Each codec script is compiled once into its own `node:vm` context: only the JavaScript built-ins,
 * no require, process, fetch or timers, no eval or `new Function`, no WebAssembly or shared
 * memory. Only primitives cross into the context (the bytes as a latin1 string), so no object of
 * this realm, and through it no Function that could reach `process`, is ever within the codec's
 * reach. The parent enforces time and memory: it terminates this thread.
 *
 * Protocol: the parent posts `{ script, bytes, fPort, recvTime }`, bytes as a latin1 string; the
 * worker answers `{ ok: true, json }` with the codec's return value as JSON, or
 * `{ ok: false, failure, message }` with failure `invalid` (no usable decodeUplink), `exception`
 * (it threw) or `output` (its return value is not JSON or too large).
 */
import { parentPort } from 'node:worker_threads';
import vm from 'node:vm';

const MAX_CODECS = 16;
const MAX_OUTPUT_CHARS = 1_000_000;
const MAX_MESSAGE_CHARS = 500;

// Vendors' scripts sometimes end with `module.exports = { decodeUplink }` for their own tests.
const PRELUDE = `
  delete globalThis.WebAssembly;
  delete globalThis.SharedArrayBuffer;
  delete globalThis.Atomics;
  var module = { exports: {} };
  var exports = module.exports;
`;
const HAS_DECODER = `
  typeof decodeUplink === 'function' ||
  (typeof module === 'object' && module !== null && typeof module.exports === 'object' &&
    module.exports !== null && typeof module.exports.decodeUplink === 'function')
`;
const INVOKER = `(function (latin1, fPort, recvTime) {
  var decode = typeof decodeUplink === 'function' ? decodeUplink : module.exports.decodeUplink;
  var bytes = new Array(latin1.length);
  for (var i = 0; i < latin1.length; i++) bytes[i] = latin1.charCodeAt(i);
  return decode({ bytes: bytes, fPort: fPort, recvTime: new Date(recvTime) });
})`;

/** Compiled codecs by source, oldest first. */
const codecs = new Map();

function compile(script) {
  const context = vm.createContext(Object.create(null), {
    name: 'ts013 codec',
    codeGeneration: { strings: false, wasm: false },
  });
  vm.runInContext(PRELUDE, context);
  new vm.Script(script, { filename: 'codec.js' }).runInContext(context);
  if (vm.runInContext(HAS_DECODER, context) !== true) {
    throw new Error('the script defines no function decodeUplink(input)');
  }
  return vm.runInContext(INVOKER, context);
}

/** A message for anything a codec throws; its getters run inside the codec's context. */
function messageOf(err) {
  try {
    const text =
      typeof err === 'object' && err !== null && typeof err.message === 'string'
        ? `${typeof err.name === 'string' ? `${err.name}: ` : ''}${err.message}`
        : String(err);
    return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
  } catch {
    return 'an exception that cannot be printed';
  }
}

function answer(message) {
  parentPort.postMessage(message);
}

parentPort.on('message', ({ script, bytes, fPort, recvTime }) => {
  let decode = codecs.get(script);
  if (decode === undefined) {
    try {
      decode = compile(script);
    } catch (err) {
      answer({ ok: false, failure: 'invalid', message: messageOf(err) });
      return;
    }
    if (codecs.size === MAX_CODECS) codecs.delete(codecs.keys().next().value);
    codecs.set(script, decode);
  }
  let result;
  try {
    result = decode(bytes, fPort, recvTime);
  } catch (err) {
    answer({ ok: false, failure: 'exception', message: messageOf(err) });
    return;
  }
  let json;
  try {
    json = JSON.stringify(result);
  } catch (err) {
    answer({ ok: false, failure: 'output', message: `the return value is not JSON: ${messageOf(err)}` });
    return;
  }
  if (json !== undefined && json.length > MAX_OUTPUT_CHARS) {
    answer({ ok: false, failure: 'output', message: `the return value is ${json.length} characters of JSON, at most ${MAX_OUTPUT_CHARS}` });
    return;
  }
  answer({ ok: true, json });
});
