/**
 * The connector against the emulator over real WebSockets, with a fake of our own Ingest interface
 * in place of Kafka (lns.int.test.ts runs the same paths against the real broker).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TransientError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { waitFor } from '../../test/support/stack.js';
import type { Ingest, UplinkDraft } from '../kit/ingest.js';
import { uplinkIdFor } from '../kit/ingest.js';
import { startLnsEmulator, type LnsEmulator } from './emulator.js';
import type { JsonObject, LnsDialect } from './protocol.js';
import type { LnsResumeStore } from './resume-store.js';
import { createLnsSource, type LnsSource, type LnsSourceOptions } from './source.js';
import { readUplink } from './uplink.js';

const USERS = { meterflux: 'secret' };
const EUI_A = '70b3d5e75e00000a';
const EUI_B = '70B3D5E75E00000B';

interface FakeIngest extends Ingest {
  readonly accepted: UplinkDraft[];
  readonly rejected: Array<{ reason: string; deviceId: string | null | undefined }>;
  /** Makes the next `n` accept calls fail as an unreachable Kafka does. */
  failNext(n: number): void;
}

function fakeIngest(): FakeIngest {
  const accepted: UplinkDraft[] = [];
  const rejected: FakeIngest['rejected'] = [];
  let failures = 0;
  return {
    accepted,
    rejected,
    failNext: (n) => void (failures = n),
    logger: createLogger({ level: 'silent', name: 'test' }),
    pressure: () => ({ inFlight: 0, limit: 10_000 }),
    accept(drafts) {
      if (failures > 0) {
        failures--;
        return Promise.reject(new TransientError('Kafka is not reachable', { code: 'SERVICE_UNAVAILABLE' }));
      }
      accepted.push(...drafts);
      return Promise.resolve(drafts.map((d) => ({ uplinkId: uplinkIdFor(d.idempotencyKey), idempotencyKey: d.idempotencyKey })));
    },
    reject(input, error) {
      rejected.push({ reason: error.reason, deviceId: input.deviceId });
      return Promise.resolve();
    },
  };
}

let emulator: LnsEmulator | undefined;
let source: LnsSource | undefined;

afterEach(async () => {
  await source?.stop();
  await emulator?.close();
  source = undefined;
  emulator = undefined;
});

async function setUp(dialect: LnsDialect, options: Partial<LnsSourceOptions> = {}) {
  emulator = await startLnsEmulator({ dialect, users: USERS, tokens: ['app-token'] });
  source = createLnsSource({
    url: emulator.url,
    dialect,
    login: 'meterflux',
    password: dialect === 'vega' ? 'secret' : 'app-token',
    reconnectInitialDelayMs: 20,
    reconnectMaxDelayMs: 200,
    requestTimeoutMs: 2_000,
    ...options,
  });
  const ingest = fakeIngest();
  return { emulator, source, ingest };
}

const keys = (drafts: readonly UplinkDraft[]) => drafts.map((d) => d.idempotencyKey);

describe('the lns connector against a Vega-style server', () => {
  it('logs in, and hands every pushed rx to the ingest as a LoRaWAN payload keyed by device', async () => {
    const { emulator, source, ingest } = await setUp('vega');
    await source.start(ingest);
    await waitFor('the resume to complete', () => source.status().resumed);

    emulator.emit({ devEui: EUI_A, fcnt: 1, port: 2, payload: '0a0b0c' });
    emulator.emit({ devEui: EUI_B, fcnt: 9, port: 3, payload: Buffer.from([0xff]) });
    await waitFor('two uplinks', () => ingest.accepted.length === 2);

    expect(ingest.accepted.map((d) => [d.deviceId, d.payload.toString('hex'), d.radio?.fCnt])).toEqual([
      ['lorawan:70b3d5e75e00000a', '0a0b0c', 1],
      ['lorawan:70b3d5e75e00000b', 'ff', 9],
    ]);
    expect(source.health()).toMatchObject({ healthy: true });
    expect(source.health().detail).toMatch(/authenticated, resumed, last message \d+\.\d s ago/);
    expect(emulator.requests().map((r) => r.cmd)[0]).toBe('auth_req');
  });

  it('fetches what was emitted while the link was down, page by page, and writes nothing twice', async () => {
    const { emulator, source, ingest } = await setUp('vega', { historyPageSize: 2 });
    await source.start(ingest);
    await waitFor('the resume to complete', () => source.status().resumed);
    const first = emulator.emit({ devEui: EUI_A, fcnt: 1, port: 2, payload: '01' });
    await waitFor('the first uplink', () => ingest.accepted.length === 1);

    emulator.refuseConnections(true);
    emulator.dropConnections();
    await waitFor('the connector to notice', () => !source.status().connected);
    const missed = [2, 3, 4].map((fcnt) => emulator.emit({ devEui: EUI_A, fcnt, port: 2, payload: '02' }));
    expect(emulator.sessions()).toBe(0);
    emulator.refuseConnections(false);

    await waitFor('the missed uplinks', () => ingest.accepted.length === 4);
    expect(keys(ingest.accepted).sort()).toEqual([first, ...missed].map((m) => readUplink(m, 'vega').idempotencyKey).sort());
    expect(ingest.accepted.slice(1).map((d) => d.metadata?.['via'])).toEqual(['resume', 'resume', 'resume']);
    const resume = emulator.requests().find((r) => r.cmd === 'get_data_req');
    expect(resume?.message).toMatchObject({ devEui: EUI_A, select: { date_from: (first['ts'] as number) - 60_000 } });
    expect(emulator.requests().filter((r) => r.cmd === 'get_data_req').map((r) => (r.message['select'] as JsonObject)['begin_index'])).toEqual([0, 2]);
  });

  it('drops the link when Kafka cannot take an uplink, and writes it after the next resume', async () => {
    const { emulator, source, ingest } = await setUp('vega');
    await source.start(ingest);
    await waitFor('the resume to complete', () => source.status().resumed);

    ingest.failNext(1);
    emulator.emit({ devEui: EUI_A, fcnt: 5, port: 2, payload: '05' });
    await waitFor('the uplink to be written after a reconnect', () => ingest.accepted.length === 1);
    expect(emulator.connectionsAccepted()).toBe(2);
    expect(ingest.accepted[0]?.metadata?.['via']).toBe('resume');
  });

  it('records in each uplink the watermark that held when it was written', async () => {
    const { emulator, source, ingest } = await setUp('vega');
    await source.start(ingest);
    await waitFor('the resume to complete', () => source.status().resumed);
    emulator.emit({ devEui: EUI_A, fcnt: 1, port: 2, payload: '01', ts: 1_800_000_000_000 });
    await waitFor('the first uplink', () => ingest.accepted.length === 1);
    emulator.emit({ devEui: EUI_A, fcnt: 2, port: 2, payload: '02', ts: 1_800_000_001_000 });
    await waitFor('the second uplink', () => ingest.accepted.length === 2);

    expect(ingest.accepted.map((d) => d.metadata?.['lnsWatermarkTs'])).toEqual([undefined, '1800000000000']);
    expect(source.status().watermarkTs).toBe(1_800_000_001_000);
  });

  it('resumes a restarted connector from the stored watermark minus the overlap, skipping what was written', async () => {
    const written = { idempotencyKey: '', ts: 1_800_000_000_000, devEui: EUI_A };
    const store: LnsResumeStore = { load: () => Promise.resolve({ watermarkTs: 1_800_000_000_000, written: [written] }) };
    const { emulator, source, ingest } = await setUp('vega', { resumeStore: store, resumeOverlapMs: 5_000 });
    const old = emulator.emit({ devEui: EUI_A, fcnt: 1, port: 2, payload: '01', ts: 1_800_000_000_000 });
    emulator.emit({ devEui: EUI_A, fcnt: 2, port: 2, payload: '02', ts: 1_800_000_002_000 });
    Object.assign(written, { idempotencyKey: readUplink(old, 'vega').idempotencyKey });

    await source.start(ingest);
    await waitFor('the resume to complete', () => source.status().resumed);

    const query = emulator.requests().find((r) => r.cmd === 'get_data_req');
    expect(query?.message).toMatchObject({ devEui: EUI_A, select: { date_from: 1_799_999_995_000 } });
    expect(ingest.accepted.map((d) => d.radio?.fCnt)).toEqual([2]);
  });

  it('reports a refused login as unauthenticated in health and keeps retrying without crashing', async () => {
    const { emulator, source, ingest } = await setUp('vega', { password: 'wrong' });
    await source.start(ingest);

    await waitFor('a second login attempt', () => emulator.requests().filter((r) => r.cmd === 'auth_req').length >= 2);
    expect(source.health()).toMatchObject({ healthy: false });
    expect(source.health().detail).toMatch(/^unauthenticated at ws:\/\/127\.0\.0\.1:\d+\/: LNS refused the login: invalid login or password/);
    expect(source.status()).toMatchObject({ authenticated: false, authFailed: true });
    expect(emulator.requests().some((r) => r.cmd === 'get_data_req')).toBe(false);
  });

  it('dead-letters malformed frames with their reason and stays connected', async () => {
    const { emulator, source, ingest } = await setUp('vega');
    await source.start(ingest);
    await waitFor('the resume to complete', () => source.status().resumed);

    emulator.sendRaw('this is not json');
    emulator.sendRaw('{"cmd":"reboot_now"}');
    emulator.sendRaw(JSON.stringify({ cmd: 'rx', devEui: EUI_A, ts: 1, fcnt: 1, port: 2, data: 'xyz1' }));
    emulator.emit({ devEui: EUI_A, fcnt: 3, port: 2, payload: '03' });
    await waitFor('three dead letters and the good uplink', () => ingest.rejected.length === 3 && ingest.accepted.length === 1);

    expect(ingest.rejected).toEqual([
      { reason: 'MALFORMED_JSON', deviceId: null },
      { reason: 'UNKNOWN_COMMAND', deviceId: null },
      { reason: 'INVALID_FIELD', deviceId: 'lorawan:70b3d5e75e00000a' },
    ]);
    expect(emulator.connectionsAccepted()).toBe(1);
  });

  it('dead-letters a bad uplink once, although the resume after a reconnect returns it again', async () => {
    const { emulator, source, ingest } = await setUp('vega');
    await source.start(ingest);
    await waitFor('the resume to complete', () => source.status().resumed);
    emulator.emit({ devEui: EUI_A, fcnt: 1, port: 2, payload: 'not hex' });
    await waitFor('the dead letter', () => ingest.rejected.length === 1);

    emulator.dropConnections();
    await waitFor('a second connection to resume', () => emulator.connectionsAccepted() === 2 && source.status().resumed);
    expect(emulator.requests().filter((r) => r.cmd === 'get_data_req')).toHaveLength(1);
    expect(ingest.rejected).toEqual([{ reason: 'INVALID_FIELD', deviceId: 'lorawan:70b3d5e75e00000a' }]);
  });

  it('stops idempotently, also before it was started', async () => {
    const { source, ingest } = await setUp('vega');
    await source.stop();
    await source.stop();
    const other = createLnsSource({ url: 'ws://127.0.0.1:9/' });
    await Promise.all([other.stop(), other.stop()]);
    expect(other.health()).toMatchObject({ healthy: false });
    expect(ingest.accepted).toEqual([]);
  });
});

describe('the lns connector against a LORIOT-style server', () => {
  it('sends the token in the URL, takes rx pushes and resumes through cache queries, page by page', async () => {
    const { emulator, source, ingest } = await setUp('loriot', { historyPageSize: 1 });
    await source.start(ingest);
    await waitFor('the resume to complete', () => source.status().resumed);
    emulator.emit({ devEui: 'A81758FFFE04D146', fcnt: 1, port: 5, payload: '0100ef' });
    await waitFor('the live uplink', () => ingest.accepted.length === 1);

    emulator.refuseConnections(true);
    emulator.dropConnections();
    await waitFor('the connector to notice', () => !source.status().connected);
    emulator.emit({ devEui: 'A81758FFFE04D146', fcnt: 2, port: 5, payload: '0100f0' });
    emulator.refuseConnections(false);
    await waitFor('the missed uplink', () => ingest.accepted.length === 2);

    expect(ingest.accepted.map((d) => [d.deviceId, d.radio?.fCnt, d.metadata?.['via']])).toEqual([
      ['lorawan:a81758fffe04d146', 1, 'live'],
      ['lorawan:a81758fffe04d146', 2, 'resume'],
    ]);
    // One empty page on the first connection; two pages of one (the overlap and the missed uplink) after the outage.
    expect(emulator.requests().filter((r) => r.cmd === 'cq').map((r) => r.message['page'])).toEqual([1, 1, 2]);
  });

  it('reports a refused token as unauthenticated', async () => {
    const { emulator, source, ingest } = await setUp('loriot', { password: 'not-the-token' });
    await source.start(ingest);
    await waitFor('the refusal to show in health', () => source.status().authFailed);
    expect(source.health().detail).toMatch(/^unauthenticated at ws:\/\/127\.0\.0\.1:\d+\/app: LNS refused the login: .*401/);
    expect(emulator.connectionsAccepted()).toBe(0);
  });
});
