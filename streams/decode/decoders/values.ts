/**
 * Building {@link DecodedValue}s and the pieces of a {@link DecodedUplink} every decoder shares.
 */
import type { MeasurementFunction, RadioMetadata } from '../../../schemas/avro/index.js';
import { decimalOf } from './decimal.js';
import type { DecodedDevice, DecodedUplink, DecodedValue } from './index.js';
import { convert, convertExact, type Conversion, type QuantityInfo } from './units.js';
import { DECODER_VERSION } from './version.js';

const FUNCTION_SUFFIXES: Readonly<Record<MeasurementFunction, string>> = {
  UNKNOWN: '',
  INSTANTANEOUS: '',
  MAXIMUM: '.max',
  MINIMUM: '.min',
  DURING_ERROR: '.error',
};

/** `Reading.registerKey` (schemas/avro/README.md): `volume`, `energy.tariff1`, `power.storage2.subunit1.max`. */
export function registerKey(
  quantity: string,
  tariff: number,
  storageNumber: number,
  subunit: number,
  fn: MeasurementFunction,
): string {
  let key = quantity;
  if (tariff !== 0) key += `.tariff${tariff}`;
  if (storageNumber !== 0) key += `.storage${storageNumber}`;
  if (subunit !== 0) key += `.subunit${subunit}`;
  return key + FUNCTION_SUFFIXES[fn];
}

/** Where in the device a value belongs; {@link MAIN_REGISTER} for sources without M-Bus addressing. */
export interface RegisterSlot {
  readonly function: MeasurementFunction;
  readonly storageNumber: number;
  readonly tariff: number;
  readonly subunit: number;
}

export const MAIN_REGISTER: RegisterSlot = Object.freeze({
  function: 'INSTANTANEOUS',
  storageNumber: 0,
  tariff: 0,
  subunit: 0,
});

/**
 * A value converted to its quantity's canonical unit.
 *
 * @param conversion from `info.conversions`, for `originalUnit`.
 * @param originalDecimal the exact original value in canonical decimal form, when the source had
 *   one; kept (converted) for cumulative registers only.
 * @param originalResolution one step of the register in `originalUnit`, as a canonical decimal,
 *   when the source states it; kept (converted) beside an exact value only.
 */
export function decodedValue(
  info: QuantityInfo,
  conversion: Conversion,
  originalValue: number,
  originalUnit: string,
  originalDecimal: string | undefined,
  slot: RegisterSlot,
  observedAt: number | undefined,
  originalResolution?: string,
): DecodedValue {
  const exact =
    info.cumulative && originalDecimal !== undefined ? convertExact(conversion, originalDecimal) : undefined;
  const resolution =
    exact !== undefined && originalResolution !== undefined ? convertExact(conversion, originalResolution) : undefined;
  return {
    quantity: info.name,
    unit: info.unit,
    value: exact === undefined ? convert(conversion, originalValue) : Number(exact),
    exact,
    resolution,
    originalValue,
    originalUnit,
    function: slot.function,
    storageNumber: slot.storageNumber,
    tariff: slot.tariff,
    subunit: slot.subunit,
    cumulative: info.cumulative,
    registerKey: registerKey(info.name, slot.tariff, slot.storageNumber, slot.subunit, slot.function),
    observedAt,
  };
}

/** {@link decodedValue} for a JSON number: its shortest decimal is the exact value the sender wrote. */
export function jsonValue(
  info: QuantityInfo,
  conversion: Conversion,
  value: number,
  unit: string,
  slot: RegisterSlot,
  observedAt: number | undefined,
): DecodedValue {
  return decodedValue(info, conversion, value, unit, info.cumulative ? decimalOf(value) : undefined, slot, observedAt);
}

/** A device record with the radio facts of the uplink, when it has any. */
export function deviceWithRadio(radio: RadioMetadata | null, device: Omit<DecodedDevice, 'rssiDbm' | 'snrDb'>): DecodedDevice {
  if (radio === null || (radio.rssiDbm === null && radio.snrDb === null)) return device;
  return {
    ...device,
    ...(radio.rssiDbm === null ? {} : { rssiDbm: radio.rssiDbm }),
    ...(radio.snrDb === null ? {} : { snrDb: radio.snrDb }),
  };
}

/** The uplink result; `kind` follows from whether there are values. */
export function decoded(
  decoder: string,
  values: DecodedValue[],
  device: DecodedDevice,
  warnings: string[],
  build?: string,
): DecodedUplink {
  return {
    values,
    device,
    warnings,
    kind: values.length === 0 ? 'status' : 'readings',
    decoderVersion: `${decoder}@${DECODER_VERSION}${build === undefined ? '' : `+${build}`}`,
  };
}
