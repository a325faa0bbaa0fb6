import { describe, expect, it } from 'vitest';
import { addressKey, moduleAddressKey, sourceAddressKey } from '../../lib/abuse/address.js';
import { moduleRateRules, publicRateRules } from '../../lib/abuse/rateLimit.js';
import { loadConfig } from '../../lib/config.js';
import { InviteError } from '../../lib/errors.js';

const limits = loadConfig({}).rateLimits;
const TOKEN = 'A'.repeat(24);

describe('Function: addressKey (canonical client addresses)', () => {
  it.each([
    ['2001:db8::1', 'v6:2001:db8::/64'],
    ['2001:db8:0:0::1', 'v6:2001:db8::/64'],
    ['2001:0DB8:0000:0000:ffff:ffff:ffff:ffff', 'v6:2001:db8::/64'],
    ['2001:db8:1:2:3:4:5:6', 'v6:2001:db8:1:2::/64'],
    ['fe80::1%eth0', 'v6:fe80::/64'],
    ['192.0.2.7', 'v4:192.0.2.7'],
    ['::ffff:192.0.2.7', 'v4:192.0.2.7'],
    ['::ffff:c000:207', 'v4:192.0.2.7'],
  ])('keys %s as %s', (raw, key) => {
    expect(addressKey(raw)).toBe(key);
  });

  it('gives every address of one IPv6 /64 the same key, and the next /64 another', () => {
    const keys = new Set(Array.from({ length: 15 }, (_, i) => addressKey(`2001:db8:aa:bb:${i.toString(16)}::${i + 1}`)));
    expect([...keys]).toEqual(['v6:2001:db8:aa:bb::/64']);
    expect(addressKey('2001:db8:aa:bc::1')).toBe('v6:2001:db8:aa:bc::/64');
  });

  it('takes the IPv6 prefix length from the configuration', () => {
    expect(addressKey('2001:db8:aa:bb:cc::1', 48)).toBe('v6:2001:db8:aa::/48');
    expect(addressKey('2001:db8:aa:bbcc:cc::1', 56)).toBe('v6:2001:db8:aa:bb00::/56');
    expect(addressKey('2001:db8:aa:ff:cc::1', 60)).toBe('v6:2001:db8:aa:f0::/60');
    expect(addressKey('2001:db8::1', 128)).toBe('v6:2001:db8::1/128');
    expect(loadConfig({ RATE_LIMIT_IPV6_PREFIX: '56' }).rateLimits.ipv6Prefix).toBe(56);
    expect(limits.ipv6Prefix).toBe(64);
    expect(() => loadConfig({ RATE_LIMIT_IPV6_PREFIX: '129' })).toThrow(/RATE_LIMIT_IPV6_PREFIX/);
    expect(() => loadConfig({ RATE_LIMIT_IPV6_PREFIX: '0' })).toThrow(/RATE_LIMIT_IPV6_PREFIX/);
  });

  it.each([
    ['127.1'],
    ['0x7f.0.0.1'],
    ['010.0.0.1'],
    ['192.0.2.300'],
    ['2001:db8::1/64'],
    ['::1::2'],
    ['localhost'],
    [''],
    [' 192.0.2.7'],
    [42],
  ])('refuses %s, which is no address in a form every parser reads alike', (raw) => {
    expect(addressKey(raw)).toBeUndefined();
    expect(sourceAddressKey(raw)).toBe('unparsed');
  });

  it('answers invalid-request (400) when a module sends no address', () => {
    expect(() => moduleAddressKey('127.1')).toThrow(InviteError);
    expect(() => moduleAddressKey('127.1')).toThrow(expect.objectContaining({ code: 'invalid-request' }));
  });
});

describe('Functions: publicRateRules and moduleRateRules (what is counted)', () => {
  it('keeps a module’s budget for an address apart from the public routes’ budget for it, per domain', () => {
    const web = publicRateRules('redeem', limits, { sourceIp: '127.0.0.1' })[0]?.key;
    const module = moduleRateRules('redeem', limits, { domain: 'example.com', address: '127.0.0.1' })[0]?.key;
    const other = moduleRateRules('redeem', limits, { domain: 'example.org', address: '::ffff:127.0.0.1' })[0]?.key;
    expect(web).toBe('redeem#ip#v4:127.0.0.1');
    expect(module).toBe('redeem#xmpp#example.com#ip#v4:127.0.0.1');
    expect(other).toBe('redeem#xmpp#example.org#ip#v4:127.0.0.1');
  });

  it('counts a subscription without an address per subscriber domain (remote) or account (local), and per token', () => {
    const keys = (subscriber: string) =>
      moduleRateRules('redeem', limits, { domain: 'example.com', subscriber, token: TOKEN }).map((r) => r.key);
    const [remote, token] = keys('mallory@evil.example');
    expect(remote).toBe('redeem#xmpp#example.com#from#evil.example');
    expect(keys('eve@evil.example')[0]).toBe(remote);
    expect(keys('juliet@good.example')[0]).toBe('redeem#xmpp#example.com#from#good.example');
    expect(keys('Romeo@Example.com')[0]).toBe('redeem#xmpp#example.com#from#romeo@example.com');
    expect(keys('not a jid')[0]).toBe('redeem#xmpp#example.com#from#invalid');
    expect(token).toMatch(/^redeem#token#[\w-]{32}$/);
    expect(token).not.toContain(TOKEN);
  });

  it('counts a module call without an address or subscriber as its server, and refuses an address that is none', () => {
    expect(moduleRateRules('check', limits, { domain: 'example.com' })[0]?.key).toBe('check#xmpp#example.com#server');
    expect(() => moduleRateRules('check', limits, { domain: 'example.com', address: '0x7f.1' })).toThrow(
      expect.objectContaining({ code: 'invalid-request' })
    );
  });
});
