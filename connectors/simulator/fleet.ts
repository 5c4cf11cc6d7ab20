/**
 * The simulated fleet: meters with cumulative registers that advance with a daily consumption
 * profile, and GHG stations whose concentrations drift around a background. Everything follows
 * simulated time and a seeded PRNG, so a run is reproducible.
 */
import { between, seededRandom, type Random } from './random.js';

/** How a simulated device reaches meterflux. */
export type DeviceKind =
  | 'mbus-tcp' // wired M-Bus meter behind a serial-to-IP gateway
  | 'wmbus-mqtt' // wireless M-Bus meter heard by an MQTT gateway (OMS mode 5 encrypted)
  | 'chirpstack-mqtt' // LoRaWAN meter through ChirpStack's MQTT integration
  | 'lns-websocket' // LoRaWAN meter through a Vega-style network server
  | 'http' // a head-end pushing JSON over HTTP
  | 'station-mqtt'; // a GHG monitoring station

/** A meter: one cumulative register. */
export interface SimMeter {
  readonly kind: Exclude<DeviceKind, 'station-mqtt'>;
  /** M-Bus identification number (8 digits); also the low digits of the DevEUI for LoRaWAN meters. */
  readonly id: number;
  readonly manufacturer: string;
  readonly version: number;
  /** EN 13757-3 medium: 0x07 water, 0x03 gas, 0x04 heat, 0x02 electricity. */
  readonly medium: number;
  /** The register in its smallest unit (litres for water and gas, Wh for heat and electricity). */
  register: bigint;
  /** Mean consumption per hour in the register's unit. */
  readonly meanPerHour: number;
  readonly intervalMs: number;
  nextAtMs: number;
  accessNumber: number;
  /** 16-byte OMS key for wireless meters. */
  readonly key?: Uint8Array;
}

/** A GHG monitoring station. */
export interface SimStation {
  readonly kind: 'station-mqtt';
  readonly stationId: string;
  readonly latitudeDeg: number;
  readonly longitudeDeg: number;
  co2Ppm: number;
  ch4Ppm: number;
  n2oPpm: number;
  /** A sensor currently in fault, reported in the station's status messages. */
  faultySensor?: 'ch4' | 'n2o';
  readonly intervalMs: number;
  nextAtMs: number;
}

export type SimDevice = SimMeter | SimStation;

/** How many devices of each kind. */
export type FleetMix = Readonly<Record<DeviceKind, number>>;

/** A reading a meter takes at `atMs`: its register after consumption since the last one. */
export function advanceMeter(meter: SimMeter, atMs: number, random: Random): bigint {
  const hour = new Date(atMs).getUTCHours();
  // Morning and evening peaks, little at night: the shape utilities see on household meters.
  const profile = hour < 6 ? 0.2 : hour < 9 ? 1.8 : hour < 17 ? 0.8 : hour < 22 ? 1.6 : 0.5;
  const hours = meter.intervalMs / 3_600_000;
  const consumed = Math.max(0, Math.round(meter.meanPerHour * hours * profile * (0.5 + random())));
  meter.register += BigInt(consumed);
  meter.accessNumber = (meter.accessNumber + 1) & 0xff;
  return meter.register;
}

/**
 * Moves a station's mole fractions around their background levels. Near the ground CO₂ follows a
 * diurnal cycle: highest before dawn (respiration under a shallow night-time boundary layer),
 * lowest in the afternoon (photosynthesis, a deep mixed layer).
 */
export function advanceStation(station: SimStation, atMs: number, random: Random): void {
  const hour = new Date(atMs).getUTCHours() + new Date(atMs).getUTCMinutes() / 60;
  const co2Background = 425 + 18 * Math.cos((2 * Math.PI * (hour - 5)) / 24);
  const drift = (value: number, background: number, step: number) =>
    Math.max(0, value + (background - value) * 0.3 + (random() - 0.5) * step);
  station.co2Ppm = drift(station.co2Ppm, co2Background, 4);
  station.ch4Ppm = drift(station.ch4Ppm, 1.95, 0.05);
  station.n2oPpm = drift(station.n2oPpm, 0.337, 0.002);
  // Sensors fail now and then and are repaired a few reports later.
  if (station.faultySensor === undefined && random() < 0.01) station.faultySensor = random() < 0.5 ? 'ch4' : 'n2o';
  else if (station.faultySensor !== undefined && random() < 0.2) station.faultySensor = undefined;
}

const MANUFACTURERS = ['KAM', 'ELS', 'ITW', 'LUG', 'EFE', 'SEN'] as const;
const MEDIA: ReadonlyArray<{ medium: number; meanPerHour: number }> = [
  { medium: 0x07, meanPerHour: 12 }, // water, litres
  { medium: 0x03, meanPerHour: 60 }, // gas, litres
  { medium: 0x04, meanPerHour: 900 }, // heat, Wh
  { medium: 0x02, meanPerHour: 400 }, // electricity, Wh
];

/** Mean consumption per hour of a meter of `medium` (EN 13757-3 code), in litres or Wh. */
export function meanPerHourOf(medium: number): number {
  switch (medium) {
    case 0x03:
      return 60; // gas, litres
    case 0x06:
    case 0x07:
    case 0x15:
    case 0x16:
      return 12; // water, litres
    case 0x02:
      return 400; // electricity, Wh
    default:
      return 900; // heat and cooling, Wh
  }
}

/** Builds a fleet. Ids are unique across the fleet; keys are derived from the seed. */
export function createFleet(mix: FleetMix, options: { seed: number; startMs: number; intervalMs: number }): SimDevice[] {
  const random = seededRandom(options.seed);
  const devices: SimDevice[] = [];
  let nextId = 10_000_000 + between(random, 0, 9_000_000);
  for (const kind of Object.keys(mix) as DeviceKind[]) {
    for (let i = 0; i < mix[kind]; i++) {
      const firstAt = options.startMs + Math.floor(random() * options.intervalMs);
      if (kind === 'station-mqtt') {
        devices.push({
          kind, stationId: `sim-${String(i + 1).padStart(3, '0')}`,
          latitudeDeg: 53.9 + (random() - 0.5), longitudeDeg: 27.56 + (random() - 0.5),
          co2Ppm: 425, ch4Ppm: 1.95, n2oPpm: 0.337, intervalMs: Math.max(60_000, options.intervalMs / 15), nextAtMs: firstAt,
        });
        continue;
      }
      const media = MEDIA[between(random, 0, MEDIA.length - 1)]!;
      devices.push({
        kind,
        id: nextId++,
        manufacturer: MANUFACTURERS[between(random, 0, MANUFACTURERS.length - 1)]!,
        version: between(random, 1, 0x40),
        medium: media.medium,
        register: BigInt(between(random, 0, 5_000_000)),
        meanPerHour: media.meanPerHour,
        intervalMs: options.intervalMs,
        nextAtMs: firstAt,
        accessNumber: between(random, 0, 255),
        ...(kind === 'wmbus-mqtt' ? { key: Uint8Array.from({ length: 16 }, () => between(random, 0, 255)) } : {}),
      });
    }
  }
  return devices;
}
