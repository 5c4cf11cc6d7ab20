/**
 * EN 13757-3 application layer of slave responses, dispatched on the CI field:
 *
 * ```
 * 0x72 / 0x76  variable data structure, long header (LSB / MSB first)
 * 0x7A         variable data structure, short header
 * 0x78         variable data structure, no header
 * 0x73 / 0x77  fixed data structure (LSB / MSB first)
 * 0x70         report of an application error
 * ```
 * The same layer is carried by wired M-Bus long frames, wireless M-Bus (EN 13757-4) and OMS, and
 * many LoRaWAN meters; this module knows nothing about the carrier.
 */
import { hexByte, MbusDecodeError } from './errors.js';
import { decodeFixedData, type FixedCounter, type FixedHeader } from './fixed-data.js';
import {
  LONG_HEADER_LENGTH,
  readLongHeader,
  readShortHeader,
  SHORT_HEADER_LENGTH,
  type LongHeader,
  type ShortHeader,
} from './header.js';
import { decodeRecords, type DataRecord } from './records.js';

/** A variable data structure response: header, records, manufacturer data. */
export interface VariableDataResponse {
  readonly structure: 'variable';
  readonly ci: number;
  /** `null` for CI 0x78, which has no header. */
  readonly header: LongHeader | ShortHeader | null;
  readonly records: readonly DataRecord[];
  /** Bytes after DIF 0x0F/0x1F, kept raw (possibly empty); `null` when neither was sent. */
  readonly manufacturerData: Uint8Array | null;
  /** The meter ended with DIF 0x1F: it has more records for the next request. */
  readonly moreRecordsFollow: boolean;
}

/** A fixed data structure response: two counters. */
export interface FixedDataResponse {
  readonly structure: 'fixed';
  readonly ci: number;
  readonly header: FixedHeader;
  readonly counters: readonly [FixedCounter, FixedCounter];
}

/**
 * A slave's report that it could not answer (CI 0x70). This is a well-formed telegram, not a
 * decoding failure: the meter is telling why it has no data.
 */
export interface ApplicationErrorReport {
  readonly structure: 'application-error';
  readonly ci: number;
  /** The error code (EN 13757-3 Table 22); 0 also when the telegram carries none. */
  readonly code: number;
  readonly description: string;
  /** Any bytes after the code, kept raw. */
  readonly detail: Uint8Array;
}

/** A decoded application layer. */
export type ApplicationLayer = VariableDataResponse | FixedDataResponse | ApplicationErrorReport;

const CI_APPLICATION_ERROR = 0x70;
const CI_LONG_HEADER = 0x72;
const CI_FIXED = 0x73;
const CI_LONG_HEADER_MSB = 0x76;
const CI_FIXED_MSB = 0x77;
const CI_NO_HEADER = 0x78;
const CI_SHORT_HEADER = 0x7a;

const APPLICATION_ERRORS: readonly string[] = [
  'unspecified error',
  'unimplemented CI field',
  'buffer too long, truncated',
  'too many records',
  'premature end of record',
  'more than 10 DIFEs',
  'more than 10 VIFEs',
  'reserved',
  'application too busy for handling readout request',
  'too many readouts',
];

/**
 * Decodes the application layer: `ci` is the CI field, `data` the bytes after it. Called per
 * telegram by the stream worker after link-layer parsing (for frames, `decodeFrame` in the index
 * passes the right offsets).
 *
 * @param dataOffset the offset of `data[0]` in the caller's buffer, so that offsets in records and
 *   errors point into it: by default they count from the CI field (offset 0); a wired long frame
 *   passes 7, its data starting after `68 L L 68 C A CI`.
 * @throws {MbusDecodeError} when the CI is not a slave response this decoder handles or the data
 *   is malformed; `reason` and `offset` say what and where.
 */
export function decodeApplicationLayer(ci: number, data: Uint8Array, dataOffset = 1): ApplicationLayer {
  switch (ci) {
    case CI_LONG_HEADER:
    case CI_LONG_HEADER_MSB: {
      const msbFirst = ci === CI_LONG_HEADER_MSB;
      const header = readLongHeader(data, 0, msbFirst, dataOffset);
      return variable(ci, header, data, LONG_HEADER_LENGTH, msbFirst, dataOffset);
    }
    case CI_SHORT_HEADER:
      return variable(ci, readShortHeader(data, 0, false, dataOffset), data, SHORT_HEADER_LENGTH, false, dataOffset);
    case CI_NO_HEADER:
      return variable(ci, null, data, 0, false, dataOffset);
    case CI_FIXED:
    case CI_FIXED_MSB:
      return { structure: 'fixed', ci, ...decodeFixedData(data, ci === CI_FIXED_MSB, dataOffset) };
    case CI_APPLICATION_ERROR: {
      const code = data[0] ?? 0;
      return {
        structure: 'application-error',
        ci,
        code,
        description: APPLICATION_ERRORS[code] ?? 'reserved',
        detail: data.subarray(1),
      };
    }
    default:
      throw new MbusDecodeError(
        'UNSUPPORTED_CI',
        dataOffset - 1,
        `CI ${hexByte(ci)} is not a slave response this decoder handles`,
      );
  }
}

function variable(
  ci: number,
  header: LongHeader | ShortHeader | null,
  data: Uint8Array,
  recordsStart: number,
  msbFirst: boolean,
  dataOffset: number,
): VariableDataResponse {
  return { structure: 'variable', ci, header, ...decodeRecords(data, recordsStart, msbFirst, dataOffset) };
}
