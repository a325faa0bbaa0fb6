/**
 * Client addresses as rate-limit keys. An address is parsed (ipaddr.js), not
 * matched, so each client has one key however it is written: `2001:db8::1`
 * and `2001:db8:0:0::1` are one address, `::ffff:192.0.2.7` is `192.0.2.7`,
 * and an IPv6 client, who is usually given a whole /64, counts per prefix
 * (`RATE_LIMIT_IPV6_PREFIX`, default 64) rather than per address.
 */
import ipaddr from 'ipaddr.js';
import { InviteError } from '../errors.js';

export const DEFAULT_IPV6_PREFIX = 64;

/**
 * The canonical key of an address: `v4:192.0.2.7` or `v6:2001:db8:1:2::/64`.
 * Undefined when it is not an address: IPv4 only in its four-part decimal
 * form (`127.1`, `0x7f.0.0.1` and `010.0.0.1` mean different things to
 * different parsers), IPv6 with an optional zone id (dropped).
 */
export const addressKey = (raw: unknown, ipv6Prefix = DEFAULT_IPV6_PREFIX): string | undefined => {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 100) return undefined;
  if (ipaddr.IPv4.isValidFourPartDecimal(raw)) return `v4:${ipaddr.IPv4.parse(raw).toString()}`;
  if (!ipaddr.IPv6.isValid(raw)) return undefined;
  const address = ipaddr.IPv6.parse(raw);
  if (address.isIPv4MappedAddress()) return `v4:${address.toIPv4Address().toString()}`;
  const parts = address.parts.map((part, i) => {
    const bits = Math.min(16, Math.max(0, ipv6Prefix - 16 * i));
    return bits === 0 ? 0 : part & ((0xffff << (16 - bits)) & 0xffff);
  });
  return `v6:${new ipaddr.IPv6(parts).toString()}/${ipv6Prefix}`;
};

/** The key of an address a server module sends for its user: refused (400) when it is no address. */
export const moduleAddressKey = (raw: string, ipv6Prefix?: number): string => {
  const key = addressKey(raw, ipv6Prefix);
  if (key === undefined) throw new InviteError('invalid-request', 'address must be an IPv4 address (a.b.c.d) or an IPv6 address');
  return key;
};

/**
 * The key of the address a request came from (API Gateway's sourceIp, always
 * an address there). Anything else shares one key, so that an odd value can
 * never buy a fresh budget.
 */
export const sourceAddressKey = (raw: unknown, ipv6Prefix?: number): string => addressKey(raw, ipv6Prefix) ?? 'unparsed';
