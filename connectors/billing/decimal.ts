/**
 * Exact decimal arithmetic for billing. Quantities are bigint nano-units (scale 9, as the
 * Consumption record's `decimal(38,9)`), prices bigint micro-units (scale 6, as
 * `tariffs.price_per_unit numeric(20,6)`), money bigint minor units (scale 2: kopecks, cents).
 * Nothing passes through a floating-point number.
 */

/** Scale of quantities (Consumption decimals). */
export const QUANTITY_SCALE = 9;
/** Scale of tariff prices. */
export const PRICE_SCALE = 6;
/** Scale of money: every currency is billed in hundredths (kopecks, cents). */
export const MONEY_SCALE = 2;

const DECIMAL = /^([+-])?(\d+)(?:\.(\d+))?$/;

/**
 * Parses a plain decimal string (`"12.5"`, `"-0.000000001"`, `"3"`) into an integer of
 * `scale` fraction digits.
 *
 * @throws {RangeError} for anything else (exponents, blanks, more fraction digits than `scale`
 *   unless they are zeros), naming what arrived.
 */
export function parseScaled(text: string, scale: number): bigint {
  const match = DECIMAL.exec(text.trim());
  if (!match) throw new RangeError(`expected a plain decimal number, got "${text}"`);
  const [, sign, whole = '0', fraction = ''] = match;
  const significant = fraction.replace(/0+$/, '');
  if (significant.length > scale) {
    throw new RangeError(`expected at most ${scale} fraction digits, got "${text}"`);
  }
  const value = BigInt(whole + significant.padEnd(scale, '0'));
  return sign === '-' ? -value : value;
}

/**
 * Formats a scaled integer as a decimal string with `separator` between whole and fraction.
 * `minFraction` digits are always shown; further non-zero fraction digits up to the scale are
 * shown too (trailing zeros beyond `minFraction` are dropped).
 */
export function formatScaled(value: bigint, scale: number, options: { separator?: string; minFraction?: number } = {}): string {
  const separator = options.separator ?? '.';
  const minFraction = options.minFraction ?? scale;
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  let fraction = digits.slice(digits.length - scale);
  while (fraction.length > minFraction && fraction.endsWith('0')) fraction = fraction.slice(0, -1);
  return `${negative ? '-' : ''}${whole}${fraction === '' ? '' : separator + fraction}`;
}

/**
 * `numerator / denominator` rounded half-up, where "up" is away from zero (so −0.005 becomes
 * −0.01, matching what a reader of the absolute amount expects).
 *
 * @throws {RangeError} when the denominator is not positive.
 */
export function divideHalfUp(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n) throw new RangeError(`expected a positive denominator, got ${denominator}`);
  const magnitude = numerator < 0n ? -numerator : numerator;
  const rounded = (2n * magnitude + denominator) / (2n * denominator);
  return numerator < 0n ? -rounded : rounded;
}

/** `value` (at `fromScale`) at `toScale`, rounded half-up away from zero when digits are dropped. */
export function rescale(value: bigint, fromScale: number, toScale: number): bigint {
  if (toScale >= fromScale) return value * 10n ** BigInt(toScale - fromScale);
  return divideHalfUp(value, 10n ** BigInt(fromScale - toScale));
}

/** An exact ratio of two positive integers. */
export interface Ratio {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

/**
 * How many tariff units one canonical consumption unit is, exactly. Tariffs are priced per `m3`,
 * `l`, `Wh`, `kWh`, `MWh`, `GJ` or `Gcal` (International Table calorie: 1 Gcal = 4.1868 GJ =
 * 1 163 000 Wh exactly); consumption comes in the canonical `m3` or `Wh`.
 *
 * @returns undefined when the two units do not measure the same thing.
 */
export function unitRatio(consumptionUnit: string, tariffUnit: string): Ratio | undefined {
  const base = UNITS[consumptionUnit];
  const target = UNITS[tariffUnit];
  if (base === undefined || target === undefined || base.dimension !== target.dimension) return undefined;
  // quantity[tariff] = quantity[consumption] × (base size / target size)
  const numerator = base.size.numerator * target.size.denominator;
  const denominator = base.size.denominator * target.size.numerator;
  const common = gcd(numerator, denominator);
  return { numerator: numerator / common, denominator: denominator / common };
}

/** Each unit's size in its dimension's reference unit (m3, Wh), as an exact ratio. */
const UNITS: Readonly<Record<string, { dimension: 'volume' | 'energy'; size: Ratio }>> = {
  m3: { dimension: 'volume', size: { numerator: 1n, denominator: 1n } },
  l: { dimension: 'volume', size: { numerator: 1n, denominator: 1000n } },
  Wh: { dimension: 'energy', size: { numerator: 1n, denominator: 1n } },
  kWh: { dimension: 'energy', size: { numerator: 1000n, denominator: 1n } },
  MWh: { dimension: 'energy', size: { numerator: 1_000_000n, denominator: 1n } },
  // 1 GJ = 10^9 J = 10^9 / 3600 Wh
  GJ: { dimension: 'energy', size: { numerator: 1_000_000_000n, denominator: 3600n } },
  Gcal: { dimension: 'energy', size: { numerator: 1_163_000n, denominator: 1n } },
};

/** The units {@link unitRatio} knows, for messages. */
export const KNOWN_UNITS: readonly string[] = Object.keys(UNITS);

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x === 0n ? 1n : x;
}

/** One tariff's share of a period: its price, and the days of the period it applies to. */
export interface PriceSegment {
  /** Price per tariff unit, micro-units of the currency. */
  readonly priceMicros: bigint;
  readonly days: number;
}

/**
 * The amount to bill, in minor units: Σ quantity × ratio × price × days / total days, computed
 * exactly and rounded half-up once at the end. `quantityNanos` is consumption in the canonical
 * unit; `ratio` converts it to the tariff unit ({@link unitRatio}); segments must cover
 * `totalDays` together (the caller checks coverage).
 */
export function amountMinor(quantityNanos: bigint, ratio: Ratio, segments: readonly PriceSegment[], totalDays: number): bigint {
  if (totalDays <= 0) throw new RangeError(`expected a positive number of days, got ${totalDays}`);
  let numerator = 0n;
  for (const segment of segments) numerator += quantityNanos * ratio.numerator * segment.priceMicros * BigInt(segment.days);
  // nanos × micros = 10^-15 of the currency; minor units are 10^-2, so 10^13 between them.
  const denominator = ratio.denominator * BigInt(totalDays) * 10n ** BigInt(QUANTITY_SCALE + PRICE_SCALE - MONEY_SCALE);
  return divideHalfUp(numerator, denominator);
}
