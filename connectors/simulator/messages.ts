/**
 * What simulated devices send, byte for byte as real ones do: M-Bus long frames, OMS-encrypted
 * wireless M-Bus telegrams, LoRaWAN payloads (an M-Bus application layer behind CI 0x78),
 * ChirpStack events, station JSON and HTTP uplink bodies.
 */
import { createHash } from 'node:crypto';
import { encodeLongFrame, encodeRecords, manufacturerValue, type RecordSpec } from '../../protocols/mbus/index.js';
import { encodeTelegram } from '../../protocols/wmbus/index.js';
import type { SimMeter, SimStation } from './fleet.js';

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** The meter's id as the record key contract writes it: `mbus:{ident}{manufacturer}{version}{medium}`. */
export function meterDeviceId(meter: SimMeter): string {
  return `mbus:${String(meter.id).padStart(8, '0')}${manufacturerValue(meter.manufacturer).toString(16).padStart(4, '0')}${hex2(meter.version)}${hex2(meter.medium)}`;
}

/** A LoRaWAN DevEUI for a meter: a fixed OUI-like prefix and the meter id. */
export function meterDevEui(meter: SimMeter): string {
  return `70b3d5e7${String(meter.id).padStart(8, '0')}`;
}

/** The deviceId meterflux gives a simulated device (`SIM_SILENCE` names devices by it). */
export function deviceIdOf(device: SimMeter | SimStation): string {
  if (device.kind === 'station-mqtt') return `station:${device.stationId}`;
  if (device.kind === 'chirpstack-mqtt' || device.kind === 'lns-websocket') return `lorawan:${meterDevEui(device)}`;
  return meterDeviceId(device);
}

/** The register and the time as data records; volume in litres (VIF 0x13), energy in Wh (VIF 0x03). */
function records(meter: SimMeter, register: bigint, atMs: number): RecordSpec[] {
  const vif = meter.medium === 0x07 || meter.medium === 0x03 ? 0x13 : 0x03;
  return [
    { kind: 'bcd', digits: 8, vif, value: register % 100_000_000n },
    { kind: 'dateTime', at: new Date(Math.floor(atMs / 60_000) * 60_000) },
  ];
}

export function mbusFrame(meter: SimMeter, register: bigint, atMs: number): Uint8Array {
  return encodeLongFrame({
    id: meter.id, manufacturer: meter.manufacturer, version: meter.version, medium: meter.medium,
    accessNumber: meter.accessNumber, records: records(meter, register, atMs),
  });
}

export function wmbusTelegram(meter: SimMeter, register: bigint, atMs: number): Uint8Array {
  return encodeTelegram({
    address: { manufacturer: meter.manufacturer, ident: String(meter.id).padStart(8, '0'), version: meter.version, deviceType: meter.medium },
    accessNumber: meter.accessNumber,
    records: encodeRecords(records(meter, register, atMs)),
    ...(meter.key ? { key: meter.key } : {}),
  });
}

/** An M-Bus application layer without header (CI 0x78), as LoRaWAN M-Bus meters send it. */
export function lorawanPayload(meter: SimMeter, register: bigint, atMs: number): Uint8Array {
  return Uint8Array.from([0x78, ...encodeRecords(records(meter, register, atMs))]);
}

/** A ChirpStack v4 `up` event, with ChirpStack's field names. */
export function chirpstackUp(meter: SimMeter, register: bigint, atMs: number, fCnt: number): Record<string, unknown> {
  const devEui = meterDevEui(meter);
  const data = Buffer.from(lorawanPayload(meter, register, atMs));
  return {
    deduplicationId: createHash('sha256').update(`${devEui}:${fCnt}:${atMs}`).digest('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*$/, '$1-$2-$3-$4-$5'),
    time: new Date(atMs).toISOString(),
    deviceInfo: {
      tenantId: '52f14cd4-c6f1-4fbd-8f87-4025e1d49242', tenantName: 'meterflux-sim',
      applicationId: 'c6a3a1a4-9a0b-4c7e-8e5a-3d2f1b0a9c8d', applicationName: 'water',
      deviceProfileId: '1f5c7d8e-2a3b-4c5d-9e8f-7a6b5c4d3e2f', deviceProfileName: 'mbus-lorawan',
      deviceName: `meter-${meter.id}`, devEui, tags: {},
    },
    devAddr: devEui.slice(-8),
    adr: true, dr: 5, fCnt, fPort: 1, confirmed: false,
    data: data.toString('base64'),
    rxInfo: [{ gatewayId: '0016c001f1500001', uplinkId: fCnt, rssi: -90 - (meter.id % 20), snr: 7.5, channel: 0, location: {}, context: 'AAAAAA==' }],
    txInfo: { frequency: 868100000, modulation: { lora: { bandwidth: 125000, spreadingFactor: 7, codeRate: 'CR_4_5' } } },
  };
}

/** Station telemetry as documented in connectors/mqtt/README.md. */
export function stationTelemetry(station: SimStation, atMs: number): Record<string, unknown> {
  return {
    time: new Date(atMs).toISOString(),
    co2Ppm: Number(station.co2Ppm.toFixed(2)),
    ch4Ppm: Number(station.ch4Ppm.toFixed(4)),
    n2oPpm: Number(station.n2oPpm.toFixed(4)),
    temperatureC: 8 + 6 * Math.sin((atMs / 86_400_000) * 2 * Math.PI),
    pressurePa: 99_800 + Math.round(400 * Math.cos(atMs / 43_200_000)),
    relativeHumidityPercent: 72,
    windSpeedMps: 3.2,
    windDirectionDeg: 240,
    latitudeDeg: Number(station.latitudeDeg.toFixed(5)),
    longitudeDeg: Number(station.longitudeDeg.toFixed(5)),
    intervalS: station.intervalMs / 1000,
  };
}

/** Station status as documented in connectors/mqtt/README.md: battery, sensor health, diagnostic codes. */
export function stationStatus(station: SimStation, atMs: number): Record<string, unknown> {
  const fault = station.faultySensor;
  return {
    time: new Date(atMs).toISOString(),
    batteryPercent: 80,
    externalPower: true,
    sensors: { co2: 'ok', ch4: fault === 'ch4' ? 'fault' : 'ok', n2o: fault === 'n2o' ? 'fault' : 'ok' },
    errorCodes: fault === undefined ? [] : [`${fault.toUpperCase()}_SENSOR_FAULT`],
    firmwareVersion: '2.4.1',
  };
}
