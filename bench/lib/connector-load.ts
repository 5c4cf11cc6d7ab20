/**
 * The traffic of the connector benchmark (`bench/connectors.bench.ts`) and the messages between
 * the benchmark and its load client (`load-client.ts`, a child process). Both sides build the same
 * records from `(run, index)`, so the benchmark can tell which record Kafka acknowledged from its
 * key alone.
 */
import type { EmulatedUplink } from '../../connectors/lns/emulator.js';
import type { SimMeter, SimStation } from '../../connectors/simulator/fleet.js';
import { lorawanPayload, mbusFrame, meterDevEui, stationTelemetry } from '../../connectors/simulator/messages.js';

/** Records per run are numbered from 0; a run has at most this many. */
export const MAX_RECORDS_PER_RUN = 100_000;
const FIRST_DEVICE = 10_000_000;
const MEASURED_AT = Date.UTC(2026, 2, 29, 7, 15);

/** How the load client reaches the connector under test. */
export type LoadSetup =
  | { readonly transport: 'mqtt'; readonly url: string; readonly publishers: number }
  | { readonly transport: 'http'; readonly url: string; readonly token: string; readonly uplinksPerRequest: number; readonly connections: number }
  | { readonly transport: 'mbus-tcp'; readonly host: string; readonly port: number; readonly gateways: number }
  | { readonly transport: 'lns'; readonly login: string; readonly password: string };

/** Sends run `run`'s `count` records, as fast as they are taken, or at `ratePerS` records/s (open loop). */
export interface SendCommand {
  readonly kind: 'send';
  readonly run: number;
  readonly count: number;
  readonly ratePerS?: number;
  /** MQTT: where to publish (the connector's prefix or the bare subscriber's). */
  readonly topicPrefix?: string;
}

/** What the benchmark asks of the load client. */
export type LoadCommand = { readonly kind: 'setup'; readonly setup: LoadSetup } | SendCommand | { readonly kind: 'close' };

/** What the load client saw of one {@link SendCommand}; times are `nowMs()` of the client. */
export interface SentReply {
  readonly kind: 'sent';
  /** When the first record was handed to the client library. */
  readonly startedMs: number;
  /**
   * When the client was done: the last HTTP 202 or E5; the last broker PUBACK (MQTT); the last emit (LNS).
   */
  readonly finishedMs: number;
  /** Paced runs only: per record index, when it was handed to the client library. */
  readonly sentMs: readonly number[];
  /** Paced runs over HTTP and TCP only: per record index, when the client got its answer. */
  readonly answeredMs: readonly number[];
}

/** The load client's answers, one per command. */
export type LoadReply =
  | { readonly kind: 'ready'; readonly lnsUrl?: string }
  | SentReply
  | { readonly kind: 'closed' }
  | { readonly kind: 'failed'; readonly message: string };

/**
 * Milliseconds on the monotonic clock. `process.hrtime` reads CLOCK_MONOTONIC, which every process
 * on the host shares, so times taken in the load client and in the benchmark compare.
 */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function deviceNumber(run: number, index: number): number {
  return FIRST_DEVICE + run * MAX_RECORDS_PER_RUN + index;
}

function meter(run: number, index: number): SimMeter {
  const id = deviceNumber(run, index);
  return { kind: 'mbus-tcp', id, manufacturer: 'KAM', version: 0x1b, medium: 0x07, register: BigInt(id) * 10n, meanPerHour: 12,
    intervalMs: 900_000, nextAtMs: 0, accessNumber: index & 0xff };
}

/** Station telemetry (connectors/mqtt/README.md) of station `b{run}-{index}`: topic below the prefix, and payload. */
export function stationMessage(run: number, index: number): { readonly topic: string; readonly payload: string } {
  const station: SimStation = { kind: 'station-mqtt', stationId: `b${run}-${index}`, latitudeDeg: 53.9045, longitudeDeg: 27.5615,
    co2Ppm: 421 + (index % 50) / 10, ch4Ppm: 1.95, n2oPpm: 0.337, intervalMs: 60_000, nextAtMs: 0 };
  return { topic: `stations/${station.stationId}/telemetry`, payload: JSON.stringify(stationTelemetry(station, MEASURED_AT + index * 1000)) };
}

/** One `POST /v1/uplinks` uplink object (connectors/http/README.md): a LoRaWAN meter's payload with radio metadata. */
export function httpUplink(run: number, index: number): Record<string, unknown> {
  const m = meter(run, index);
  return {
    devEui: meterDevEui(m),
    payloadFormat: 'LORAWAN_PAYLOAD',
    payloadHex: Buffer.from(lorawanPayload(m, m.register, MEASURED_AT)).toString('hex'),
    time: new Date(MEASURED_AT + index * 1000).toISOString(),
    radio: { rssiDbm: -97, snrDb: 7.25, gatewayId: 'b827ebfffe61a3c2', fCnt: run, fPort: 2 },
  };
}

/** A wired M-Bus long frame (EN 13757-2) of a water meter, as a serial-to-IP gateway forwards it. */
export function mbusFrameOf(run: number, index: number): Uint8Array {
  const m = meter(run, index);
  return mbusFrame(m, m.register, MEASURED_AT);
}

/** An uplink the network-server emulator pushes as `{"cmd":"rx", …}`. */
export function lnsUplink(run: number, index: number): EmulatedUplink {
  const m = meter(run, index);
  return { devEui: meterDevEui(m), fcnt: run, port: 2, payload: lorawanPayload(m, m.register, MEASURED_AT) };
}

/**
 * The record index of a Kafka key the benchmark's traffic produced: `station:b{run}-{index}`
 * (MQTT) or `lorawan:70b3d5e7{device number}` (LNS).
 */
export function recordIndexOf(key: string | null): number {
  if (key?.startsWith('station:')) return Number(key.slice(key.lastIndexOf('-') + 1));
  if (key?.startsWith('lorawan:')) return (Number(key.slice(-8)) - FIRST_DEVICE) % MAX_RECORDS_PER_RUN;
  throw new Error(`not a key of the connector benchmark's traffic: ${String(key)}`);
}
