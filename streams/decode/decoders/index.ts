/**
 * Pure decoders: from one `RawUplink` to the register values, device facts and warnings it carries.
 * No Kafka, no database: the decode worker calls {@link decodeUplink} once per uplink, turns each
 * {@link DecodedValue} into a `Reading` (readingId `{uplinkId}:{index in values}`, stamped with
 * {@link DecodedUplink.decoderVersion}) and dead-letters what throws.
 *
 * ```
 * MBUS_LONG_FRAME        protocols/mbus frame ─────────────┐
 * WMBUS_TELEGRAM         protocols/wmbus (ctx.keyFor) ─────┤ M-Bus records
 * LORAWAN_PAYLOAD   ┐    profile mbus: application layer ──┘        │
 * CHIRPSTACK_EVENT  ┘    profile ts013: sandboxed codec ─┐          ├─ values in canonical units
 *                        profile chirpstack-object ──────┴ codec data ┤   + device facts, warnings
 * STATION_TELEMETRY / STATION_STATUS   station JSON ──────────────────┤
 * DECODED_VALUES_JSON                  values as given, validated ────┘
 * ```
 * Formats, JSON contracts and the codec mapping convention: README.md; units: UNITS.md.
 *
 * @packageDocumentation
 */
import { DecodeError } from '../../../core/errors.js';
import type { MeasurementFunction, RawUplink } from '../../../schemas/avro/index.js';
import { decodeValuesJson } from './decoded-values.js';
import { decodeChirpstackEvent, decodeLorawanPayload } from './lorawan.js';
import { decodeMbusFrame } from './mbus.js';
import { decodeStationStatus, decodeStationTelemetry } from './station.js';
import type { Ts013Runner } from './ts013-sandbox.js';
import { decodeWmbusTelegram } from './wmbus.js';

export type { Ts013Input, Ts013Output, Ts013Runner, Ts013SandboxOptions } from './ts013-sandbox.js';
export { createTs013Runner } from './ts013-sandbox.js';
export { DECODER_VERSION } from './version.js';

/** How a LoRaWAN device's payload is decoded: the device profile from the registry. */
export interface DeviceProfile {
  /**
   * - `mbus`: the payload is an EN 13757-3 application layer (CI byte then data, e.g. 0x72 with a
   *   long header, 0x7A short, 0x78 none).
   * - `ts013`: the vendor codec in {@link ts013Script} decodes it (LoRa Alliance TS013).
   * - `chirpstack-object`: ChirpStack already decoded it; its `object` is read (CHIRPSTACK_EVENT only).
   * - `auto`: ChirpStack's `object` when there is one, else M-Bus when the first byte is a variable
   *   data structure CI (0x72, 0x7A, 0x78), else `NO_DEVICE_PROFILE`.
   *
   * Station and M-Bus frame formats are chosen by `payloadFormat`, never by the profile.
   */
  readonly codec: 'mbus' | 'ts013' | 'chirpstack-object' | 'auto';
  /** The codec script, as the vendor publishes it (defines `function decodeUplink(input)`); required for `ts013`. */
  readonly ts013Script?: string;
  /**
   * FPorts that carry meter data; an uplink on another port yields no values (kind `status`, with
   * a warning).
   * @default every port
   */
  readonly fPortFilter?: readonly number[];
}

/** What a decoder needs besides the uplink; built by the decode worker. */
export interface DecodeContext {
  /**
   * The device's profile; only LORAWAN_PAYLOAD and CHIRPSTACK_EVENT read it.
   * @default { codec: 'auto' }
   */
  readonly profile?: DeviceProfile;
  /**
   * The AES-128 key of a wireless M-Bus meter, by its address as 16 lowercase hex digits (the
   * long transport header's when there is one, else the link layer's: the form `mbus:` device ids
   * use). Called only for encrypted telegrams. Return the same array for a meter every time; it is
   * imported once and cached by identity.
   */
  keyFor(meterId: string): Uint8Array | undefined;
  /** Runs TS013 codecs; called only for `ts013` profiles. See `createTs013Runner`. */
  readonly ts013: Ts013Runner;
  /**
   * IANA time zone of the device's site: meter clocks (M-Bus date-time records) show local time,
   * and only with the zone do they become `observedAt`.
   * @default none: meter clock times are not used, with a warning
   */
  readonly timeZone?: string;
}

/** One register value, in the canonical unit of its quantity (UNITS.md). */
export interface DecodedValue {
  /** Lower snake case, e.g. `volume`, `flow_temperature`, `co2`. */
  readonly quantity: string;
  /** Canonical unit of the quantity. */
  readonly unit: string;
  readonly value: number;
  /**
   * The value as an exact decimal string, for cumulative registers whose source was exact (BCD or
   * integer data, a JSON number or decimal string) and whose unit conversion is a power of ten;
   * `value` is then `Number(exact)`.
   */
  readonly exact?: string;
  /**
   * One step of the register's count in the canonical unit, as an exact decimal, when the source
   * states it: M-Bus integer and BCD records (the VIF's scale, e.g. `0.001` for m3 in litres).
   * Only beside {@link exact}; the registry keeps it as `registers.resolution`.
   */
  readonly resolution?: string;
  /** The value as the device reported it, in {@link originalUnit}. */
  readonly originalValue: number;
  /** e.g. `Wh` (M-Bus units after the VIF scale), `kWh`, `l`, `°C`. */
  readonly originalUnit: string;
  readonly function: MeasurementFunction;
  /** M-Bus storage number; 0 for the current value and for other sources. */
  readonly storageNumber: number;
  /** M-Bus tariff; 0 for the total and for other sources. */
  readonly tariff: number;
  /** M-Bus subunit; 0 for the main unit and for other sources. */
  readonly subunit: number;
  /** Only advances (a meter index): its differences are consumption. */
  readonly cumulative: boolean;
  /** `Reading.registerKey`: quantity, `.tariffN`, `.storageN`, `.subunitN` when not 0, `.max`/`.min`/`.error`. */
  readonly registerKey: string;
  /** Epoch ms of the value when the payload carries its own time; else the worker decides. */
  readonly observedAt?: number;
}

/** What the uplink says about the device itself. Absent fields were not reported. */
export interface DecodedDevice {
  /** Three-letter FLAG code, e.g. `KAM`. */
  readonly manufacturer?: string;
  /** M-Bus version (generation) byte. */
  readonly version?: number;
  /** As `Device.medium`: `water`, `heat`, `gas`, …, `ghg_station`. */
  readonly medium?: string;
  readonly batteryPercent?: number;
  readonly batteryVolts?: number;
  /** From the uplink's radio metadata. */
  readonly rssiDbm?: number;
  readonly snrDb?: number;
  /** Station reporting interval, s, from which the expected sample count follows. */
  readonly reportIntervalS?: number;
  /** Station position (WGS 84 degrees, range-checked), when it reports both coordinates. */
  readonly location?: { readonly latitudeDeg: number; readonly longitudeDeg: number; readonly altitudeM?: number };
  /** Firmware version as the device reports it (station status). */
  readonly firmwareVersion?: string;
  /**
   * Error states the device reports, as stable codes: the M-Bus status bits `APPLICATION_BUSY`,
   * `APPLICATION_ERROR`, `APPLICATION_ABNORMAL`, `POWER_LOW`, `PERMANENT_ERROR`,
   * `TEMPORARY_ERROR`; M-Bus error flags `ERROR_FLAGS:0x…`; codec alarms such as `LEAK`; station
   * self-diagnostic codes as sent and `SENSOR_FAULT:{sensor}` / `SENSOR_DEGRADED:{sensor}`.
   */
  readonly statusErrors: string[];
}

/** The result of decoding one uplink. */
export interface DecodedUplink {
  /** In payload order; the index is the readingId's recordIndex. */
  readonly values: DecodedValue[];
  readonly device: DecodedDevice;
  /** Things worth an operator's attention that did not stop decoding (skipped records, codec warnings). */
  readonly warnings: string[];
  /** `readings` when there are values; `status` when the uplink only tells about the device. */
  readonly kind: 'readings' | 'status';
  /**
   * `{decoder}@{DECODER_VERSION}` for `Reading.decoderVersion`, decoder one of `mbus`, `wmbus`,
   * `lorawan-mbus`, `ts013`, `chirpstack-object`, `station`, `decoded-values`, or `lorawan` when
   * no codec ran; a TS013 decode adds the codec's digest as build metadata
   * (`ts013@1.0.0+codec.3f2a9c1b04d7`), so correcting a codec changes it too.
   */
  readonly decoderVersion: string;
}

/**
 * Decodes one uplink. Pure apart from the TS013 sandbox (only for `ts013` profiles) and the key
 * lookup: the same uplink, context and codec give the same result.
 *
 * @throws {BadInputError} for input that will never decode as it is, with a precise `reason`:
 *   a `DecodeError` for bytes (`MBUS_BAD_CHECKSUM`, `WMBUS_BAD_CRC`, `KEY_MISSING`,
 *   `DECRYPTION_FAILED`, `MALFORMED_JSON`, `NO_DEVICE_PROFILE`, `CODEC_ERRORS`, `CODEC_TIMEOUT`, …;
 *   see README.md), a `SchemaValidationError` with `paths` for JSON fields that break their
 *   contract. `KEY_MISSING` and codec failures can succeed after a key is added or a codec fixed:
 *   dead-letter them and re-drive.
 * @throws {TransientError} `SANDBOX_CLOSED` when the TS013 sandbox was closed (shutdown): retry.
 */
export async function decodeUplink(uplink: RawUplink, ctx: DecodeContext): Promise<DecodedUplink> {
  switch (uplink.payloadFormat) {
    case 'MBUS_LONG_FRAME':
      return decodeMbusFrame(uplink, ctx);
    case 'WMBUS_TELEGRAM':
      return decodeWmbusTelegram(uplink, ctx);
    case 'LORAWAN_PAYLOAD':
      return decodeLorawanPayload(uplink, ctx);
    case 'CHIRPSTACK_EVENT':
      return decodeChirpstackEvent(uplink, ctx);
    case 'STATION_TELEMETRY':
      return decodeStationTelemetry(uplink);
    case 'STATION_STATUS':
      return decodeStationStatus(uplink);
    case 'DECODED_VALUES_JSON':
      return decodeValuesJson(uplink);
    default:
      throw new DecodeError('UNKNOWN_PAYLOAD_FORMAT', `payloadFormat: expected a format this decoder knows, got ${uplink.payloadFormat}`);
  }
}
