/**
 * The `lns` connector: a client of a LoRaWAN network server's application WebSocket (IOT Vega
 * Server, or LORIOT with `dialect: 'loriot'`). It logs in, writes every pushed uplink to
 * `uplink.raw.v1` through the ingest, and after every (re)connect asks the server for what it stored
 * since the resume watermark, so an outage of the link, of Kafka or of the connector loses nothing.
 *
 * Neither server lets an application confirm an `rx` (see README.md), so the upstream
 * "acknowledgement after the Kafka ack" is the watermark: it only passes uplinks Kafka acknowledged,
 * and the resume query starts from it.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { BadInputError, ConfigError, errorMessage } from '../../core/errors.js';
import type { ComponentHealth } from '../../core/metrics.js';
import type { Ingest } from '../kit/ingest.js';
import { payloadHash } from '../kit/ingest.js';
import type { Source } from '../kit/source.js';
import { reconnectDelay } from './backoff.js';
import { LnsAuthError, dialectDriver, type LnsCredentials } from './dialects.js';
import { openLink, type Link } from './link.js';
import { parseServerFrame, type JsonObject, type LnsDialect } from './protocol.js';
import { WATERMARK_METADATA_KEY, type LnsResumeStore } from './resume-store.js';
import { deviceIdOf, identify, readUplink, uplinkDraft, type UplinkIdentity } from './uplink.js';
import { Watermark } from './watermark.js';

/** Options of {@link createLnsSource}: the `lns` config slice plus tuning. */
export interface LnsSourceOptions {
  /** WebSocket URL of the server's application API (`LNS_URL`), `ws:` or `wss:`. */
  readonly url: string;
  /** Vega login (`LNS_LOGIN`); unused by LORIOT. */
  readonly login?: string;
  /** Vega password, or the LORIOT application token (`LNS_PASSWORD`). */
  readonly password?: string;
  /** @default 'vega' */
  readonly dialect?: LnsDialect;
  /**
   * Where a restarted connector resumes (usually `createKafkaResumeStore` of resume-store.ts).
   * @default none: every start is a first start, looking back `initialLookbackMs`
   */
  readonly resumeStore?: LnsResumeStore;
  /** @default the ingest's logger */
  readonly logger?: Logger;
  /** Registry for the connector's own metrics (the ingest counts writes). @default none */
  readonly metrics?: Registry;
  /**
   * Name of this connector in metrics and logs; give the ingest's connector name, which is what the
   * resume store looks for in `RawUplink.connector`.
   * @default 'lns'
   */
  readonly connector?: string;
  /** @default 500 */
  readonly reconnectInitialDelayMs?: number;
  /** @default 30000 */
  readonly reconnectMaxDelayMs?: number;
  /** Longest wait for the handshake and for each answer of the server. @default 10000 */
  readonly requestTimeoutMs?: number;
  /** @default 30000 */
  readonly pingIntervalMs?: number;
  /**
   * How far before the watermark the resume query starts, for uplinks the server stamped out of
   * order. What was already written in the overlap is recognised by idempotency key and skipped.
   * @default 60000
   */
  readonly resumeOverlapMs?: number;
  /** How far back the first resume of a connector with no watermark yet reaches. @default 86400000 (24 h) */
  readonly initialLookbackMs?: number;
  /** Records per history request (Vega `limit`, LORIOT `perPage`). @default 500 */
  readonly historyPageSize?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** What the connector knows about its link, for health and tests. */
export interface LnsStatus {
  readonly connected: boolean;
  readonly authenticated: boolean;
  /** The current connection has fetched what was missed before it. */
  readonly resumed: boolean;
  /** When the last frame arrived (epoch ms). */
  readonly lastMessageAt: number | undefined;
  /** Why the last connection attempt failed or the last connection ended. */
  readonly lastError: string | undefined;
  /** The last login was refused. */
  readonly authFailed: boolean;
  readonly watermarkTs: number | undefined;
  /** Connections opened so far. */
  readonly connections: number;
}

/** The connector, with its status. */
export interface LnsSource extends Source {
  status(): LnsStatus;
}

type Via = 'live' | 'resume';

const SEEN_LIMIT = 200_000;

function metricsFor(registry: Registry | undefined) {
  if (!registry) return undefined;
  const existing = (name: string) => registry.getSingleMetric(name);
  return {
    frames: (existing('meterflux_lns_uplinks_total') as Counter<'connector' | 'outcome'> | undefined) ??
      new Counter({ name: 'meterflux_lns_uplinks_total', help: 'Uplink messages from the LNS, by outcome: accepted, duplicate, rejected, ignored.',
        labelNames: ['connector', 'outcome'], registers: [registry] }),
    connections: (existing('meterflux_lns_connections_total') as Counter<'connector' | 'outcome'> | undefined) ??
      new Counter({ name: 'meterflux_lns_connections_total', help: 'LNS connection attempts, by outcome: authenticated, auth_failed, failed.',
        labelNames: ['connector', 'outcome'], registers: [registry] }),
    connected: (existing('meterflux_lns_connected') as Gauge<'connector'> | undefined) ??
      new Gauge({ name: 'meterflux_lns_connected', help: '1 while the LNS link is open and authenticated.', labelNames: ['connector'], registers: [registry] }),
  };
}

/** Creates the connector. Throws a {@link ConfigError} for a URL that is not `ws:`/`wss:`. */
export function createLnsSource(options: LnsSourceOptions): LnsSource {
  const dialect = options.dialect ?? 'vega';
  const driver = dialectDriver(dialect);
  const credentials: LnsCredentials = { login: options.login, password: options.password };
  const connector = options.connector ?? 'lns';
  const now = options.now ?? Date.now;
  const initialDelayMs = options.reconnectInitialDelayMs ?? 500;
  const maxDelayMs = options.reconnectMaxDelayMs ?? 30_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const pingIntervalMs = options.pingIntervalMs ?? 30_000;
  const overlapMs = options.resumeOverlapMs ?? 60_000;
  const lookbackMs = options.initialLookbackMs ?? 24 * 60 * 60 * 1000;
  const pageSize = options.historyPageSize ?? 500;
  const metrics = metricsFor(options.metrics);
  const address = sourceAddressOf(options.url);

  let ingest!: Ingest;
  let logger!: Logger;
  let watermark = new Watermark();
  const seen = new Map<string, number>();
  const knownDevEuis = new Set<string>();
  const tasks = new Set<Promise<void>>();
  let link: Link | undefined;
  let starting: Promise<void> | undefined;
  let running: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let connections = 0;
  let nextAttemptAt: number | undefined;
  const state = { connected: false, authenticated: false, resumed: false, authFailed: false,
    lastMessageAt: undefined as number | undefined, lastError: undefined as string | undefined };

  function count(outcome: 'accepted' | 'duplicate' | 'rejected' | 'ignored'): void {
    metrics?.frames.inc({ connector, outcome });
  }

  function track(task: Promise<void>): void {
    tasks.add(task);
    void task.finally(() => tasks.delete(task));
  }

  /** Runs `write` with the uplink's time held in the watermark until it is durable. */
  async function durably(ts: number | undefined, write: () => Promise<void>): Promise<void> {
    const token = ts === undefined ? undefined : watermark.begin(ts);
    try {
      await write();
      if (token !== undefined) watermark.settle(token);
    } catch (err) {
      if (token !== undefined) watermark.fail(token);
      throw err;
    }
  }

  async function deadLetter(bytes: Buffer, error: BadInputError, identity: UplinkIdentity, via: Via): Promise<void> {
    // A refused uplink comes back with every overlapping resume (as a history entry, other bytes than
    // the live rx): dead-letter it once per process, recognised by device and server time.
    const key = identity.ts === undefined ? undefined : `dead:${identity.devEui ?? payloadHash(bytes)}:${identity.ts}`;
    if (key !== undefined && seen.has(key)) return;
    if (key !== undefined) remember(key, identity.ts ?? now());
    const deviceId = identity.devEui === undefined ? null : deviceIdOf(identity.devEui);
    try {
      await durably(identity.ts, () =>
        ingest.reject({ key: deviceId, bytes, deviceId, transport: 'LNS_WEBSOCKET', details: { sourceAddress: address, dialect, via } }, error),
      );
      count('rejected');
    } catch (err) {
      if (key !== undefined) seen.delete(key);
      throw err;
    }
  }

  /** Writes one uplink message; throws only when Kafka could not take it (retriable). */
  async function handleUplink(message: JsonObject, bytes: Buffer, via: Via): Promise<void> {
    let uplink;
    try {
      uplink = readUplink(message, dialect);
    } catch (err) {
      if (!(err instanceof BadInputError)) throw err;
      await deadLetter(bytes, err, identify(message, dialect), via);
      return;
    }
    knownDevEuis.add(uplink.devEui);
    if (uplink.fPort === 0) {
      count('ignored');
      return;
    }
    if (seen.has(uplink.idempotencyKey)) {
      count('duplicate');
      return;
    }
    remember(uplink.idempotencyKey, uplink.ts);
    const mark = watermark.value;
    const draft = uplinkDraft(uplink, address, { dialect, via, ...(mark === undefined ? {} : { [WATERMARK_METADATA_KEY]: String(mark) }) });
    try {
      await durably(uplink.ts, async () => {
        try {
          await ingest.accept([draft]);
          count('accepted');
        } catch (err) {
          // A draft the record schema refuses was not written: it is bad input, not a Kafka outage.
          if (!(err instanceof BadInputError)) throw err;
          await ingest.reject({ key: draft.deviceId, bytes, deviceId: draft.deviceId, transport: 'LNS_WEBSOCKET',
            details: { sourceAddress: address, dialect, via } }, err);
          count('rejected');
        }
      });
    } catch (err) {
      seen.delete(uplink.idempotencyKey);
      throw err;
    }
  }

  function remember(key: string, ts: number): void {
    if (seen.size >= SEEN_LIMIT) prune();
    seen.set(key, ts);
  }

  /**
   * Forgets what no resume query can return again: older than the watermark minus the overlap. When
   * that frees too little (a burst of more than the limit inside the overlap), the oldest entries go
   * too, so pruning stays amortised O(1) per uplink; a forgotten key only costs a duplicate record
   * that downstream dedup drops.
   */
  function prune(): void {
    const mark = watermark.value;
    if (mark !== undefined) for (const [key, ts] of seen) if (ts < mark - overlapMs) seen.delete(key);
    const target = Math.floor(SEEN_LIMIT * 0.9);
    for (const key of seen.keys()) {
      if (seen.size <= target) break;
      seen.delete(key);
    }
  }

  /** A write failed for a reason other than the input: drop the link, the next resume fetches it again. */
  function failLink(err: unknown): void {
    state.lastError = `writing to Kafka failed: ${errorMessage(err)}`;
    logger.error({ err }, 'an uplink could not be written; reconnecting to fetch it again');
    link?.close(4000, 'uplinks could not be written');
  }

  function onFrame(current: Link, bytes: Buffer): void {
    state.lastMessageAt = now();
    let frame;
    try {
      frame = parseServerFrame(bytes.toString('utf8'), dialect);
    } catch (err) {
      if (!(err instanceof BadInputError)) throw err;
      track(deadLetter(bytes, err, {}, 'live').catch((e: unknown) => logger.error({ err: e }, 'a refused LNS frame could not be dead-lettered')));
      return;
    }
    if (frame.kind === 'uplink') {
      track(handleUplink(frame.message, bytes, 'live').catch(failLink));
    } else if (frame.kind === 'response') {
      if (!current.answer(frame)) logger.debug({ cmd: frame.cmd }, 'LNS answer nobody waits for (a late reply); ignored');
    } else {
      logger.debug({ cmd: frame.cmd }, 'LNS notification without uplink; ignored');
    }
  }

  /** One connection, from opening to closing; resolves when it closed, throws when it failed. */
  async function session(onAuthenticated: () => void): Promise<void> {
    watermark.freeze();
    const current = await openLink({ url: driver.connectUrl(options.url, credentials), address, requestTimeoutMs, pingIntervalMs, onFrame });
    link = current;
    connections++;
    state.connected = true;
    try {
      const auth = await driver.authenticate(current, credentials);
      state.authenticated = true;
      state.authFailed = false;
      state.lastError = undefined;
      metrics?.connections.inc({ connector, outcome: 'authenticated' });
      metrics?.connected.set({ connector }, 1);
      onAuthenticated();
      if (auth.unsolicited === false) logger.warn('the LNS account does not push rx (rx_settings.unsolicited is false); uplinks arrive only by resume');

      const mark = watermark.value;
      const from = mark === undefined ? now() - lookbackMs : mark - overlapMs;
      logger.info({ from, watermarkTs: mark }, 'connected and authenticated; fetching what was missed');
      await driver.fetchHistory(current, { from, knownDevEuis, pageSize, logger }, async (entries) => {
        await Promise.all(entries.map((entry) => {
          const written = handleUplink(entry.message, entry.bytes, 'resume');
          track(written.catch(() => undefined));
          return written;
        }));
      });
      watermark.release();
      state.resumed = true;
      prune();
      logger.info({ watermarkTs: watermark.value }, 'resumed; receiving live uplinks');

      const { code, reason } = await current.closed;
      state.lastError = `connection closed by ${stopping ? 'the connector' : 'the peer'} (code ${code}${reason ? `: ${reason}` : ''})`;
    } catch (err) {
      current.close(4000, 'connector error');
      await current.closed;
      throw err;
    } finally {
      link = undefined;
      state.connected = false;
      state.authenticated = false;
      state.resumed = false;
      watermark.freeze();
      metrics?.connected.set({ connector }, 0);
    }
  }

  async function run(onFirstSettled: () => void): Promise<void> {
    for (let attempt = 0; !stopping; ) {
      try {
        await session(() => {
          attempt = 0;
          onFirstSettled();
        });
      } catch (err) {
        const refused = err instanceof LnsAuthError || /Unexpected server response: 40[13]\b/.test(errorMessage(err));
        state.authFailed = refused;
        state.lastError = refused && !(err instanceof LnsAuthError) ? `LNS refused the login: ${errorMessage(err)}` : errorMessage(err);
        metrics?.connections.inc({ connector, outcome: refused ? 'auth_failed' : 'failed' });
        if (!stopping) logger.error({ err, authFailed: refused }, 'LNS connection failed');
      }
      onFirstSettled();
      if (stopping) break;
      const delay = reconnectDelay(attempt++, initialDelayMs, maxDelayMs);
      nextAttemptAt = now() + delay;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      nextAttemptAt = undefined;
    }
  }

  return {
    name: 'lns',

    start(target) {
      starting ??= (async () => {
        ingest = target;
        // The ingest's logger already names the component and connector; pino would repeat the keys.
        logger = options.logger?.child({ component: 'lns', connector, dialect, address }) ?? target.logger.child({ dialect, address });
        const point = await options.resumeStore?.load();
        watermark = new Watermark(point?.watermarkTs);
        for (const written of point?.written ?? []) {
          seen.set(written.idempotencyKey, written.ts);
          knownDevEuis.add(written.devEui);
        }
        if (stopping) return;
        await new Promise<void>((settled) => {
          running = run(settled).catch((err: unknown) => logger.fatal({ err }, 'the LNS connection loop stopped unexpectedly'));
        });
      })();
      return starting;
    },

    stop() {
      stopping ??= (async () => {
        wake?.();
        link?.close(1000, 'connector stopping');
        await starting?.catch(() => undefined);
        await running;
        await Promise.allSettled([...tasks]);
      })();
      return stopping;
    },

    status: () => ({ ...state, watermarkTs: watermark.value, connections }),

    health(): ComponentHealth {
      const retry = nextAttemptAt === undefined ? '' : `; retrying in ${Math.max(0, (nextAttemptAt - now()) / 1000).toFixed(1)} s`;
      if (state.authFailed && !state.authenticated) return { healthy: false, detail: `unauthenticated at ${address}: ${state.lastError ?? ''}${retry}` };
      if (!state.connected) return { healthy: false, detail: `disconnected from ${address}: ${state.lastError ?? 'not connected yet'}${retry}` };
      if (!state.authenticated) return { healthy: false, detail: `connected to ${address}, not yet authenticated` };
      const age = state.lastMessageAt === undefined ? 'none yet' : `${((now() - state.lastMessageAt) / 1000).toFixed(1)} s ago`;
      return { healthy: true, detail: `connected to ${address}, authenticated, ${state.resumed ? 'resumed' : 'resuming'}, last message ${age}` };
    },
  };
}

/** The server URL without credentials or query (a LORIOT token travels in the query). */
function sourceAddressOf(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError([`LNS_URL must be a ws: or wss: URL, got "${url.replace(/\/\/[^/@]*@/, '//***@')}"`]);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new ConfigError([`LNS_URL must use ws: or wss:, got ${parsed.protocol}`]);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}
