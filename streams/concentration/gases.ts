/**
 * The physics and accounting constants of concentration estimates: molar masses, the gas constant,
 * the ideal-gas conversion from mole fraction to mass concentration, and the GWP100 sets that turn
 * a gas into CO₂-equivalent. Pure; the worker and its tests share it.
 */
import type { Gas } from '../../schemas/avro/index.js';

/** The gases a station reports, as written on records (never `UNKNOWN`). */
export type StationGas = Exclude<Gas, 'UNKNOWN'>;

/** Reading quantity → gas (schemas/avro/README.md, canonical unit ppm). */
export const GAS_OF_QUANTITY: Readonly<Record<string, StationGas>> = { co2: 'CO2', ch4: 'CH4', n2o: 'N2O' };

/** Molar gas constant, J/(mol·K) (exact in the 2019 SI: N_A × k). */
export const GAS_CONSTANT = 8.314462618;

/** Molar masses in g/mol (IUPAC standard atomic weights, as the design page fixes them). */
export const MOLAR_MASS: Readonly<Record<StationGas, number>> = { CO2: 44.0095, CH4: 16.0425, N2O: 44.0128 };

/**
 * Mass concentration in mg/m³ of a gas at mole fraction `ppm` (µmol/mol) in air at `temperatureK`
 * and `pressurePa`: x · M · P / (R · T) / 1000 (ideal gas; x·10⁻⁶ mol/mol × P/(RT) mol/m³ × M g/mol,
 * in mg). The caller passes the station's own T and P of the same uplink, never a standard state.
 */
export function massConcentration(gas: StationGas, ppm: number, temperatureK: number, pressurePa: number): number {
  return (ppm * MOLAR_MASS[gas] * pressurePa) / (GAS_CONSTANT * temperatureK) / 1000;
}

/** One GWP100 set: a name written on every record and a factor per gas. */
export interface GwpSet {
  readonly name: GwpSetName;
  readonly gwp100: Readonly<Record<StationGas, number>>;
  /** Where the figures come from. */
  readonly source: string;
}

/** The selectable sets; `CONCENTRATION_GWP_SET` picks one (core/config.ts keeps the same list). */
export const GWP_SET_NAMES = ['IPCC-AR6', 'IPCC-AR6-fossil', 'IPCC-AR5', 'IPCC-AR5-fossil', 'IPCC-AR4'] as const;
export type GwpSetName = (typeof GWP_SET_NAMES)[number];

const AR6 = 'IPCC AR6 WG I (2021), Chapter 7, Table 7.15 and 7.SM.7';
const AR5 = 'IPCC AR5 WG I (2013), Chapter 8, Table 8.7 and Appendix 8.A (without climate-carbon feedbacks)';
const AR4 = 'IPCC AR4 WG I (2007), Chapter 2, Table 2.14';

/**
 * GWP100 sets. Station air mixes methane of every origin; the plain AR6 and AR5 sets use the
 * non-fossil methane value, and the `-fossil` variants the fossil one (which adds the CO₂ its
 * oxidation leaves). AR4 has a single methane value.
 */
export const GWP_SETS: Readonly<Record<GwpSetName, GwpSet>> = {
  'IPCC-AR6': { name: 'IPCC-AR6', gwp100: { CO2: 1, CH4: 27.9, N2O: 273 }, source: AR6 },
  'IPCC-AR6-fossil': { name: 'IPCC-AR6-fossil', gwp100: { CO2: 1, CH4: 29.8, N2O: 273 }, source: AR6 },
  'IPCC-AR5': { name: 'IPCC-AR5', gwp100: { CO2: 1, CH4: 28, N2O: 265 }, source: AR5 },
  'IPCC-AR5-fossil': { name: 'IPCC-AR5-fossil', gwp100: { CO2: 1, CH4: 30, N2O: 265 }, source: AR5 },
  'IPCC-AR4': { name: 'IPCC-AR4', gwp100: { CO2: 1, CH4: 25, N2O: 298 }, source: AR4 },
};

/** 0 °C in kelvin: station temperatures arrive in degC (the canonical unit of `temperature`). */
export const ZERO_CELSIUS_K = 273.15;
