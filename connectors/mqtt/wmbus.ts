/**
 * Wireless M-Bus telegrams from gateways, `wmbus/{gatewayId}/telegram`: a JSON envelope (defined
 * here, documented in README.md) around the telegram as hex. The connector keeps the telegram bytes
 * untouched and reads only the link-layer address to key the record; decoding is downstream.
 *
 * ```
 * byte  0   1   2-3  4-7                 8        9            10
 *       L   C   M    ident (BCD, LSB first)  version  device type  CI (without link-layer CRCs)
 * ```
 * Bytes 0–9 are the same whether or not the gateway left the link-layer CRCs in (the first CRC
 * follows byte 9 in format A).
 */
import { PayloadError } from '../../core/errors.js';
import {
  invalid,
  optionalInstant,
  optionalNumber,
  optionalString,
  requiredString,
  type JsonObject,
} from './json-fields.js';

/** A telegram envelope, validated. */
export interface WmbusEnvelope {
  /** The telegram bytes as received over the air. */
  readonly telegram: Buffer;
  readonly rssiDbm?: number;
  /** When the gateway received the telegram, epoch ms. */
  readonly timeMs?: number;
  /** Every envelope field but `telegram`, as text (strings as they are, anything else as JSON). */
  readonly fields: Readonly<Record<string, string>>;
}

/** L, C, M (2), A (6) and CI: the shortest telegram there is. */
export const MIN_TELEGRAM_BYTES = 11;
const HEX = /^(?:[0-9A-Fa-f]{2})+$/;
const FRAME_FORMAT = { pattern: /^[AB]$/, expected: '"A" or "B"' };

/**
 * Validates an envelope and decodes its telegram.
 * @throws {PayloadError} `BAD_HEX` for a telegram that is not whole bytes of hex, `INVALID_FIELD`
 *   for one shorter than {@link MIN_TELEGRAM_BYTES} or a wrongly typed field, `MISSING_FIELD`.
 */
export function parseWmbusEnvelope(json: JsonObject): WmbusEnvelope {
  const hex = requiredString(json, 'telegram');
  if (!HEX.test(hex)) throw invalid('telegram', 'must be hex digits, two per byte', hex, 'BAD_HEX');
  const telegram = Buffer.from(hex, 'hex');
  if (telegram.length < MIN_TELEGRAM_BYTES) {
    throw new PayloadError({
      field: 'telegram',
      problem: `must be at least ${MIN_TELEGRAM_BYTES} bytes (L, C, M, A, CI), got ${telegram.length}`,
      reason: 'INVALID_FIELD',
    });
  }
  optionalString(json, 'mode');
  optionalString(json, 'frameFormat', FRAME_FORMAT);
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(json)) {
    if (key !== 'telegram' && value !== null) fields[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return {
    telegram,
    rssiDbm: optionalNumber(json, 'rssiDbm'),
    timeMs: optionalInstant(json, 'time'),
    fields,
  };
}

/**
 * The meter's device id from the link-layer address: `mbus:` + ident (8 digits) + manufacturer
 * (the 16-bit M field, 4 hex digits) + version + device type, lower case — the secondary-address
 * form wired M-Bus uses too. Non-BCD ident nibbles show as hex letters rather than failing.
 */
export function meterIdOf(telegram: Uint8Array): string {
  const hex = (offset: number): string => (telegram[offset] ?? 0).toString(16).padStart(2, '0');
  const ident = hex(7) + hex(6) + hex(5) + hex(4);
  const manufacturer = hex(3) + hex(2);
  return `mbus:${ident}${manufacturer}${hex(8)}${hex(9)}`;
}
