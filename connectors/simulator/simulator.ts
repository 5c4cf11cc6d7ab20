/**
 * The fleet simulator: devices send what real ones send, over the real transports, to the real
 * connectors. Simulated time first replays a backfill window quickly (`speed` simulated ms per real
 * ms), then follows the wall clock, so a demo shows history and live data and no reading is
 * stamped in the future. Every message is counted in a {@link Ledger} for reconciliation.
 */
import type { Logger } from 'pino';
import type { LnsEmulator } from '../lns/emulator.js';
import { advanceMeter, advanceStation, createFleet, type FleetMix, type SimDevice, type SimMeter } from './fleet.js';
import { countsOf, createLedger, type Ledger } from './ledger.js';
import { chirpstackUp, lorawanPayload, mbusFrame, meterDevEui, meterDeviceId, stationStatus, stationTelemetry, wmbusTelegram } from './messages.js';
import { seededRandom } from './random.js';
import { createHttpPusher, type HttpPusher } from './senders/http-pusher.js';
import { createMqttPublisher, type MqttPublisher } from './senders/mqtt-publisher.js';
import { createTcpGateway, type TcpGateway } from './senders/tcp-gateway.js';

/** Where the simulated devices send to. Transports of kinds with no devices may be left out. */
export interface SimulatorTargets {
  readonly mqttUrl?: string;
  /** Topic root the MQTT connector listens under. @default '' */
  readonly mqttTopicPrefix?: string;
  readonly tcp?: { readonly host: string; readonly port: number };
  readonly http?: { readonly baseUrl: string; readonly token: string };
  readonly lns?: LnsEmulator;
}

export interface SimulatorOptions {
  readonly mix: FleetMix;
  /** @default 1 */
  readonly seed?: number;
  /** Simulated reporting interval of meters. @default 900000 (15 min) */
  readonly intervalMs?: number;
  /** How far back simulated time starts. @default 86400000 (one day) */
  readonly backfillMs?: number;
  /** Simulated ms per real ms while catching up with the wall clock. @default 3600 */
  readonly speed?: number;
  /** Serial-to-IP gateways the wired meters are spread over. @default 2 */
  readonly tcpGateways?: number;
  readonly targets: SimulatorTargets;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

export interface Simulator {
  readonly devices: readonly SimDevice[];
  readonly ledger: Ledger;
  /**
   * Connects the senders and starts sending. `late` adds targets known only now, such as the HTTP
   * token registered for the fleet.
   */
  start(late?: Partial<SimulatorTargets>): Promise<void>;
  /** Simulated time now, epoch ms. */
  clockMs(): number;
  /** Messages sent and not yet acknowledged, across transports. */
  pending(): number;
  /** Stops sending; waits (bounded) for acknowledgements of what was sent. */
  stop(): Promise<void>;
}

const TICK_MS = 100;

export function createSimulator(options: SimulatorOptions): Simulator {
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 900_000;
  const speed = options.speed ?? 3600;
  const realStart = now();
  const simStart = realStart - (options.backfillMs ?? 86_400_000);
  const devices = createFleet(options.mix, { seed: options.seed ?? 1, startMs: simStart, intervalMs });
  const random = seededRandom((options.seed ?? 1) * 7919);
  const ledger = createLedger();
  const fCnt = new Map<number, number>();
  const prefix = options.targets.mqttTopicPrefix ?? '';
  let targets: SimulatorTargets = options.targets;
  let gateways: TcpGateway[] = [];
  let mqttPublisher: MqttPublisher | undefined;
  let httpPusher: HttpPusher | undefined;
  let timer: NodeJS.Timeout | undefined;

  const clockMs = () => Math.min(now(), simStart + (now() - realStart) * speed);
  const needs = (kind: keyof FleetMix) => options.mix[kind] > 0;

  function nextFCnt(meter: SimMeter): number {
    const value = (fCnt.get(meter.id) ?? 0) + 1;
    fCnt.set(meter.id, value);
    return value;
  }

  function sendMeter(meter: SimMeter, atMs: number, httpBatch: Array<Record<string, unknown>>): void {
    const register = advanceMeter(meter, atMs, random);
    switch (meter.kind) {
      case 'mbus-tcp':
        gateways[meter.id % gateways.length]?.send(mbusFrame(meter, register, atMs));
        break;
      case 'wmbus-mqtt':
        mqttPublisher?.publish('wmbus-mqtt', `${prefix}wmbus/sim-gw-${meter.id % 3}/telegram`, JSON.stringify({
          telegram: Buffer.from(wmbusTelegram(meter, register, atMs)).toString('hex'),
          rssiDbm: -70 - (meter.id % 25),
          time: new Date(atMs).toISOString(),
        }));
        break;
      case 'chirpstack-mqtt': {
        const event = chirpstackUp(meter, register, atMs, nextFCnt(meter));
        const info = event['deviceInfo'] as { applicationId: string };
        mqttPublisher?.publish('chirpstack-mqtt', `${prefix}application/${info.applicationId}/device/${meterDevEui(meter)}/event/up`, JSON.stringify(event));
        break;
      }
      case 'lns-websocket':
        if (targets.lns) {
          targets.lns.emit({ devEui: meterDevEui(meter).toUpperCase(), fcnt: nextFCnt(meter), port: 1, payload: lorawanPayload(meter, register, atMs), ts: atMs });
          const counts = countsOf(ledger, 'lns-websocket');
          counts.sent++;
          // The network server has it; the connector's resume guarantees delivery from there.
          counts.acknowledged++;
        }
        break;
      case 'http': {
        const quantity = meter.medium === 0x07 || meter.medium === 0x03 ? 'volume' : 'energy';
        const value = quantity === 'volume' ? { value: Number(register) / 1000, unit: 'm3' } : { value: Number(register), unit: 'Wh' };
        httpBatch.push({ deviceId: meterDeviceId(meter), time: new Date(atMs).toISOString(), values: { [quantity]: value } });
        break;
      }
    }
  }

  function tick(): void {
    const simNow = clockMs();
    const httpBatch: Array<Record<string, unknown>> = [];
    for (const device of devices) {
      while (device.nextAtMs <= simNow) {
        const atMs = device.nextAtMs;
        if (device.kind === 'station-mqtt') {
          const faultBefore = device.faultySensor;
          advanceStation(device, atMs, random);
          mqttPublisher?.publish('station-mqtt', `${prefix}stations/${device.stationId}/telemetry`, JSON.stringify(stationTelemetry(device, atMs)));
          // Status on every change of sensor health, and hourly.
          if (device.faultySensor !== faultBefore || atMs % 3_600_000 < device.intervalMs) {
            mqttPublisher?.publish('station-mqtt', `${prefix}stations/${device.stationId}/status`, JSON.stringify(stationStatus(device, atMs)));
          }
        } else {
          sendMeter(device, atMs, httpBatch);
        }
        device.nextAtMs += device.intervalMs;
      }
    }
    for (let i = 0; i < httpBatch.length; i += 200) httpPusher?.push(httpBatch.slice(i, i + 200));
  }

  return {
    devices,
    ledger,
    clockMs,
    async start(late = {}) {
      const { logger } = options;
      targets = { ...targets, ...late };
      if (needs('mbus-tcp')) {
        if (!targets.tcp) throw new TypeError('the fleet has wired M-Bus meters but no TCP target');
        const tcp = targets.tcp;
        gateways = Array.from({ length: options.tcpGateways ?? 2 }, (_, i) =>
          createTcpGateway({ ...tcp, ledger, logger, name: `sim-gateway-${i}` }));
      }
      if (needs('wmbus-mqtt') || needs('chirpstack-mqtt') || needs('station-mqtt')) {
        if (!targets.mqttUrl) throw new TypeError('the fleet has MQTT devices but no MQTT target');
        mqttPublisher = await createMqttPublisher({ url: targets.mqttUrl, clientId: `meterflux-sim-${options.seed ?? 1}`, ledger, logger });
      }
      if (needs('http')) {
        if (!targets.http) throw new TypeError('the fleet has HTTP devices but no HTTP target');
        httpPusher = createHttpPusher({ ...targets.http, ledger, logger });
      }
      if (needs('lns-websocket') && !targets.lns) throw new TypeError('the fleet has LNS devices but no LNS emulator');
      timer = setInterval(tick, TICK_MS);
    },
    pending: () => gateways.reduce((n, g) => n + g.pending(), 0) + (mqttPublisher?.pending() ?? 0) + (httpPusher?.pending() ?? 0),
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      const deadline = now() + 10_000;
      while (this.pending() > 0 && now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      await Promise.all([...gateways.map((g) => g.close()), mqttPublisher?.close(), httpPusher?.close()]);
    },
  };
}
