/**
 * Medium names as `Device.medium` spells them (lower snake case), from the M-Bus device type byte
 * (EN 13757-3 Table 12, as extended by OMS) or the 4-bit medium of the fixed data structure.
 */

const DEVICE_TYPES: ReadonlyMap<number, string> = new Map([
  [0x00, 'other'],
  [0x01, 'oil'],
  [0x02, 'electricity'],
  [0x03, 'gas'],
  [0x04, 'heat'],
  [0x05, 'steam'],
  [0x06, 'warm_water'],
  [0x07, 'water'],
  [0x08, 'heat_cost_allocator'],
  [0x09, 'compressed_air'],
  [0x0a, 'cooling'],
  [0x0b, 'cooling'],
  [0x0c, 'heat'],
  [0x0d, 'heat_cooling'],
  [0x0e, 'bus_system'],
  [0x0f, 'unknown'],
  [0x14, 'calorific_value'],
  [0x15, 'hot_water'],
  [0x16, 'cold_water'],
  [0x17, 'dual_water'],
  [0x18, 'pressure'],
  [0x19, 'ad_converter'],
  [0x1a, 'smoke_detector'],
  [0x1b, 'room_sensor'],
  [0x1c, 'gas_detector'],
  [0x20, 'electricity_breaker'],
  [0x21, 'valve'],
  [0x25, 'customer_unit'],
  [0x28, 'waste_water'],
  [0x29, 'garbage'],
  [0x31, 'communication_controller'],
  [0x32, 'repeater'],
  [0x33, 'repeater'],
  [0x36, 'radio_converter'],
  [0x37, 'radio_converter'],
]);

// Fixed data structure (CI 0x73/0x77); codes 9 and 15 are reserved.
const FIXED_MEDIA: readonly (string | undefined)[] = [
  'other', 'oil', 'electricity', 'gas', 'heat', 'steam', 'hot_water', 'water',
  'heat_cost_allocator', undefined, 'gas', 'heat', 'hot_water', 'water', 'heat_cost_allocator', undefined,
];

/** The medium of a device type byte; `undefined` for codes the standard reserves. */
export function mediumOf(deviceType: number): string | undefined {
  return DEVICE_TYPES.get(deviceType);
}

/** The medium of a fixed-structure medium code (0–15); `undefined` for reserved codes. */
export function fixedMediumOf(code: number): string | undefined {
  return FIXED_MEDIA[code & 0x0f];
}
