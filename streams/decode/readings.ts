/**
 * Decoded values → `Reading` records with their quality flags. Pure: the handler passes what the
 * registry and the device's state say, and keeps the register marks this returns.
 *
 * - `readingId` is `{uplinkId}:{index}`, the value's position in the decoded uplink.
 * - `observedAt` is the payload's own time, else the transport's device time, else the receipt
 *   time (flagged `TIME_FROM_RECEIPT`); the clock checks compare it with the receipt time.
 * - `value` is the canonical value times the register's multiplier; range checks read it, the
 *   monotonicity and digit checks read the register's own count (before the multiplier) against
 *   its digits and resolution (registers.ts).
 */
import { DEFAULT_REGISTER_DIGITS } from '../../core/register-range.js';
import type { QualityFlag, RawUplink, Reading } from '../../schemas/avro/index.js';
import type { DecodedUplink, DecodedValue } from './decoders/index.js';
import { clockFlags, orderFlags, outOfRange, type ClockLimits } from './quality.js';
import { checkRegister } from './registers.js';
import type { RegisterSettings } from './registry-entry.js';
import type { RegisterMark } from './state.js';

/** What the mapping needs besides the decoded values. */
export interface ReadingInputs {
  readonly uplink: RawUplink;
  readonly decoded: DecodedUplink;
  readonly organisationId: string | null;
  readonly siteId: string | null;
  /** The registry's settings of the device's registers, by registerKey. */
  readonly registers: Readonly<Record<string, RegisterSettings>>;
  /** The last value of each cumulative register, by registerKey. */
  readonly marks: Readonly<Record<string, RegisterMark>>;
  /** The uplink reports a device error: every reading is flagged `DEVICE_ERROR`. */
  readonly deviceError: boolean;
  /** The device's battery counts as low: every reading is flagged `LOW_BATTERY`. */
  readonly lowBattery: boolean;
  readonly clock?: ClockLimits;
}

/** A cumulative register that went back without a wrap. */
export interface SuspectedReset {
  readonly registerKey: string;
  readonly unit: string;
  readonly from: number;
  readonly fromAt: number;
  readonly to: number;
  readonly at: number;
}

/** What {@link mapReadings} produced. */
export interface MappedReadings {
  readonly readings: Reading[];
  /** The register marks to keep (all of them, changed or not). */
  readonly marks: Record<string, RegisterMark>;
  readonly resets: SuspectedReset[];
}

/** Maps every decoded value of an uplink to a reading. */
export function mapReadings(inputs: ReadingInputs): MappedReadings {
  const { uplink, decoded } = inputs;
  const marks: Record<string, RegisterMark> = { ...inputs.marks };
  const resets: SuspectedReset[] = [];
  const readings = decoded.values.map((value, index) => {
    const flags = new Set<QualityFlag>();
    const observedAt = observedAtOf(value, uplink, flags);
    for (const flag of clockFlags(observedAt, uplink.receivedAt, inputs.clock)) flags.add(flag);
    const settings = inputs.registers[value.registerKey];
    const multiplied = settings === undefined ? value.value : times(value.value, settings.multiplier);
    if (outOfRange(value.quantity, multiplied)) flags.add('OUT_OF_RANGE');

    if (value.cumulative && Number.isFinite(value.value)) {
      const counter = { digits: settings?.digits ?? DEFAULT_REGISTER_DIGITS, resolution: settings?.resolution ?? undefined };
      const check = checkRegister(marks[value.registerKey], value.value, value.exact, observedAt, counter);
      marks[value.registerKey] = check.mark;
      if (settings?.digits != null && check.exceedsDigits) flags.add('OUT_OF_RANGE');
      if (check.flag !== undefined) flags.add(check.flag);
      if (check.flag === 'SUSPECTED_RESET' && check.previous !== undefined) {
        resets.push({ registerKey: value.registerKey, unit: value.unit, from: check.previous.value, fromAt: check.previous.at, to: value.value, at: observedAt });
      }
    }
    if (inputs.deviceError) flags.add('DEVICE_ERROR');
    if (inputs.lowBattery) flags.add('LOW_BATTERY');

    return {
      readingId: `${uplink.uplinkId}:${index}`,
      uplinkId: uplink.uplinkId,
      deviceId: uplink.deviceId,
      registerKey: value.registerKey,
      organisationId: inputs.organisationId,
      siteId: inputs.siteId,
      quantity: value.quantity,
      value: multiplied,
      unit: value.unit,
      originalValue: value.originalValue,
      originalUnit: value.originalUnit,
      function: value.function,
      storageNumber: value.storageNumber,
      tariff: value.tariff,
      subunit: value.subunit,
      cumulative: value.cumulative,
      observedAt,
      receivedAt: uplink.receivedAt,
      qualityFlags: orderFlags(flags),
      decoderVersion: decoded.decoderVersion,
    } satisfies Reading;
  });
  return { readings, marks, resets };
}

function observedAtOf(value: DecodedValue, uplink: RawUplink, flags: Set<QualityFlag>): number {
  if (value.observedAt !== undefined) return value.observedAt;
  if (uplink.deviceTimeAt !== null) return uplink.deviceTimeAt;
  flags.add('TIME_FROM_RECEIPT');
  return uplink.receivedAt;
}

/** `value × multiplier` (a `numeric` as text); a multiplier of 1 leaves the value exactly as it was. */
function times(value: number, multiplier: string): number {
  const factor = Number(multiplier);
  return factor === 1 ? value : value * factor;
}
