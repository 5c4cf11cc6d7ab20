import avsc from 'avsc';
import type { Schema, Type } from 'avsc';

const DECIMAL_PATTERN = /^(-?)(\d+)(?:\.(\d+))?$/;

/**
 * Avro `decimal` logical type on `bytes`, held in JavaScript as a `string` with an exact decimal
 * number (e.g. `"12.500000000"`), never as a lossy `number`.
 *
 * On the wire the value is the unscaled integer (value × 10^scale) in big-endian two's complement,
 * in the fewest bytes, as the Avro specification requires. Writing accepts `-?digits[.digits]` with
 * at most `scale` fraction digits and at most `precision` digits in all (after padding the fraction
 * to `scale`); anything else is refused with a message saying why. Reading always yields exactly
 * `scale` fraction digits, so `"12.5"` comes back as `"12.500000000"` at scale 9.
 *
 * Passed to avsc through `AVRO_TYPE_OPTIONS` (see `./index.ts`); avsc constructs it for every
 * schema node with `"logicalType": "decimal"`. The constructor throws for a decimal on anything but
 * `bytes` or for an invalid precision or scale, which avsc surfaces because those options set
 * `assertLogicalTypes`.
 */
export class DecimalType extends avsc.types.LogicalType {
  /** Maximum number of significant digits (unscaled digits), from the schema's `precision`. */
  readonly precision: number;
  /** Number of digits after the decimal point, from the schema's `scale` (0 when absent). */
  readonly scale: number;

  constructor(schema: Schema, opts?: unknown) {
    super(schema, opts);
    const attrs = schema as { precision?: unknown; scale?: unknown };
    const precision = attrs.precision;
    const scale = attrs.scale ?? 0;
    if (!avsc.Type.isType(this.underlyingType, 'bytes')) {
      throw new Error(`decimal: expected underlying type bytes, got ${this.underlyingType.typeName}`);
    }
    if (typeof precision !== 'number' || !Number.isInteger(precision) || precision < 1) {
      throw new Error(`decimal: expected precision to be a positive integer, got ${JSON.stringify(precision)}`);
    }
    if (typeof scale !== 'number' || !Number.isInteger(scale) || scale < 0 || scale > precision) {
      throw new Error(`decimal: expected scale to be an integer from 0 to precision ${precision}, got ${JSON.stringify(scale)}`);
    }
    this.precision = precision;
    this.scale = scale;
    this.#limit = 10n ** BigInt(precision);
  }

  /** 10^precision: every unscaled value's magnitude is below it. */
  readonly #limit: bigint;

  /**
   * Why `value` cannot be written as this decimal, or `undefined` when it can. Used by
   * `validateRecord` to say what is wrong with a decimal field.
   */
  problemWith(value: unknown): string | undefined {
    const parsed = this.#parse(value);
    return typeof parsed === 'bigint' ? undefined : parsed.problem;
  }

  /** Orders two valid decimal strings numerically (avsc's default would compare encoded bytes). */
  override compare(a: unknown, b: unknown): number {
    const x = this.#unscaled(a);
    const y = this.#unscaled(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }

  protected override _toValue(value: unknown): Buffer {
    return toTwosComplement(this.#unscaled(value));
  }

  protected override _fromValue(bytes: Buffer): string {
    const unscaled = fromTwosComplement(bytes);
    if (abs(unscaled) >= this.#limit) {
      throw new Error(`${this.#label()}: decoded value ${unscaled} has more than ${this.precision} digits`);
    }
    return this.#format(unscaled);
  }

  /** Reads decimals written with the same precision and scale; anything else is not resolvable. */
  protected override _resolve(writer: Type): ((value: string) => string) | undefined {
    if (writer instanceof DecimalType && writer.precision === this.precision && writer.scale === this.scale) {
      return (value) => value;
    }
    return undefined;
  }

  /** Keeps precision and scale in `type.schema({ exportAttrs: true })`. */
  protected override _export(schema: Schema): void {
    Object.assign(schema, { precision: this.precision, scale: this.scale });
  }

  #label(): string {
    return `decimal(${this.precision},${this.scale})`;
  }

  #unscaled(value: unknown): bigint {
    const parsed = this.#parse(value);
    if (typeof parsed !== 'bigint') {
      throw new Error(`invalid ${this.#label()} ${describe(value)}: ${parsed.problem}`);
    }
    return parsed;
  }

  #parse(value: unknown): bigint | { problem: string } {
    if (typeof value !== 'string') {
      return { problem: 'not a string' };
    }
    const match = DECIMAL_PATTERN.exec(value);
    if (match === null) {
      return { problem: 'not a decimal number (expected -?digits[.digits])' };
    }
    const [, sign = '', integer = '', fraction = ''] = match;
    if (fraction.length > this.scale) {
      return { problem: `${fraction.length} fraction digits, more than scale ${this.scale}` };
    }
    const magnitude = BigInt(integer + fraction.padEnd(this.scale, '0'));
    if (magnitude >= this.#limit) {
      return { problem: `${magnitude.toString().length} digits at scale ${this.scale}, more than precision ${this.precision}` };
    }
    return sign === '-' ? -magnitude : magnitude;
  }

  #format(unscaled: bigint): string {
    const digits = abs(unscaled).toString().padStart(this.scale + 1, '0');
    const sign = unscaled < 0n ? '-' : '';
    if (this.scale === 0) {
      return sign + digits;
    }
    const point = digits.length - this.scale;
    return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
  }
}

function abs(n: bigint): bigint {
  return n < 0n ? -n : n;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : `${typeof value} ${String(value)}`;
}

/** Big-endian two's complement in the fewest bytes that hold `n` (zero is one 0x00 byte). */
function toTwosComplement(n: bigint): Buffer {
  // The magnitude's hex digits give the byte count; one more byte when the sign bit would be wrong.
  const magnitudeHex = (n < 0n ? -n - 1n : n).toString(16);
  let size = Math.ceil(magnitudeHex.length / 2);
  if (magnitudeHex.length % 2 === 0 && magnitudeHex.charCodeAt(0) >= 0x38 /* '8' */) size += 1;
  const unsigned = n < 0n ? (1n << BigInt(8 * size)) + n : n;
  return Buffer.from(unsigned.toString(16).padStart(2 * size, '0'), 'hex');
}

/** Inverse of {@link toTwosComplement}; an empty buffer reads as zero. */
function fromTwosComplement(bytes: Buffer): bigint {
  let n = 0n;
  for (const byte of bytes) {
    n = (n << 8n) | BigInt(byte);
  }
  const first = bytes[0];
  return first !== undefined && first >= 0x80 ? n - (1n << BigInt(8 * bytes.length)) : n;
}
