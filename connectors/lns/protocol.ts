/**
 * The wire format of LoRaWAN network-server application WebSockets, in the two dialects the `lns`
 * connector speaks: IOT Vega Server (`auth_req`, `rx`, `get_data_req`…) and LORIOT (`rx`, `gw`,
 * `cq`). Pure: no I/O, so the connector, the emulator and the tests share one definition.
 * README.md in this folder documents every shape and where it comes from.
 */
import { PayloadError } from '../../core/errors.js';

/** Which network server's message set is spoken. */
export type LnsDialect = 'vega' | 'loriot';

/** The dialects, for validating configuration. */
export const LNS_DIALECTS: readonly LnsDialect[] = ['vega', 'loriot'];

/** A JSON object as received; fields are checked where they are used. */
export type JsonObject = Readonly<Record<string, unknown>>;

/** Why a frame was refused; the DLQ record carries these as `reasonCode`. */
export const REJECT_REASONS = {
  malformedJson: 'MALFORMED_JSON',
  unknownCommand: 'UNKNOWN_COMMAND',
  missingField: 'MISSING_FIELD',
  invalidField: 'INVALID_FIELD',
  encryptedPayload: 'ENCRYPTED_PAYLOAD',
} as const;

/** What a server frame is, once its envelope has been read. */
export type ServerFrame =
  /** An uplink pushed live (Vega `rx`; LORIOT `rx` or `gw`). */
  | { readonly kind: 'uplink'; readonly message: JsonObject }
  /** The answer to a request of ours (`auth_resp`, `get_data_resp`, `cq`…). */
  | { readonly kind: 'response'; readonly cmd: string; readonly message: JsonObject }
  /** A notification that carries no uplink (downlink reports, account changes). */
  | { readonly kind: 'ignored'; readonly cmd: string };

interface CommandTable {
  readonly uplinks: readonly string[];
  readonly responses: readonly string[];
  readonly ignored: readonly string[];
}

const COMMANDS: Readonly<Record<LnsDialect, CommandTable>> = {
  vega: {
    uplinks: ['rx'],
    responses: ['auth_resp', 'get_data_resp', 'get_device_appdata_resp', 'ping_resp'],
    ignored: ['alter_user_resp', 'close_auth_resp', 'token_auth_resp', 'server_info_resp', 'send_data_resp'],
  },
  loriot: {
    uplinks: ['rx', 'gw'],
    responses: ['cq'],
    ignored: ['tx', 'txd', 'mtxd'],
  },
};

/**
 * Reads one text frame. Throws a {@link PayloadError} (reason `MALFORMED_JSON`, `MISSING_FIELD` or
 * `UNKNOWN_COMMAND`) for a frame that is not a JSON object with a known `cmd`.
 */
export function parseServerFrame(text: string, dialect: LnsDialect): ServerFrame {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new PayloadError({ field: 'frame', problem: 'is not JSON', reason: REJECT_REASONS.malformedJson, cause });
  }
  if (!isObject(parsed)) {
    throw new PayloadError({ field: 'frame', problem: `must be a JSON object, got ${describe(parsed)}`, reason: REJECT_REASONS.malformedJson });
  }
  const cmd = parsed['cmd'];
  if (typeof cmd !== 'string' || cmd === '') {
    throw new PayloadError({ field: 'cmd', problem: `must be a non-empty string, got ${describe(cmd)}`, reason: REJECT_REASONS.missingField });
  }
  const table = COMMANDS[dialect];
  if (table.uplinks.includes(cmd)) return { kind: 'uplink', message: parsed };
  if (table.responses.includes(cmd)) return { kind: 'response', cmd, message: parsed };
  if (table.ignored.includes(cmd)) return { kind: 'ignored', cmd };
  throw new PayloadError({ field: 'cmd', problem: `"${cmd}" is not a ${dialect} server command`, reason: REJECT_REASONS.unknownCommand });
}

/** Vega `auth_req`: the first message on a Vega connection. */
export function vegaAuthRequest(login: string, password: string): JsonObject {
  return { cmd: 'auth_req', login, password };
}

/** Vega `get_device_appdata_req`: the devices this account can see, to know whom to ask for history. */
export function vegaDeviceListRequest(): JsonObject {
  return { cmd: 'get_device_appdata_req' };
}

/** Selection of a Vega `get_data_req`. */
export interface VegaDataSelection {
  /** Server time (epoch ms) of the oldest record wanted. */
  readonly dateFrom: number;
  /** Index of the first record of this page within the selection. */
  readonly beginIndex: number;
  readonly limit: number;
}

/** Vega `get_data_req` for one device: its stored uplinks from `dateFrom` on, one page. */
export function vegaDataRequest(devEui: string, selection: VegaDataSelection): JsonObject {
  return {
    cmd: 'get_data_req',
    devEui,
    select: {
      date_from: selection.dateFrom,
      begin_index: selection.beginIndex,
      limit: selection.limit,
      direction: 'UPLINK',
      withMacCommands: false,
    },
  };
}

/** LORIOT `cq` (cache query): cached uplinks from `from` on, one page (one-based). */
export function loriotCacheQuery(from: number, page: number, perPage: number): JsonObject {
  return { cmd: 'cq', filter: { from }, page, perPage };
}

/** Whether `value` is a plain JSON object. */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `string "ab"`, `number 3`, `null`, `nothing`, `array`, `object`: what arrived, for error messages. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 24 ? `${value.slice(0, 24)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value;
}
