/**
 * What differs between network servers, behind one interface the connection code drives: how to
 * open the connection, how to authenticate, and how to ask for the uplinks stored since a time.
 */
import type { Logger } from 'pino';
import { TransientError } from '../../core/errors.js';
import {
  isObject,
  loriotCacheQuery,
  vegaAuthRequest,
  vegaDataRequest,
  vegaDeviceListRequest,
  type JsonObject,
  type LnsDialect,
} from './protocol.js';

/** Credentials from `LNS_LOGIN` / `LNS_PASSWORD`. */
export interface LnsCredentials {
  readonly login?: string;
  /** Vega: the account password. LORIOT: the application token. */
  readonly password?: string;
}

/** A response frame: its `cmd` and the whole message. */
export interface ResponseFrame {
  readonly cmd: string;
  readonly message: JsonObject;
}

/** The request/response half of a live connection, supplied by the connection code. */
export interface LinkRequests {
  /**
   * Sends `message` and resolves with what `match` returns for the first response frame it accepts
   * (anything but `undefined`). Rejects when the request times out or the connection closes.
   */
  request<T>(message: JsonObject, match: (frame: ResponseFrame) => T | undefined): Promise<T>;
}

/** One stored uplink from a history answer, with its bytes for a dead letter. */
export interface HistoryEntry {
  readonly message: JsonObject;
  readonly bytes: Buffer;
}

/** What to fetch after a (re)connect. */
export interface HistoryQuery {
  /** Server time (epoch ms) from which stored uplinks are wanted, inclusive. */
  readonly from: number;
  /** DevEUIs seen before, as the server spells them; Vega asks per device. */
  readonly knownDevEuis: ReadonlySet<string>;
  readonly pageSize: number;
  readonly logger: Logger;
}

/** The settings the server reported at login, where it reports any. */
export interface AuthResult {
  /** Vega `rx_settings.unsolicited`: whether the server pushes `rx` to this account at all. */
  readonly unsolicited?: boolean;
}

/** One network server's behaviour. */
export interface DialectDriver {
  readonly dialect: LnsDialect;
  /** The URL to open; LORIOT takes its token in the query string. */
  connectUrl(url: string, credentials: LnsCredentials): string;
  /** Runs the login exchange; throws {@link LnsAuthError} when the server refuses it. */
  authenticate(link: LinkRequests, credentials: LnsCredentials): Promise<AuthResult>;
  /**
   * Fetches every stored uplink from `query.from` on, page by page; resolves once `onPage` has
   * settled every page. Any rejection (timeout, closed link, `onPage` failing) aborts the fetch.
   */
  fetchHistory(link: LinkRequests, query: HistoryQuery, onPage: (entries: readonly HistoryEntry[]) => Promise<void>): Promise<void>;
}

/** The server refused the credentials. Retriable: an operator may fix the account meanwhile. */
export class LnsAuthError extends TransientError {
  constructor(detail: string) {
    super(`LNS refused the login: ${detail}`, { code: 'LNS_AUTH_FAILED' });
  }
}

/** The driver for `dialect`. */
export function dialectDriver(dialect: LnsDialect): DialectDriver {
  return dialect === 'vega' ? vega : loriot;
}

const vega: DialectDriver = {
  dialect: 'vega',
  connectUrl: (url) => url,

  async authenticate(link, { login, password }) {
    if (login === undefined || password === undefined) throw new LnsAuthError('LNS_LOGIN and LNS_PASSWORD are needed by a Vega server');
    const answer = await link.request(vegaAuthRequest(login, password), ({ cmd, message }) => (cmd === 'auth_resp' ? message : undefined));
    if (answer['status'] !== true) throw new LnsAuthError(errString(answer, 'auth_resp status is not true'));
    const settings = answer['rx_settings'];
    return isObject(settings) && typeof settings['unsolicited'] === 'boolean' ? { unsolicited: settings['unsolicited'] } : {};
  },

  async fetchHistory(link, query, onPage) {
    const devices = new Map([...query.knownDevEuis].map((eui) => [eui.toLowerCase(), eui]));
    let list: JsonObject;
    try {
      list = await link.request(vegaDeviceListRequest(), ({ cmd, message }) => (cmd === 'get_device_appdata_resp' ? message : undefined));
    } catch (err) {
      // A server that never answers this command must not keep the connector from resuming the devices it knows.
      if (!(err instanceof TransientError && err.code === 'LNS_TIMEOUT')) throw err;
      list = { status: false, err_string: err.message };
    }
    if (list['status'] === true && Array.isArray(list['devices_list'])) {
      for (const device of list['devices_list']) {
        const eui = isObject(device) ? device['devEui'] : undefined;
        // The server's own spelling wins over ours (lowercase), in case it matches DevEUIs case-sensitively.
        if (typeof eui === 'string') devices.set(eui.toLowerCase(), eui);
      }
    } else {
      query.logger.warn({ err_string: list['err_string'] }, 'the LNS did not list devices; resuming only the devices seen before');
    }

    for (const devEui of devices.values()) {
      for (let beginIndex = 0; ;) {
        const answer = await link.request(
          vegaDataRequest(devEui, { dateFrom: query.from, beginIndex, limit: query.pageSize }),
          ({ cmd, message }) => (cmd === 'get_data_resp' && sameEui(message['devEui'], devEui) ? message : undefined),
        );
        if (answer['status'] !== true) {
          // Retrying cannot help (no such device, no access): the gap of this device is reported, not retried forever.
          query.logger.warn({ devEui, err_string: answer['err_string'] }, 'the LNS refused get_data_req; this device is not resumed');
          break;
        }
        const page = Array.isArray(answer['data_list']) ? answer['data_list'] : [];
        await onPage(page.map((entry) => ({ message: { ...(isObject(entry) ? entry : {}), devEui }, bytes: Buffer.from(JSON.stringify(entry)) })));
        beginIndex += page.length;
        const total = answer['totalNum'];
        if (page.length < query.pageSize || (typeof total === 'number' && beginIndex >= total)) break;
      }
    }
  },
};

const loriot: DialectDriver = {
  dialect: 'loriot',
  connectUrl(url, { password }) {
    if (password === undefined) return url;
    const withToken = new URL(url);
    withToken.searchParams.set('token', password);
    return withToken.toString();
  },

  authenticate: () => Promise.resolve({}),

  async fetchHistory(link, query, onPage) {
    for (let page = 1; ; page++) {
      const answer = await link.request(loriotCacheQuery(query.from, page, query.pageSize), ({ cmd, message }) =>
        cmd === 'cq' && message['page'] === page ? message : undefined,
      );
      const cache = Array.isArray(answer['cache']) ? answer['cache'] : [];
      await onPage(cache.map((entry) => ({ message: isObject(entry) ? entry : {}, bytes: Buffer.from(JSON.stringify(entry)) })));
      const total = answer['total'];
      if (cache.length === 0 || typeof total !== 'number' || page * query.pageSize >= total) break;
    }
  },
};

function sameEui(value: unknown, devEui: string): boolean {
  return typeof value === 'string' && value.toLowerCase() === devEui.toLowerCase();
}

function errString(message: JsonObject, fallback: string): string {
  const text = message['err_string'];
  return typeof text === 'string' && text !== '' ? text : fallback;
}
