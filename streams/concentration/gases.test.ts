import { describe, expect, it } from 'vitest';
import { GWP_SET_NAMES as CONFIG_GWP_SET_NAMES } from '../../core/config.js';
import { GWP_SETS, GWP_SET_NAMES, massConcentration } from './gases.js';

describe('massConcentration', () => {
  it('converts 400 ppm CO2 at 20 °C and 1013.25 hPa to 731.81 mg/m³ (x·M·P/(R·T)/1000)', () => {
    // 400 × 44.0095 × 101325 / (8.314462618 × 293.15) / 1000, by hand: 731.81103…
    expect(massConcentration('CO2', 400, 293.15, 101_325)).toBeCloseTo(731.81104, 4);
  });

  it('follows the station\'s own temperature and pressure', () => {
    const warm = massConcentration('CH4', 2, 303.15, 101_325);
    const cold = massConcentration('CH4', 2, 263.15, 101_325);
    const low = massConcentration('CH4', 2, 263.15, 90_000);
    expect(cold / warm).toBeCloseTo(303.15 / 263.15, 12);
    expect(low / cold).toBeCloseTo(90_000 / 101_325, 12);
  });
});

describe('GWP100 sets', () => {
  it('are the sets the configuration accepts', () => {
    expect([...GWP_SET_NAMES]).toEqual([...CONFIG_GWP_SET_NAMES]);
  });

  it('hold the IPCC figures: AR6 CH4 27.9 / 29.8 fossil and N2O 273, AR5 28 / 30 and 265, AR4 25 and 298', () => {
    expect(GWP_SETS['IPCC-AR6'].gwp100).toEqual({ CO2: 1, CH4: 27.9, N2O: 273 });
    expect(GWP_SETS['IPCC-AR6-fossil'].gwp100).toEqual({ CO2: 1, CH4: 29.8, N2O: 273 });
    expect(GWP_SETS['IPCC-AR5'].gwp100).toEqual({ CO2: 1, CH4: 28, N2O: 265 });
    expect(GWP_SETS['IPCC-AR5-fossil'].gwp100).toEqual({ CO2: 1, CH4: 30, N2O: 265 });
    expect(GWP_SETS['IPCC-AR4'].gwp100).toEqual({ CO2: 1, CH4: 25, N2O: 298 });
  });
});
