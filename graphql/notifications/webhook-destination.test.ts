import { describe, expect, it } from 'vitest';
import {
  addressKind,
  addressRefusal,
  NO_INTERNAL_RECEIVERS,
  parseWebhookUrl,
  webhookAllowlist,
  webhookUrlProblem,
  type AddressKind,
} from './webhook-destination.js';

describe('addressKind', () => {
  it.each<[string, AddressKind]>([
    // IPv4
    ['8.8.8.8', 'public'],
    ['93.184.215.14', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['9.255.255.255', 'public'],
    ['11.0.0.0', 'public'],
    ['172.15.255.255', 'public'],
    ['172.16.0.0', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.0', 'public'],
    ['192.168.1.10', 'private'],
    ['192.169.0.1', 'public'],
    ['169.254.169.254', 'link-local'],
    ['100.63.255.255', 'public'],
    ['100.64.0.0', 'shared'],
    ['100.127.255.255', 'shared'],
    ['100.128.0.0', 'public'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    // IPv6
    ['2606:4700:4700::1111', 'public'],
    ['::', 'unspecified'],
    ['0:0:0:0:0:0:0:0', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fc00::1', 'private'],
    ['fd12:3456:789a::1', 'private'],
    ['fe00::1', 'public'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fec0::1', 'private'],
    ['ff02::1', 'multicast'],
    // IPv4-mapped, in each written form
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
    ['::FFFF:A9FE:A9FE', 'link-local'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:100.64.0.1', 'shared'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['::ffff:8.8.8.8', 'public'],
    // Other IPv6 forms that lead to an IPv4 address
    ['::127.0.0.1', 'loopback'],
    ['::a00:1', 'private'],
    ['64:ff9b::169.254.169.254', 'link-local'],
    ['64:ff9b::808:808', 'public'],
    ['2002:c0a8:0101::1', 'private'],
    ['2002:0808:0808::1', 'public'],
  ])('%s is %s', (address, kind) => {
    expect(addressKind(address)).toBe(kind);
  });

  it('refuses what is not an IP address', () => {
    expect(() => addressKind('localhost')).toThrow(TypeError);
    expect(() => addressKind('256.0.0.1')).toThrow(TypeError);
  });
});

describe('webhookAllowlist', () => {
  const allowlist = webhookAllowlist(['hooks.internal', '10.20.0.0/16', '127.0.0.1', 'fd00:1::/32']);

  it.each<[string, string, boolean]>([
    ['hooks.internal', '10.9.9.9', true],
    ['HOOKS.internal.', '192.168.0.1', true],
    ['other.internal', '10.20.3.4', true],
    ['other.internal', '10.21.0.1', false],
    ['127.0.0.1', '127.0.0.1', true],
    ['127.0.0.2', '127.0.0.2', false],
    ['mapped.internal', '::ffff:10.20.0.9', true],
    ['mapped.internal', '::ffff:7f00:1', true],
    ['v6.internal', 'fd00:1:2::3', true],
    ['v6.internal', 'fd00:2::3', false],
    ['sub.hooks.internal', '10.9.9.9', false],
  ])('%s at %s: %s', (hostname, address, allowed) => {
    expect(allowlist.allows(hostname, address)).toBe(allowed);
  });

  it('allows nothing when empty', () => {
    expect(NO_INTERNAL_RECEIVERS.allows('localhost', '127.0.0.1')).toBe(false);
  });

  it('refuses an entry that is no address or range', () => {
    expect(() => webhookAllowlist(['10.0.0.0/40'])).toThrow(TypeError);
  });
});

describe('addressRefusal', () => {
  it('says why an address may not be reached, naming the host when it resolved to it', () => {
    expect(addressRefusal('127.0.0.1', '127.0.0.1', NO_INTERNAL_RECEIVERS)).toBe('127.0.0.1 is a loopback address');
    expect(addressRefusal('evil.example', '169.254.169.254', NO_INTERNAL_RECEIVERS)).toBe('evil.example resolves to 169.254.169.254, a link-local address');
    expect(addressRefusal('x.example', '::', NO_INTERNAL_RECEIVERS)).toBe('x.example resolves to ::, an unspecified address');
    expect(addressRefusal('x.example', '100.64.1.1', NO_INTERNAL_RECEIVERS)).toBe('x.example resolves to 100.64.1.1, a shared (carrier-grade NAT) address');
  });

  it('lets public addresses and allowed internal ones through', () => {
    expect(addressRefusal('hooks.example', '93.184.215.14', NO_INTERNAL_RECEIVERS)).toBeUndefined();
    expect(addressRefusal('hooks.internal', '10.1.1.1', webhookAllowlist(['hooks.internal']))).toBeUndefined();
  });
});

describe('parseWebhookUrl', () => {
  it('accepts http and https URLs with a host, and tells an IP literal', () => {
    expect(parseWebhookUrl('https://hooks.example/alerts?x=1')).toMatchObject({ ok: true, hostname: 'hooks.example', literalAddress: undefined });
    expect(parseWebhookUrl('http://10.0.0.1:8080/')).toMatchObject({ ok: true, hostname: '10.0.0.1', literalAddress: '10.0.0.1' });
    expect(parseWebhookUrl('http://[::1]:8080/')).toMatchObject({ ok: true, hostname: '::1', literalAddress: '::1' });
    // The URL parser reads the shorthand and hex forms of IPv4 addresses as the address.
    expect(parseWebhookUrl('http://0x7f.1/')).toMatchObject({ ok: true, literalAddress: '127.0.0.1' });
  });

  it.each([
    ['not a url', 'not a URL'],
    ['ftp://hooks.example/x', 'must use http or https, not ftp'],
    ['file:///etc/passwd', 'must use http or https, not file'],
    ['gopher://127.0.0.1:6379/_INFO', 'must use http or https, not gopher'],
    ['https://user:pw@hooks.example/', 'must not carry credentials (user:password@); receivers check X-Meterflux-Signature instead'],
    ['https://token@hooks.example/', 'must not carry credentials (user:password@); receivers check X-Meterflux-Signature instead'],
  ])('refuses %s', (raw, problem) => {
    expect(parseWebhookUrl(raw)).toEqual({ ok: false, problem });
  });
});

describe('webhookUrlProblem', () => {
  it('refuses IP literals webhooks may not reach, and leaves host names to delivery time', () => {
    expect(webhookUrlProblem('http://169.254.169.254/latest', NO_INTERNAL_RECEIVERS)).toBe(
      '169.254.169.254 is a link-local address; webhooks go to public addresses only',
    );
    expect(webhookUrlProblem('http://[::ffff:127.0.0.1]:9200/', NO_INTERNAL_RECEIVERS)).toBe('::ffff:7f00:1 is a loopback address; webhooks go to public addresses only');
    expect(webhookUrlProblem('http://localhost:5432/', NO_INTERNAL_RECEIVERS)).toBeUndefined();
    expect(webhookUrlProblem('https://93.184.215.14/hook', NO_INTERNAL_RECEIVERS)).toBeUndefined();
    expect(webhookUrlProblem('http://127.0.0.1:8080/hook', webhookAllowlist(['127.0.0.1']))).toBeUndefined();
    expect(webhookUrlProblem('https://a:b@hooks.example/', NO_INTERNAL_RECEIVERS)).toMatch(/^must not carry credentials/);
  });
});
