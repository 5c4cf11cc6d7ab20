/** Medium / device type names (EN 13757-3 Table 12, as extended by OMS). */

const DEVICE_TYPES: Readonly<Record<number, string>> = {
  0x00: 'Other',
  0x01: 'Oil',
  0x02: 'Electricity',
  0x03: 'Gas',
  0x04: 'Heat (outlet)',
  0x05: 'Steam',
  0x06: 'Warm water (30–90 °C)',
  0x07: 'Water',
  0x08: 'Heat cost allocator',
  0x09: 'Compressed air',
  0x0a: 'Cooling load meter (outlet)',
  0x0b: 'Cooling load meter (inlet)',
  0x0c: 'Heat (inlet)',
  0x0d: 'Heat / cooling load meter',
  0x0e: 'Bus / system component',
  0x0f: 'Unknown medium',
  0x14: 'Calorific value',
  0x15: 'Hot water (≥ 90 °C)',
  0x16: 'Cold water',
  0x17: 'Dual register (hot/cold) water meter',
  0x18: 'Pressure',
  0x19: 'A/D converter',
  0x1a: 'Smoke detector',
  0x1b: 'Room sensor',
  0x1c: 'Gas detector',
  0x20: 'Breaker (electricity)',
  0x21: 'Valve (gas or water)',
  0x25: 'Customer unit (display device)',
  0x28: 'Waste water',
  0x29: 'Garbage',
  0x31: 'Communication controller',
  0x32: 'Unidirectional repeater',
  0x33: 'Bidirectional repeater',
  0x36: 'Radio converter (system side)',
  0x37: 'Radio converter (meter side)',
};

/** The name of a device type code; `Reserved` for codes the standard does not assign. */
export function deviceTypeName(code: number): string {
  return DEVICE_TYPES[code] ?? 'Reserved';
}

const FIXED_MEDIA: readonly string[] = [
  'Other', 'Oil', 'Electricity', 'Gas', 'Heat', 'Steam', 'Hot water', 'Water',
  'Heat cost allocator', 'Reserved', 'Gas (mode 2)', 'Heat (mode 2)', 'Hot water (mode 2)',
  'Water (mode 2)', 'Heat cost allocator (mode 2)', 'Reserved',
];

/** The name of a 4-bit medium code of the fixed data structure (CI 0x73/0x77). */
export function fixedMediumName(code: number): string {
  return FIXED_MEDIA[code & 0x0f]!;
}
