/**
 * The fleet simulator: devices send what real ones send, over the real transports, to the real
 * connectors. Simulated time first replays a backfill window quickly (`speed` simulated ms per real
 * ms), then follows the wall clock, so a demo shows history and live data and no reading is
 * stamped in the future. Every message is counted in a {@link Ledger} for reconciliation.
 *
 * Wired M-Bus meters send either frames the simulator encodes itself, or — given
 * `frameTemplates` — frames captured from real meters (real-frames.ts) with their counters
 * advancing.
 *
 * Faults ({@link FaultOptions}), each counted in the ledger beside the messages it concerns:
 *
 * | fault | what happens | ledger |
 * | --- | --- | --- |
 * | duplicates | a message is sent a second time (same bytes, or the HTTP batch again under the same `Idempotency-Key`; LNS: emitted again) | `duplicates` |
 * | out of order | a device's message is held back and sent after its next one | `reordered` |
 * | garbage | after a message, an undecodable one on the same transport: noise between M-Bus frames, bad JSON over MQTT or HTTP (none for the LNS) | `garbage` |
 * | disconnects | a TCP gateway, the MQTT client or the LNS link is dropped; senders reconnect and resend | `disconnects`, `resent` |
 * | silence | a device sends nothing for a while (its register keeps counting) | `silenced` |
 *
 * Faults draw from their own seeded PRNG, so turning them on does not change the fleet's values.
 */
import type { Logger } from 'pino';
import type { LnsEmulator } from '../lns/emulator.js';
import { advanceMeter, advanceStation, createFleet, meanPerHourOf, type FleetMix, type SimDevice, type SimMeter } from './fleet.js';
import { countsOf, createLedger, type Ledger } from './ledger.js';
import { chirpstackUp, deviceIdOf, lorawanPayload, mbusFrame, meterDevEui, meterDeviceId, stationStatus, stationTelemetry, wmbusTelegram } from './messages.js';
import { seededRandom, type Random } from './random.js';
import { realFrame, type FrameTemplate } from './real-frames.js';
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

/** One device kept quiet for a while. */
export interface SilenceWindow {
  /** The device's deviceId (`mbus:…`, `lorawan:…`, `station:…`), as {@link deviceIdOf} gives it. */
  readonly deviceId: string;
  /** Quiet for this long. */
  readonly durationMs: number;
  /** Starting this long after `start()`. @default 0 */
  readonly afterMs?: number;
}

/** Injected faults; rates are probabilities from 0 to 1. Every one is off by default. */
export interface FaultOptions {
  /** Per message: sent twice. @default 0 */
  readonly duplicateRate?: number;
  /** Per message: held back and sent after the device's next one. @default 0 */
  readonly reorderRate?: number;
  /** Per message: followed by an undecodable message on the same transport. @default 0 */
  readonly garbageRate?: number;
  /** Per tick (100 ms): one connection (a TCP gateway, the MQTT client or the LNS link) is dropped. @default 0 */
  readonly disconnectRate?: number;
  /** Devices kept quiet. @default [] */
  readonly silence?: readonly SilenceWindow[];
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
  /**
   * Captured frames the wired meters send, round robin (see real-frames.ts); each meter takes its
   * template's manufacturer, version and medium. @default none: frames the simulator encodes
   */
  readonly frameTemplates?: readonly FrameTemplate[];
  /** @default none */
  readonly faults?: FaultOptions;
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
  /**
   * Stops sending (held-back messages go out first); waits (bounded) for acknowledgements of what
   * was sent. Idempotent.
   */
  stop(): Promise<void>;
}

const TICK_MS = 100;
const MQTT_KINDS = ['wmbus-mqtt', 'chirpstack-mqtt', 'station-mqtt'] as const;

/** Sends one message of a device; `duplicate` marks an injected second copy. */
type Delivery = (duplicate: boolean) => void;

export function createSimulator(options: SimulatorOptions): Simulator {
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 900_000;
  const speed = options.speed ?? 3600;
  const realStart = now();
  const simStart = realStart - (options.backfillMs ?? 86_400_000);
  const devices = createFleet(options.mix, { seed: options.seed ?? 1, startMs: simStart, intervalMs });
  const random = seededRandom((options.seed ?? 1) * 7919);
  const faultRandom = seededRandom((options.seed ?? 1) * 104_729 + 17);
  const faults = options.faults ?? {};
  const ledger = createLedger();
  const fCnt = new Map<number, number>();
  const prefix = options.targets.mqttTopicPrefix ?? '';
  /** Wired meters sending captured frames: their template and the register when they started. */
  const captured = new Map<SimMeter, { readonly template: FrameTemplate; readonly register0: bigint }>();
  const held = new Map<SimDevice, Delivery>();
  let targets: SimulatorTargets = options.targets;
  let gateways: TcpGateway[] = [];
  let mqttPublisher: MqttPublisher | undefined;
  let httpPusher: HttpPusher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  let sendingSince = Number.POSITIVE_INFINITY;
  /** The HTTP head-end's uplinks of the current tick, pushed in batches at its end. */
  let httpBatch: Array<Record<string, unknown>> = [];

  const templates = options.frameTemplates ?? [];
  if (options.frameTemplates !== undefined && templates.length === 0) throw new TypeError('frameTemplates is empty');
  let wired = 0;
  devices.forEach((device, i) => {
    if (device.kind !== 'mbus-tcp' || templates.length === 0) return;
    const template = templates[wired++ % templates.length]!;
    const meter: SimMeter = { ...device, manufacturer: template.manufacturer, version: template.version, medium: template.medium, meanPerHour: meanPerHourOf(template.medium) };
    devices[i] = meter;
    captured.set(meter, { template, register0: meter.register });
  });

  const known = new Set(devices.map(deviceIdOf));
  const unknown = (faults.silence ?? []).filter((w) => !known.has(w.deviceId)).map((w) => w.deviceId);
  if (unknown.length > 0) throw new TypeError(`silence names devices the fleet does not have: ${unknown.join(', ')}`);

  const clockMs = () => Math.min(now(), simStart + (now() - realStart) * speed);
  const needs = (kind: keyof FleetMix) => options.mix[kind] > 0;
  const chance = (rate: number | undefined) => rate !== undefined && rate > 0 && faultRandom() < rate;

  function silenced(device: SimDevice): boolean {
    const windows = faults.silence;
    if (windows === undefined || windows.length === 0) return false;
    const id = deviceIdOf(device);
    const t = now() - sendingSince;
    return windows.some((w) => w.deviceId === id && t >= (w.afterMs ?? 0) && t < (w.afterMs ?? 0) + w.durationMs);
  }

  function nextFCnt(meter: SimMeter): number {
    const value = (fCnt.get(meter.id) ?? 0) + 1;
    fCnt.set(meter.id, value);
    return value;
  }

  function wiredFrame(meter: SimMeter, register: bigint, atMs: number): Uint8Array {
    const real = captured.get(meter);
    if (real === undefined) return mbusFrame(meter, register, atMs);
    return realFrame(real.template, { id: meter.id, accessNumber: meter.accessNumber, advance: register - real.register0, atMs });
  }

  /** Undecodable input on the device's transport, sent right after one of its messages. */
  function garbage(device: SimDevice): void {
    switch (device.kind) {
      case 'mbus-tcp':
        gateways[device.id % gateways.length]?.garbage(noise(faultRandom, 8 + Math.floor(faultRandom() * 24)));
        break;
      case 'wmbus-mqtt':
        mqttPublisher?.publish(device.kind, `${prefix}wmbus/sim-gw-${device.id % 3}/telegram`, '{"telegram": "zz', { fault: 'garbage' });
        break;
      case 'chirpstack-mqtt':
        mqttPublisher?.publish(device.kind, `${prefix}application/c6a3a1a4-9a0b-4c7e-8e5a-3d2f1b0a9c8d/device/${meterDevEui(device)}/event/up`, '{"deduplicationId": ', { fault: 'garbage' });
        break;
      case 'station-mqtt':
        mqttPublisher?.publish(device.kind, `${prefix}stations/${device.stationId}/telemetry`, '{"co2Ppm": 4', { fault: 'garbage' });
        break;
      case 'http':
        httpPusher?.garbage();
        break;
      case 'lns-websocket':
        // The network server is ours (the emulator); what reaches the connector is its protocol.
        break;
    }
  }

  /** Sends a device's message through the faults: silence, holding back, duplicates, garbage. */
  function dispatch(device: SimDevice, delivery: Delivery): void {
    const transport = device.kind;
    if (silenced(device)) {
      countsOf(ledger, transport).silenced++;
      return;
    }
    const waiting = held.get(device);
    if (waiting === undefined && chance(faults.reorderRate)) {
      held.set(device, delivery);
      countsOf(ledger, transport).reordered++;
      return;
    }
    delivery(false);
    if (waiting !== undefined) {
      held.delete(device);
      waiting(false);
    }
    // HTTP duplicates are whole batches under one Idempotency-Key (tick), never single uplinks.
    if (device.kind !== 'http' && chance(faults.duplicateRate)) delivery(true);
    if (chance(faults.garbageRate)) garbage(device);
  }

  function meterDelivery(meter: SimMeter, register: bigint, atMs: number): Delivery {
    switch (meter.kind) {
      case 'mbus-tcp': {
        const frame = wiredFrame(meter, register, atMs);
        return (duplicate) => gateways[meter.id % gateways.length]?.send(frame, { duplicate });
      }
      case 'wmbus-mqtt': {
        const payload = JSON.stringify({
          telegram: Buffer.from(wmbusTelegram(meter, register, atMs)).toString('hex'),
          rssiDbm: -70 - (meter.id % 25),
          time: new Date(atMs).toISOString(),
        });
        return (duplicate) => mqttPublisher?.publish('wmbus-mqtt', `${prefix}wmbus/sim-gw-${meter.id % 3}/telegram`, payload, duplicate ? { fault: 'duplicate' } : {});
      }
      case 'chirpstack-mqtt': {
        const event = chirpstackUp(meter, register, atMs, nextFCnt(meter));
        const info = event['deviceInfo'] as { applicationId: string };
        const topic = `${prefix}application/${info.applicationId}/device/${meterDevEui(meter)}/event/up`;
        const payload = JSON.stringify(event);
        return (duplicate) => mqttPublisher?.publish('chirpstack-mqtt', topic, payload, duplicate ? { fault: 'duplicate' } : {});
      }
      case 'lns-websocket': {
        const uplink = { devEui: meterDevEui(meter).toUpperCase(), fcnt: nextFCnt(meter), port: 1, payload: lorawanPayload(meter, register, atMs), ts: atMs };
        return (duplicate) => {
          if (!targets.lns) return;
          targets.lns.emit(uplink);
          const counts = countsOf(ledger, 'lns-websocket');
          if (duplicate) {
            counts.duplicates++;
            return;
          }
          counts.sent++;
          // The network server has it; the connector's resume guarantees delivery from there.
          counts.acknowledged++;
        };
      }
      case 'http': {
        const quantity = meter.medium === 0x07 || meter.medium === 0x03 ? 'volume' : 'energy';
        const value = quantity === 'volume' ? { value: Number(register) / 1000, unit: 'm3' } : { value: Number(register), unit: 'Wh' };
        const item = { deviceId: meterDeviceId(meter), time: new Date(atMs).toISOString(), values: { [quantity]: value } };
        return () => httpBatch.push(item);
      }
    }
  }

  /** Drops one connection, chosen among those the fleet uses. */
  function disconnect(): void {
    const choices: Array<() => void> = gateways.map((g) => () => g.drop());
    const mqttTransports = MQTT_KINDS.filter(needs);
    if (mqttPublisher !== undefined && mqttTransports.length > 0) choices.push(() => mqttPublisher?.drop(mqttTransports));
    if (targets.lns !== undefined && needs('lns-websocket')) {
      const lns = targets.lns;
      choices.push(() => {
        lns.dropConnections();
        countsOf(ledger, 'lns-websocket').disconnects++;
      });
    }
    choices[Math.floor(faultRandom() * choices.length)]?.();
  }

  function tick(): void {
    const simNow = clockMs();
    for (const device of devices) {
      while (device.nextAtMs <= simNow) {
        const atMs = device.nextAtMs;
        if (device.kind === 'station-mqtt') {
          const faultBefore = device.faultySensor;
          advanceStation(device, atMs, random);
          const telemetry = JSON.stringify(stationTelemetry(device, atMs));
          // Status on every change of sensor health, and hourly.
          const status = device.faultySensor !== faultBefore || atMs % 3_600_000 < device.intervalMs ? JSON.stringify(stationStatus(device, atMs)) : undefined;
          dispatch(device, (duplicate) => {
            const fault = duplicate ? { fault: 'duplicate' as const } : {};
            mqttPublisher?.publish('station-mqtt', `${prefix}stations/${device.stationId}/telemetry`, telemetry, fault);
            if (status !== undefined) mqttPublisher?.publish('station-mqtt', `${prefix}stations/${device.stationId}/status`, status, fault);
          });
        } else {
          const register = advanceMeter(device, atMs, random);
          dispatch(device, meterDelivery(device, register, atMs));
        }
        device.nextAtMs += device.intervalMs;
      }
    }
    pushHttp();
    if (chance(faults.disconnectRate)) disconnect();
  }

  function pushHttp(): void {
    for (let i = 0; i < httpBatch.length; i += 200) httpPusher?.push(httpBatch.slice(i, i + 200), { duplicate: chance(faults.duplicateRate) });
    httpBatch = [];
  }

  function pending(): number {
    return gateways.reduce((n, g) => n + g.pending(), 0) + (mqttPublisher?.pending() ?? 0) + (httpPusher?.pending() ?? 0);
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
      if (MQTT_KINDS.some(needs)) {
        if (!targets.mqttUrl) throw new TypeError('the fleet has MQTT devices but no MQTT target');
        mqttPublisher = await createMqttPublisher({ url: targets.mqttUrl, clientId: `meterflux-sim-${options.seed ?? 1}`, ledger, logger });
      }
      if (needs('http')) {
        if (!targets.http) throw new TypeError('the fleet has HTTP devices but no HTTP target');
        httpPusher = createHttpPusher({ ...targets.http, ledger, logger });
      }
      if (needs('lns-websocket') && !targets.lns) throw new TypeError('the fleet has LNS devices but no LNS emulator');
      sendingSince = now();
      timer = setInterval(tick, TICK_MS);
    },
    pending,
    stop() {
      stopping ??= (async () => {
        if (timer) clearInterval(timer);
        timer = undefined;
        for (const delivery of held.values()) delivery(false);
        held.clear();
        pushHttp();
        const deadline = now() + 10_000;
        while (pending() > 0 && now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        await Promise.all([...gateways.map((g) => g.close()), mqttPublisher?.close(), httpPusher?.close()]);
      })();
      return stopping;
    },
  };
}

/** Noise a serial line might pick up, without an M-Bus start byte (0x68, 0x10, 0xE5). */
function noise(random: Random, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => {
    const byte = Math.floor(random() * 256);
    return byte === 0x68 || byte === 0x10 || byte === 0xe5 ? 0x00 : byte;
  });
}
