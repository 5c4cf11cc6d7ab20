/**
 * Runs user-supplied LoRaWAN payload codecs in the LoRa Alliance TS013 form (a script defining
 * `function decodeUplink(input)` → `{ data, warnings, errors }`, as vendors publish them) away from
 * everything else: each in a `node:vm` context of its own inside a `node:worker_threads` worker
 * with V8 heap and stack limits and an empty environment, under a hard wall-clock limit.
 *
 * A small pool of workers is kept; each compiles a script once and reuses it for every later call.
 * A worker whose codec overran the time (it is terminated) or the memory limit (V8 stops it) is
 * replaced on the next call, so one bad codec costs one uplink, not the decoder.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { DecodeError, TransientError } from '../../../core/errors.js';

/** Limits of {@link createTs013Runner}. */
export interface Ts013SandboxOptions {
  /**
   * Wall-clock limit of one call, compiling the script included; a codec still running then is
   * stopped (its worker terminated) and the call fails with `CODEC_TIMEOUT`.
   * @default 1000
   */
  readonly timeoutMs?: number;
  /**
   * Heap limit of a worker (V8 old generation), in MB; a codec that needs more is stopped and the
   * call fails with `CODEC_OUT_OF_MEMORY`. The young generation gets a quarter of it, at most 16 MB.
   * Memory outside the V8 heap (typed array buffers) is not counted.
   * @default 64
   */
  readonly maxMemoryMb?: number;
  /**
   * Stack size of a worker, in MB; deeper recursion fails the call with `CODEC_EXCEPTION`.
   * @default 4
   */
  readonly stackSizeMb?: number;
  /**
   * Number of workers, so one slow codec does not hold up every device.
   * @default 2
   */
  readonly workers?: number;
}

/** The TS013 `decodeUplink` input; `recvTime` in epoch ms reaches the codec as a `Date`. */
export interface Ts013Input {
  readonly bytes: Uint8Array;
  readonly fPort: number;
  readonly recvTime: number;
}

/** A codec's answer, its shape checked: `errors` and `warnings` are `[]` when it gave none. */
export interface Ts013Output {
  /** As the codec returned it, through JSON (dates become strings); normally an object. */
  readonly data: unknown;
  readonly warnings: string[];
  readonly errors: string[];
}

/** Runs TS013 codecs; see {@link createTs013Runner}. */
export interface Ts013Runner {
  /**
   * Runs `script`'s `decodeUplink` on `input`.
   *
   * @throws {DecodeError} `CODEC_INVALID` (does not compile, or defines no `decodeUplink`),
   *   `CODEC_EXCEPTION` (it threw), `CODEC_BAD_OUTPUT` (not `{ data, warnings, errors }`, not JSON,
   *   or over 1,000,000 characters), `CODEC_TIMEOUT`, `CODEC_OUT_OF_MEMORY`, `CODEC_CRASHED`.
   * @throws {TransientError} `SANDBOX_CLOSED` after {@link close}.
   */
  decodeUplink(script: string, input: Ts013Input): Promise<Ts013Output>;
  /** Terminates the workers; idempotent. Calls waiting for a worker fail with `SANDBOX_CLOSED`. */
  close(): Promise<void>;
}

/** Creates a sandbox; workers start on first use. Call `close()` on shutdown. */
export function createTs013Runner(options: Ts013SandboxOptions = {}): Ts013Runner {
  return new Ts013Sandbox(options);
}

const WORKER_URL = new URL('./ts013-worker.mjs', import.meta.url);
const MAX_YOUNG_GENERATION_MB = 16;

type WorkerReply =
  | { readonly ok: true; readonly json: string | undefined }
  | { readonly ok: false; readonly failure: 'invalid' | 'exception' | 'output'; readonly message: string };

const FAILURE_REASONS = { invalid: 'CODEC_INVALID', exception: 'CODEC_EXCEPTION', output: 'CODEC_BAD_OUTPUT' } as const;

interface Slot {
  worker: Worker | undefined;
  busy: boolean;
}

class Ts013Sandbox implements Ts013Runner {
  private readonly timeoutMs: number;
  private readonly memoryMb: number;
  private readonly resourceLimits: ResourceLimits;
  private readonly slots: Slot[];
  private readonly waiting: { resolve: (slot: Slot) => void; reject: (err: Error) => void }[] = [];
  private closed = false;

  constructor(options: Ts013SandboxOptions) {
    this.timeoutMs = positive(options.timeoutMs ?? 1000, 'timeoutMs');
    const memoryMb = positive(options.maxMemoryMb ?? 64, 'maxMemoryMb');
    this.memoryMb = memoryMb;
    this.resourceLimits = {
      maxOldGenerationSizeMb: memoryMb,
      maxYoungGenerationSizeMb: Math.max(1, Math.min(MAX_YOUNG_GENERATION_MB, Math.floor(memoryMb / 4))),
      stackSizeMb: positive(options.stackSizeMb ?? 4, 'stackSizeMb'),
    };
    const workers = positive(options.workers ?? 2, 'workers');
    this.slots = Array.from({ length: workers }, () => ({ worker: undefined, busy: false }));
  }

  async decodeUplink(script: string, input: Ts013Input): Promise<Ts013Output> {
    const slot = await this.acquire();
    try {
      return outputOf(await this.run(slot, script, input));
    } finally {
      this.release(slot);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(closedError());
    await Promise.all(this.slots.map((slot) => this.discard(slot)));
  }

  private acquire(): Promise<Slot> {
    if (this.closed) return Promise.reject(closedError());
    const free = this.slots.find((slot) => !slot.busy);
    if (free !== undefined) {
      free.busy = true;
      return Promise.resolve(free);
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private release(slot: Slot): void {
    const next = this.waiting.shift();
    if (next === undefined) slot.busy = false;
    else next.resolve(slot);
  }

  private run(slot: Slot, script: string, input: Ts013Input): Promise<string | undefined> {
    if (this.closed) return Promise.reject(closedError());
    const worker = (slot.worker ??= this.spawn());
    return new Promise((resolve, reject) => {
      const fail = (err: DecodeError): void => {
        settle();
        void this.discard(slot);
        // close() terminates workers mid-call: that is no fault of the uplink's.
        reject(this.closed ? closedError() : err);
      };
      const onMessage = (reply: WorkerReply): void => {
        settle();
        if (reply.ok) resolve(reply.json);
        else reject(new DecodeError(FAILURE_REASONS[reply.failure], `codec: ${reply.message}`));
      };
      const onError = (err: Error): void => {
        fail(
          'code' in err && err.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? new DecodeError('CODEC_OUT_OF_MEMORY', `codec: exceeded the ${this.memoryMb} MB heap limit`, { cause: err })
            : new DecodeError('CODEC_CRASHED', `codec: the sandbox worker failed: ${err.message}`, { cause: err }),
        );
      };
      const onExit = (code: number): void => {
        fail(new DecodeError('CODEC_CRASHED', `codec: the sandbox worker exited with code ${code}`));
      };
      const timer = setTimeout(() => {
        fail(new DecodeError('CODEC_TIMEOUT', `codec: did not return within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const settle = (): void => {
        clearTimeout(timer);
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      // As text: cloning a view would copy its whole backing buffer, often a consumer's fetch batch.
      const bytes = Buffer.from(input.bytes.buffer, input.bytes.byteOffset, input.bytes.byteLength).toString('latin1');
      worker.postMessage({ script, bytes, fPort: input.fPort, recvTime: input.recvTime });
    });
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_URL, { env: {}, execArgv: [], resourceLimits: this.resourceLimits });
    // Failures are handled per call; between calls a worker runs nothing that could fail.
    worker.on('error', () => {});
    // An idle pool must not keep the process alive; a pending call holds its timer.
    worker.unref();
    return worker;
  }

  private async discard(slot: Slot): Promise<void> {
    const { worker } = slot;
    slot.worker = undefined;
    if (worker !== undefined) await worker.terminate();
  }
}

/** Checks the TS013 result shape: an object with optional string arrays `errors` and `warnings`. */
function outputOf(json: string | undefined): Ts013Output {
  const output: unknown = json === undefined ? undefined : JSON.parse(json);
  if (typeof output !== 'object' || output === null || Array.isArray(output)) {
    throw new DecodeError('CODEC_BAD_OUTPUT', `codec: decodeUplink must return { data, warnings, errors }, got ${excerpt(json ?? 'undefined')}`);
  }
  const record = output as Record<string, unknown>;
  return { data: record['data'], warnings: messages(record, 'warnings'), errors: messages(record, 'errors') };
}

function messages(output: Record<string, unknown>, field: 'errors' | 'warnings'): string[] {
  const list = output[field];
  if (list === undefined || list === null) return [];
  if (Array.isArray(list) && list.every((entry) => typeof entry === 'string')) return list as string[];
  throw new DecodeError('CODEC_BAD_OUTPUT', `codec: ${field} must be an array of strings, got ${excerpt(JSON.stringify(list))}`);
}

const EXCERPT_CHARS = 120;

function excerpt(text: string): string {
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text;
}

function closedError(): TransientError {
  return new TransientError('the TS013 sandbox is closed', { code: 'SANDBOX_CLOSED' });
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name}: expected a positive integer, got ${value}`);
  return value;
}
