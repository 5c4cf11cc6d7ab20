/**
 * WMBUS_TELEGRAM: one EN 13757-4 / OMS telegram, decrypted with the meter's key when it is
 * encrypted (OMS mode 5), then its data records read by the M-Bus record parser.
 */
import { DecodeError } from '../../../core/errors.js';
import type { RawUplink } from '../../../schemas/avro/index.js';
import { decodeRecords, type DecodedRecords } from '../../../protocols/mbus/index.js';
import {
  decodeTelegram,
  WmbusFrameError,
  WmbusSecurityError,
  type DecodedTelegram,
  type DecodeOptions,
  type MeterAddress,
} from '../../../protocols/wmbus/index.js';
import type { DecodeContext, DecodedUplink, DecodedValue } from './index.js';
import { deviceOfHeader, mbusDecodeError, statusErrorsOf } from './mbus.js';
import { collectRecordValues } from './mbus-records.js';
import { decoded, deviceWithRadio } from './values.js';

const CI_COMPACT = 0x79;

/**
 * Decodes a telegram. The gateway's `frameFormat` metadata (`A` or `B`) says how to read the link
 * layer; the link-layer CRCs may be present or stripped.
 *
 * @throws {DecodeError} `KEY_MISSING` (no key for the meter) and `DECRYPTION_FAILED` (the key does
 *   not decrypt it), both re-drivable once the right key is stored; `BAD_KEY`,
 *   `UNSUPPORTED_SECURITY_MODE`, `BAD_ENCRYPTED_LENGTH`; `WMBUS_{reason}` for framing
 *   (`WMBUS_BAD_CRC`, `WMBUS_TRUNCATED`…); `WMBUS_COMPACT_FRAME` for CI 0x79; `MBUS_{reason}` for
 *   malformed records.
 */
export function decodeWmbusTelegram(uplink: RawUplink, ctx: DecodeContext): DecodedUplink {
  let telegram: DecodedTelegram;
  try {
    telegram = decodeTelegram(uplink.payload, optionsFor(uplink, ctx));
  } catch (err) {
    throw wmbusError(err);
  }
  const { transport, meter } = telegram;
  if (transport.ci === CI_COMPACT) {
    throw new DecodeError(
      'WMBUS_COMPACT_FRAME',
      'CI 0x79: a compact frame carries values without DIF/VIF, readable only with the format of an earlier full frame',
      { context: { meterId: telegram.meterId } },
    );
  }
  let records: DecodedRecords;
  try {
    // Offsets in errors count from the first byte of the (decrypted) application data.
    records = decodeRecords(telegram.applicationData, 0, false, 0);
  } catch (err) {
    mbusDecodeError(err);
  }
  const values: DecodedValue[] = [];
  const warnings: string[] = [];
  const statusErrors = transport.kind === 'none' ? [] : statusErrorsOf(transport.status);
  collectRecordValues(records.records, ctx.timeZone, { values, warnings, statusErrors });
  const sender = telegram.link.address.id;
  if (meter.id !== sender) {
    warnings.push(`telegram of meter ${meter.id.toLowerCase()} sent by ${sender.toLowerCase()} (repeater or radio converter)`);
  }
  const device = deviceOfHeader(meter.manufacturerCode, meter.version, meter.deviceType, statusErrors);
  return decoded('wmbus', values, deviceWithRadio(uplink.radio, device), warnings);
}

function optionsFor(uplink: RawUplink, ctx: DecodeContext): DecodeOptions {
  const format = uplink.metadata['frameFormat'];
  return {
    frameFormat: format === 'B' ? 'B' : 'A',
    keyFor: (meter: MeterAddress) => ctx.keyFor(meter.id.toLowerCase()),
  };
}

function wmbusError(err: unknown): unknown {
  if (err instanceof WmbusSecurityError) {
    return new DecodeError(err.reason, err.message, { cause: err, context: { meterId: err.meterId.toLowerCase() } });
  }
  if (err instanceof WmbusFrameError) {
    return new DecodeError(`WMBUS_${err.reason}`, err.message, {
      cause: err,
      context: { offset: err.offset, ...(err.block === undefined ? {} : { block: err.block }) },
    });
  }
  return err;
}
