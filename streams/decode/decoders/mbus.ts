/**
 * M-Bus application layers (EN 13757-3), from a wired long frame (MBUS_LONG_FRAME) or as a LoRaWAN
 * payload (CI byte then data): header → device facts, status byte → status errors, records (or the
 * fixed structure's two counters) → values.
 */
import { DecodeError } from '../../../core/errors.js';
import type { RawUplink } from '../../../schemas/avro/index.js';
import {
  decodeApplicationLayer,
  decodeFrame,
  MbusDecodeError,
  MbusFrameError,
  parseTelegram,
  type ApplicationLayer,
  type FixedCounter,
  type MbusTelegram,
  type Quantity,
} from '../../../protocols/mbus/index.js';
import type { DecodeContext, DecodedDevice, DecodedUplink, DecodedValue } from './index.js';
import { collectRecordValues, HCA_UNIT } from './mbus-records.js';
import { fixedMediumOf, mediumOf } from './medium.js';
import { quantityInfo, type QuantityInfo } from './units.js';
import { decoded, decodedValue, deviceWithRadio, MAIN_REGISTER, type RegisterSlot } from './values.js';

/** Status bits 0–4 (EN 13757-3 Table 8), the same in every header and in the fixed structure. */
export function statusErrorsOf(status: number): string[] {
  const errors: string[] = [];
  const application = status & 0x03;
  if (application === 1) errors.push('APPLICATION_BUSY');
  else if (application === 2) errors.push('APPLICATION_ERROR');
  else if (application === 3) errors.push('APPLICATION_ABNORMAL');
  if ((status & 0x04) !== 0) errors.push('POWER_LOW');
  if ((status & 0x08) !== 0) errors.push('PERMANENT_ERROR');
  if ((status & 0x10) !== 0) errors.push('TEMPORARY_ERROR');
  return errors;
}

/**
 * The M-Bus codec's errors as DecodeErrors: reason `MBUS_{reason}` (`MBUS_BAD_CHECKSUM`,
 * `MBUS_PREMATURE_END_OF_DATA`…), the byte offset in the context. Anything else is rethrown.
 */
export function mbusDecodeError(err: unknown): never {
  if (err instanceof MbusFrameError || err instanceof MbusDecodeError) {
    throw new DecodeError(`MBUS_${err.reason}`, err.message, { cause: err, context: { offset: err.offset } });
  }
  throw err;
}

/** MBUS_LONG_FRAME: one EN 13757-2 long frame, or a control frame (an application error report without data). */
export function decodeMbusFrame(uplink: RawUplink, ctx: DecodeContext): DecodedUplink {
  let telegram: MbusTelegram;
  let app: ApplicationLayer;
  try {
    telegram = parseTelegram(uplink.payload);
    if (telegram.kind === 'ack' || telegram.kind === 'short') {
      const got = telegram.kind === 'ack' ? 'the single character E5' : 'a short frame (a master\'s request)';
      throw new DecodeError('MBUS_NOT_A_LONG_FRAME', `expected a long frame (68 L L 68 C A CI data CS 16), got ${got}`);
    }
    app = decodeFrame(telegram);
  } catch (err) {
    mbusDecodeError(err);
  }
  return fromApplicationLayer('mbus', app, uplink, ctx);
}

/**
 * An application layer as a LoRaWAN payload: CI byte, then data. Offsets in errors count from the
 * CI byte.
 */
export function decodeMbusPayload(payload: Uint8Array, uplink: RawUplink, ctx: DecodeContext): DecodedUplink {
  let app: ApplicationLayer;
  try {
    app = decodeApplicationLayer(payload[0]!, payload.subarray(1));
  } catch (err) {
    mbusDecodeError(err);
  }
  return fromApplicationLayer('lorawan-mbus', app, uplink, ctx);
}

function fromApplicationLayer(decoder: string, app: ApplicationLayer, uplink: RawUplink, ctx: DecodeContext): DecodedUplink {
  const values: DecodedValue[] = [];
  const warnings: string[] = [];
  switch (app.structure) {
    case 'variable': {
      const { header } = app;
      const statusErrors = header === null ? [] : statusErrorsOf(header.status.raw);
      collectRecordValues(app.records, ctx.timeZone, { values, warnings, statusErrors });
      if (app.moreRecordsFollow) warnings.push('the meter has more records for a further request (DIF 0x1F)');
      const device: DecodedDevice =
        header?.kind === 'long'
          ? deviceOfHeader(header.manufacturer, header.version, header.medium, statusErrors)
          : { statusErrors };
      return decoded(decoder, values, deviceWithRadio(uplink.radio, device), warnings);
    }
    case 'fixed': {
      const { header, counters } = app;
      for (const counter of counters) {
        const value = counterValue(counter);
        if (typeof value === 'string') warnings.push(`fixed-structure counter (unit code 0x${counter.unitCode.toString(16)}) skipped: ${value}`);
        else values.push(value);
      }
      const device: DecodedDevice = { medium: fixedMediumOf(header.medium), statusErrors: statusErrorsOf(header.status.raw) };
      return decoded(decoder, values, deviceWithRadio(uplink.radio, device), warnings);
    }
    case 'application-error':
      warnings.push(`the meter reports an application error: ${app.description} (code ${app.code})`);
      return decoded(decoder, values, deviceWithRadio(uplink.radio, { statusErrors: ['APPLICATION_ERROR'] }), warnings);
  }
}

// Code 0 reads as `@@@`: no manufacturer at all.
const FLAG_CODE = /^[A-Z]{3}$/;

/** Device facts of a long header (wired or LoRaWAN) or a wireless M-Bus meter address. */
export function deviceOfHeader(manufacturer: string, version: number, deviceType: number, statusErrors: string[]): DecodedDevice {
  return {
    manufacturer: FLAG_CODE.test(manufacturer) ? manufacturer : undefined,
    version,
    medium: mediumOf(deviceType),
    statusErrors,
  };
}

const FIXED_QUANTITIES: Partial<Record<Quantity, QuantityInfo>> = {
  energy: quantityInfo('energy')!,
  power: quantityInfo('power')!,
  volume: quantityInfo('volume')!,
  'volume-flow': quantityInfo('volume_flow')!,
  hca: quantityInfo('hca')!,
};
const HISTORIC: RegisterSlot = { ...MAIN_REGISTER, storageNumber: 1 };

/** A fixed-structure counter, or why it is none; a historic counter is a stored value, storage number 1. */
function counterValue(counter: FixedCounter): DecodedValue | string {
  const info = counter.quantity === null ? undefined : FIXED_QUANTITIES[counter.quantity];
  const unit = counter.unit ?? HCA_UNIT;
  const conversion = info?.conversions.get(unit);
  if (info === undefined || conversion === undefined) return 'not a register quantity';
  if (counter.value.kind !== 'number') return 'BCD with error digits';
  const { number, decimal } = counter.value;
  return decodedValue(info, conversion, number, unit, decimal ?? undefined, counter.historic ? HISTORIC : MAIN_REGISTER, undefined);
}
