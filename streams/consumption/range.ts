/**
 * The wrap range a register's readings are judged with, by the rule decode follows too
 * (core/register-range.ts), in nano-units of `Reading.value`: `10^digits × resolution × multiplier`.
 * The resolution is `registers.resolution` when the registry states it; else the register's own
 * estimate, the smallest decimal step among its counts (value ÷ multiplier), which its state keeps
 * (`RegisterState.step`). Pure.
 */
import { DEFAULT_REGISTER_DIGITS, finerStep } from '../../core/register-range.js';
import type { RegisterState } from './engine.js';
import { divRound, formatNano, NANO, parseNano } from './nano.js';

/** What the registry says of a register's counter, with the defaults for what it does not. */
export interface RegisterCounter {
  /** `registers.digits`, fraction digits included. */
  readonly digits: number;
  /** `registers.resolution`, one step of the count before the multiplier, in nano-units; null when unknown. */
  readonly resolution: bigint | null;
  /** `registers.multiplier` in nano-units: a value is the count times it. */
  readonly multiplier: bigint;
}

/** A register the registry does not know: 8 digits, resolution estimated, multiplier 1. */
export const DEFAULT_COUNTER: RegisterCounter = Object.freeze({ digits: DEFAULT_REGISTER_DIGITS, resolution: null, multiplier: NANO });

/** The counter of the registry's columns (numerics as text); NULL takes the default. */
export function counterOf(digits: number | null, multiplier: string | null, resolution: string | null): RegisterCounter {
  return {
    digits: digits ?? DEFAULT_REGISTER_DIGITS,
    resolution: resolution === null ? null : parseNano(resolution),
    multiplier: multiplier === null ? NANO : parseNano(multiplier),
  };
}

/**
 * The wrap range in nano-units: `10^digits × resolution × multiplier`, the resolution being the
 * registry's, else 10^step (the estimate), else 1; at least one nano-unit.
 */
export function wrapRange(counter: RegisterCounter, step: number | undefined): bigint {
  const { digits, resolution, multiplier } = counter;
  let range: bigint;
  if (resolution !== null) {
    range = divRound(10n ** BigInt(digits) * resolution * multiplier, NANO);
  } else {
    const exponent = digits + (step ?? 0);
    range = exponent >= 0 ? 10n ** BigInt(exponent) * multiplier : divRound(multiplier, 10n ** BigInt(-exponent));
  }
  return range > 0n ? range : 1n;
}

/**
 * The resolution estimate after one more value (nano-units of `Reading.value`): the finer of
 * `step` and the step of the value's count. A multiplier that does not divide the value exactly
 * tells nothing of the count, and neither does zero.
 */
export function refineStep(step: number | undefined, value: bigint, multiplier: bigint): number | undefined {
  // Zero tells nothing; skipping it spares the text of the many registers that stay at zero.
  if (value === 0n || multiplier === 0n) return step;
  if (multiplier === NANO) return finerStep(step, formatNano(value));
  const scaled = value * NANO;
  return scaled % multiplier === 0n ? finerStep(step, formatNano(scaled / multiplier)) : step;
}

/**
 * The estimate a state holds: its `step`, or, for a state written before the estimate was kept,
 * the one its kept readings and anchor give.
 */
export function stepOfState(state: RegisterState, multiplier: bigint): number | undefined {
  if (state.step !== undefined) return state.step;
  let step = state.base === undefined ? undefined : refineStep(undefined, state.base.anchor.value, multiplier);
  for (const reading of state.readings) step = refineStep(step, reading.value, multiplier);
  return step;
}

/** What a new reading of a register is judged with: the estimate refined by its value, and the range it gives. */
export function readingRange(state: RegisterState | undefined, counter: RegisterCounter, value: bigint): { readonly step: number | undefined; readonly range: bigint } {
  const known = state === undefined ? undefined : stepOfState(state, counter.multiplier);
  const step = refineStep(known, value, counter.multiplier);
  return { step, range: wrapRange(counter, step) };
}

/** The state with its estimate set to `step` (the same state when it already is). */
export function withStep(state: RegisterState, step: number | undefined): RegisterState {
  return state.step === step ? state : { ...state, step };
}
