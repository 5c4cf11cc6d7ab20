/**
 * Where a webhook may go. Webhook URLs come from tenants, so without these rules the API server
 * would POST wherever a tenant points it: its own loopback, the cloud metadata service
 * (169.254.169.254), the broker, search and database ports of the private network.
 *
 * - A webhook URL is http or https, names a host and carries no credentials ({@link parseWebhookUrl}).
 * - It may reach public unicast addresses only ({@link addressKind}), unless the operator allows an
 *   internal receiver by name or network (`NOTIFY_WEBHOOK_ALLOW_HOSTS`, {@link webhookAllowlist}).
 *
 * Pure: the API checks URLs with it when a subscription is written; the webhook sender
 * (`channels.ts`) resolves the host at every attempt, checks each address here and connects to the
 * checked address.
 */
import { isIP } from 'node:net';

/** What kind of destination an IP address is; webhooks go to `public` ones unless allowed. */
export type AddressKind = 'public' | 'loopback' | 'private' | 'link-local' | 'unspecified' | 'multicast' | 'shared' | 'reserved';

const KIND_WORDS: Readonly<Record<Exclude<AddressKind, 'public'>, string>> = {
  loopback: 'a loopback address',
  private: 'a private address',
  'link-local': 'a link-local address',
  unspecified: 'an unspecified address',
  multicast: 'a multicast address',
  shared: 'a shared (carrier-grade NAT) address',
  reserved: 'a reserved address',
};

/** An address or network as bytes (4 for IPv4, 16 for IPv6) and a prefix length in bits. */
interface Network {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** Non-public IPv4 networks; anything else is public. */
const IPV4_NETWORKS: ReadonlyArray<readonly [AddressKind, Network]> = [
  // "This network": 0.0.0.0 reaches the local host on Linux.
  ['unspecified', network('0.0.0.0/8')],
  ['private', network('10.0.0.0/8')],
  ['shared', network('100.64.0.0/10')],
  ['loopback', network('127.0.0.0/8')],
  // Cloud metadata services answer here.
  ['link-local', network('169.254.0.0/16')],
  ['private', network('172.16.0.0/12')],
  ['private', network('192.168.0.0/16')],
  ['multicast', network('224.0.0.0/4')],
  // Future use and the limited broadcast 255.255.255.255.
  ['reserved', network('240.0.0.0/4')],
];

/** Non-public IPv6 networks, checked before {@link IPV4_CARRIERS}. */
const IPV6_NETWORKS: ReadonlyArray<readonly [AddressKind, Network]> = [
  ['unspecified', network('::/128')],
  ['loopback', network('::1/128')],
  // Unique local addresses.
  ['private', network('fc00::/7')],
  ['link-local', network('fe80::/10')],
  // Site-local, deprecated but still routed by some networks.
  ['private', network('fec0::/10')],
  ['multicast', network('ff00::/8')],
];

/**
 * IPv6 forms that carry an IPv4 address, and the byte it starts at: such an address is judged by
 * the IPv4 address it leads to.
 */
const IPV4_CARRIERS: ReadonlyArray<readonly [Network, number]> = [
  // IPv4-mapped: a dual-stack socket connects to the IPv4 address itself.
  [network('::ffff:0:0/96'), 12],
  // IPv4-compatible (deprecated).
  [network('::/96'), 12],
  // NAT64 well-known prefix.
  [network('64:ff9b::/96'), 12],
  // 6to4.
  [network('2002::/16'), 2],
];

/**
 * What kind of destination `address` (an IPv4 or IPv6 address, an IPv6 zone allowed) is.
 * @throws {TypeError} when `address` is not an IP address.
 */
export function addressKind(address: string): AddressKind {
  const bytes = addressBytes(address);
  if (bytes.length === 4) return kindIn(IPV4_NETWORKS, bytes);
  const kind = kindIn(IPV6_NETWORKS, bytes);
  if (kind !== 'public') return kind;
  for (const [carrier, offset] of IPV4_CARRIERS) {
    if (contains(carrier, bytes)) return kindIn(IPV4_NETWORKS, bytes.subarray(offset, offset + 4));
  }
  return 'public';
}

/** Internal receivers the operator lets webhooks reach (`NOTIFY_WEBHOOK_ALLOW_HOSTS`). */
export interface WebhookAllowlist {
  /** Whether a webhook to host `hostname` may go to `address`, one of the addresses it resolves to. */
  allows(hostname: string, address: string): boolean;
}

/**
 * The allowlist of host names, IP addresses and CIDR ranges (as `core/config.ts` validated them).
 * A host name allows every address it resolves to; an address or range allows those addresses
 * under any name. An IPv4 entry also allows the IPv4-mapped IPv6 form of its addresses.
 * @throws {TypeError} on an entry that is neither.
 */
export function webhookAllowlist(entries: readonly string[]): WebhookAllowlist {
  const names = new Set<string>();
  const networks: Network[] = [];
  for (const entry of entries) {
    if (entry.includes('/') || isIP(entry) !== 0) networks.push(network(entry));
    else names.add(hostKey(entry));
  }
  return {
    allows(hostname, address) {
      if (names.has(hostKey(hostname))) return true;
      const bytes = unmapped(addressBytes(address));
      return networks.some((allowed) => contains(allowed, bytes));
    },
  };
}

/** An allowlist that allows nothing: only public addresses are reached. */
export const NO_INTERNAL_RECEIVERS: WebhookAllowlist = webhookAllowlist([]);

/**
 * Why a webhook to `hostname` may not go to `address` (the host itself when it is an IP literal,
 * else one of the addresses it resolves to), e.g. `10.0.0.5 is a private address`; `undefined`
 * when it may.
 */
export function addressRefusal(hostname: string, address: string, allowlist: WebhookAllowlist): string | undefined {
  const kind = addressKind(address);
  if (kind === 'public' || allowlist.allows(hostname, address)) return undefined;
  const words = KIND_WORDS[kind];
  return hostname === address ? `${address} is ${words}` : `${hostname} resolves to ${address}, ${words}`;
}

/** A webhook URL that passed {@link parseWebhookUrl}, or what is wrong with it. */
export type ParsedWebhookUrl =
  | { readonly ok: true; readonly url: URL; readonly hostname: string; readonly literalAddress: string | undefined }
  | { readonly ok: false; readonly problem: string };

/**
 * Checks the form of a webhook URL: http or https, a host, no `user:password@` (a receiver checks
 * the signature instead; credentials would be shown with the URL). `hostname` is the URL's host
 * without IPv6 brackets; `literalAddress` is set when that host is an IP address.
 */
export function parseWebhookUrl(raw: string): ParsedWebhookUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, problem: 'not a URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, problem: `must use http or https, not ${url.protocol.slice(0, -1)}` };
  if (url.username !== '' || url.password !== '') {
    return { ok: false, problem: 'must not carry credentials (user:password@); receivers check X-Meterflux-Signature instead' };
  }
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (hostname === '') return { ok: false, problem: 'must name a host' };
  return { ok: true, url, hostname, literalAddress: isIP(hostname) === 0 ? undefined : hostname };
}

/**
 * What is wrong with a webhook URL a subscription is written with, or `undefined`: its form, or an
 * IP literal webhooks may not reach. Host names are checked at every delivery, when they resolve.
 */
export function webhookUrlProblem(raw: string, allowlist: WebhookAllowlist): string | undefined {
  const parsed = parseWebhookUrl(raw);
  if (!parsed.ok) return parsed.problem;
  const refusal = parsed.literalAddress === undefined ? undefined : addressRefusal(parsed.hostname, parsed.literalAddress, allowlist);
  return refusal === undefined ? undefined : `${refusal}; webhooks go to public addresses only`;
}

/** A host name as compared with the allowlist: lowercase, without a trailing dot. */
function hostKey(hostname: string): string {
  return hostname.toLowerCase().replace(/\.$/, '');
}

function kindIn(networks: ReadonlyArray<readonly [AddressKind, Network]>, bytes: Uint8Array): AddressKind {
  return networks.find(([, candidate]) => contains(candidate, bytes))?.[0] ?? 'public';
}

/** Whether `bytes` (an address of the same family) lies in `net`. */
function contains(net: Network, bytes: Uint8Array): boolean {
  if (net.bytes.length !== bytes.length) return false;
  const whole = Math.floor(net.prefix / 8);
  for (let i = 0; i < whole; i += 1) if (net.bytes[i] !== bytes[i]) return false;
  const rest = net.prefix % 8;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (net.bytes[whole]! & mask) === (bytes[whole]! & mask);
}

/** The IPv4 address of an IPv4-mapped IPv6 address; any other address as it is. */
function unmapped(bytes: Uint8Array): Uint8Array {
  return bytes.length === 16 && contains(IPV4_CARRIERS[0]![0], bytes) ? bytes.subarray(12) : bytes;
}

/** `address` or `address/prefix`; a bare address is a network of itself. */
function network(text: string): Network {
  const [address = '', prefix] = text.split('/');
  const bytes = addressBytes(address);
  const bits = prefix === undefined ? bytes.length * 8 : Number(prefix);
  if (!Number.isInteger(bits) || bits < 0 || bits > bytes.length * 8) throw new TypeError(`not an address or CIDR range: ${text}`);
  return { bytes, prefix: bits };
}

/** The 4 or 16 bytes of an IP address; an IPv6 zone (`%eth0`) is dropped. */
function addressBytes(address: string): Uint8Array {
  const text = address.replace(/%.*$/, '');
  const family = isIP(text);
  if (family === 4) return Uint8Array.from(text.split('.'), Number);
  if (family !== 6) throw new TypeError(`not an IP address: ${address}`);
  const groups = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [Number.parseInt(group, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head = '', tail] = text.split('::');
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return Uint8Array.from(all.flatMap((group) => [group >> 8, group & 0xff]));
}
