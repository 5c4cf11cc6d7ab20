/**
 * Test support: raw uplinks of simulated meters (wired M-Bus long frames and OMS wireless M-Bus
 * telegrams) with a volume register in litres and a meter clock. Used by tests only.
 */
import { randomUUID } from 'node:crypto';
import { encodeLongFrame, encodeRecords, manufacturerValue, type RecordSpec } from '../../../protocols/mbus/index.js';
import { encodeTelegram } from '../../../protocols/wmbus/index.js';
import type { RawUplink } from '../../../schemas/avro/index.js';

/** A meter's M-Bus address. */
export interface TestMeter {
  /** Identification number, 8 digits. */
  readonly id: number;
  readonly manufacturer: string;
  readonly version: number;
  /** 0x07 water, 0x03 gas… */
  readonly medium: number;
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** The meter's device id, `mbus:{ident}{manufacturer}{version}{medium}`. */
export function deviceIdOf(meter: TestMeter): string {
  return `mbus:${String(meter.id).padStart(8, '0')}${manufacturerValue(meter.manufacturer).toString(16).padStart(4, '0')}${hex2(meter.version)}${hex2(meter.medium)}`;
}

/** What one reading of a test meter says. */
export interface MeterReading {
  /** The volume register in litres (VIF 0x13: m3 × 10⁻³), 8 BCD digits. */
  readonly litres: number;
  /** Meter clock (type F, minutes), read in the site's zone; omitted: the frame has no time. */
  readonly meterTime?: Date;
  /** M-Bus status byte. @default 0 */
  readonly status?: number;
}

/** Fields of the RawUplink around the payload. */
export interface UplinkFields {
  /** @default a fresh UUID */
  readonly uplinkId?: string;
  /** @default a fresh UUID */
  readonly idempotencyKey?: string;
  /** @default now */
  readonly receivedAt?: number;
}

function records(reading: MeterReading): RecordSpec[] {
  const volume: RecordSpec = { kind: 'bcd', digits: 8, vif: 0x13, value: reading.litres };
  return reading.meterTime === undefined ? [volume] : [volume, { kind: 'dateTime', at: reading.meterTime }];
}

function uplink(meter: TestMeter, format: RawUplink['payloadFormat'], payload: Uint8Array, fields: UplinkFields): RawUplink {
  return {
    uplinkId: fields.uplinkId ?? randomUUID(),
    idempotencyKey: fields.idempotencyKey ?? randomUUID(),
    deviceId: deviceIdOf(meter),
    transport: format === 'MBUS_LONG_FRAME' ? 'MBUS_TCP' : 'MQTT',
    payloadFormat: format,
    payload: Buffer.from(payload),
    receivedAt: fields.receivedAt ?? Date.now(),
    deviceTimeAt: null,
    organisationId: null,
    connector: 'test',
    sourceAddress: 'test',
    radio: null,
    metadata: format === 'WMBUS_TELEGRAM' ? { frameFormat: 'A' } : {},
  };
}

/** A wired M-Bus long frame (CI 0x72) from the meter. */
export function mbusUplink(meter: TestMeter, reading: MeterReading, fields: UplinkFields = {}): RawUplink {
  const frame = encodeLongFrame({ ...meter, accessNumber: 1, records: records(reading), ...(reading.status === undefined ? {} : { status: reading.status }) });
  return uplink(meter, 'MBUS_LONG_FRAME', frame, fields);
}

/** A wireless M-Bus telegram (short header), OMS mode 5 encrypted when `key` is given. */
export function wmbusUplink(meter: TestMeter, reading: MeterReading, key: Uint8Array | undefined, fields: UplinkFields = {}): RawUplink {
  const telegram = encodeTelegram({
    address: { manufacturer: meter.manufacturer, ident: String(meter.id).padStart(8, '0'), version: meter.version, deviceType: meter.medium },
    accessNumber: 1,
    records: encodeRecords(records(reading)),
    ...(reading.status === undefined ? {} : { status: reading.status }),
    ...(key === undefined ? {} : { key }),
  });
  return uplink(meter, 'WMBUS_TELEGRAM', telegram, fields);
}
