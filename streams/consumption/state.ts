/**
 * The changelog form of {@link RegisterState}: JSON with every nano-unit value as a decimal integer
 * string and readings as two parallel arrays (times, values), which keeps a register's value
 * compact: about 25 bytes per kept reading plus a few hundred for the profile, base and emitted
 * periods. Fields added later are optional, so values already in the changelog restore as they are.
 */
import type { StateCodec } from '../runtime/state-codec.js';
import type { EmittedPeriod, RegisterProfile, RegisterState } from './engine.js';
import type { FrozenBoundary, Quality, SeriesBase } from './series.js';

interface FrozenJson {
  readonly at: number;
  readonly advance: string;
  readonly value: string;
  readonly quality: Quality;
}

interface StateJson {
  readonly v: 1;
  readonly profile: Omit<RegisterProfile, 'range'> & { readonly range: string | null };
  readonly t: number[];
  readonly x: string[];
  readonly replacements: Array<{ id: string; at: number; oldFinalValue: string; newInitialValue: string }>;
  readonly base?: {
    readonly at: number;
    readonly anchor: { readonly at: number; readonly value: string; readonly advance: string; readonly readingAt: number };
    readonly monthStart?: FrozenJson;
    readonly monthRollovers: number;
    readonly monthReplacements: number;
  };
  readonly watermark: number | null;
  readonly emitted: Record<string, EmittedPeriod>;
  /** `RegisterState.step`; absent when unknown, and in states written before it was kept (still version 1: nothing else changed). */
  readonly s?: number;
}

const frozenToJson = (f: FrozenBoundary): FrozenJson => ({ at: f.at, advance: f.advance.toString(), value: f.value.toString(), quality: f.quality });
const frozenFromJson = (f: FrozenJson): FrozenBoundary => ({ at: f.at, advance: BigInt(f.advance), value: BigInt(f.value), quality: f.quality });

function baseFromJson(b: NonNullable<StateJson['base']>): SeriesBase {
  return {
    at: b.at,
    anchor: { ...b.anchor, value: BigInt(b.anchor.value), advance: BigInt(b.anchor.advance) },
    ...(b.monthStart === undefined ? {} : { monthStart: frozenFromJson(b.monthStart) }),
    monthRollovers: b.monthRollovers,
    monthReplacements: b.monthReplacements,
  };
}

/** The codec of the consumption worker's state values. */
export const consumptionStateCodec: StateCodec<RegisterState> = {
  encode(state) {
    const { base } = state;
    const json: StateJson = {
      v: 1,
      profile: { ...state.profile, range: state.profile.range === null ? null : state.profile.range.toString() },
      t: state.readings.map((r) => r.at),
      x: state.readings.map((r) => r.value.toString()),
      replacements: state.replacements.map((r) => ({ id: r.id, at: r.at, oldFinalValue: r.oldFinalValue.toString(), newInitialValue: r.newInitialValue.toString() })),
      ...(base === undefined
        ? {}
        : {
            base: {
              at: base.at,
              anchor: { ...base.anchor, value: base.anchor.value.toString(), advance: base.anchor.advance.toString() },
              ...(base.monthStart === undefined ? {} : { monthStart: frozenToJson(base.monthStart) }),
              monthRollovers: base.monthRollovers,
              monthReplacements: base.monthReplacements,
            },
          }),
      watermark: Number.isFinite(state.watermark) ? state.watermark : null,
      emitted: state.emitted,
      ...(state.step === undefined ? {} : { s: state.step }),
    };
    return Buffer.from(JSON.stringify(json));
  },
  decode(bytes) {
    const json = JSON.parse(bytes.toString('utf8')) as StateJson;
    if (json.v !== 1) throw new Error(`consumption state: expected version 1, got ${String(json.v)}`);
    return {
      profile: { ...json.profile, range: json.profile.range === null ? null : BigInt(json.profile.range) },
      readings: json.t.map((at, i) => ({ at, value: BigInt(json.x[i]!) })),
      replacements: json.replacements.map((r) => ({ id: r.id, at: r.at, oldFinalValue: BigInt(r.oldFinalValue), newInitialValue: BigInt(r.newInitialValue) })),
      ...(json.base === undefined ? {} : { base: baseFromJson(json.base) }),
      watermark: json.watermark ?? Number.NEGATIVE_INFINITY,
      emitted: json.emitted,
      ...(json.s === undefined ? {} : { step: json.s }),
    };
  },
};
