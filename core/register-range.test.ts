import { describe, expect, it } from 'vitest';
import { decimalStep, finerStep } from './register-range.js';

describe('the decimal step of a register count', () => {
  it.each([
    ['12.345', -3],
    ['12.340', -2],
    ['12345000', 3],
    ['7', 0],
    ['0.5', -1],
    ['1.5e-7', -8],
    ['1e21', 21],
    ['-40.25', -2],
    ['99999.998000000', -3],
  ])('of %s is 10^%i', (decimal, step) => {
    expect(decimalStep(decimal)).toBe(step);
  });

  it('is unknown for zero and for what is no decimal', () => {
    expect(decimalStep('0')).toBeUndefined();
    expect(decimalStep('0.000')).toBeUndefined();
    expect(decimalStep('NaN')).toBeUndefined();
  });
});

describe('the resolution estimate', () => {
  it('keeps the finest step seen, so a count ending in zeros does not coarsen it', () => {
    expect(finerStep(undefined, '100.01')).toBe(-2);
    expect(finerStep(-3, '100.01')).toBe(-3);
    expect(finerStep(3, '12345')).toBe(0);
  });

  it('learns nothing from zero', () => {
    expect(finerStep(undefined, '0')).toBeUndefined();
    expect(finerStep(-3, '0.000000000')).toBe(-3);
  });
});
