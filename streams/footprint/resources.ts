/**
 * Which registers a footprint counts, and how: the resource follows from the device's medium
 * (registry `devices.medium`, as decode names M-Bus media) and the register key, and fixes the
 * GHG Protocol scope and the canonical unit of the consumption.
 */
import type { EmissionScope, FootprintResource } from '../../schemas/avro/index.js';

/** A register's resource, scope and the unit its consumption is in. */
export interface RegisterResource {
  readonly resource: Exclude<FootprintResource, 'UNKNOWN'>;
  readonly scope: Exclude<EmissionScope, 'UNKNOWN'>;
  /** emission_factors.resource. */
  readonly factorResource: 'gas' | 'electricity' | 'heat';
  readonly unit: 'm3' | 'Wh';
}

/**
 * medium → the one register key counted and what it is. Only the main total register counts
 * (`volume`, `energy`): tariff, storage and subunit registers repeat parts of it.
 */
const RULES: Readonly<Record<string, { readonly registerKey: string; readonly resource: RegisterResource }>> = {
  gas: { registerKey: 'volume', resource: { resource: 'GAS', scope: 'SCOPE_1', factorResource: 'gas', unit: 'm3' } },
  electricity: { registerKey: 'energy', resource: { resource: 'ELECTRICITY', scope: 'SCOPE_2', factorResource: 'electricity', unit: 'Wh' } },
  heat: { registerKey: 'energy', resource: { resource: 'HEAT', scope: 'SCOPE_2', factorResource: 'heat', unit: 'Wh' } },
  steam: { registerKey: 'energy', resource: { resource: 'HEAT', scope: 'SCOPE_2', factorResource: 'heat', unit: 'Wh' } },
};

/** The media whose registers may count (`devices.medium`). */
export const COUNTED_MEDIA: readonly string[] = Object.keys(RULES);

/** What a register is for the footprint, or undefined when it does not count (water, tariff registers, unknown media). */
export function registerResource(medium: string | null | undefined, registerKey: string, unit: string): RegisterResource | undefined {
  const rule = medium == null ? undefined : RULES[medium];
  if (rule === undefined || rule.registerKey !== registerKey || rule.resource.unit !== unit) return undefined;
  return rule.resource;
}

/**
 * Emission factor units, per canonical unit: a factor in kg per `unit` is
 * factor × numerator / denominator kg per canonical unit (1 MJ = 1/3.6 kWh, so per Wh it is × 0.0036).
 */
const PER_CANONICAL: Readonly<Record<'m3' | 'Wh', Readonly<Record<string, readonly [bigint, bigint]>>>> = {
  m3: { m3: [1n, 1n], l: [1000n, 1n] },
  Wh: { Wh: [1n, 1n], kWh: [1n, 1000n], MWh: [1n, 1_000_000n], GWh: [1n, 1_000_000_000n], MJ: [36n, 10_000n], GJ: [36n, 10_000_000n] },
};

/** [numerator, denominator] turning a factor per `factorUnit` into one per `unit`, or undefined when they do not convert. */
export function factorConversion(unit: 'm3' | 'Wh', factorUnit: string): readonly [bigint, bigint] | undefined {
  return PER_CANONICAL[unit][factorUnit];
}
