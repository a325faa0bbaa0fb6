import type { PublicRoute, RateLimits } from '../config.js';
import { InviteError } from '../errors.js';
import { normalizeDomain, parseBareJid } from '../jid.js';
import type { Clock } from '../ports/Clock.js';
import type { RateLimiter } from '../ports/RateLimiter.js';
import { isWellFormedToken, sha256 } from '../token.js';
import { moduleAddressKey, sourceAddressKey } from './address.js';

export interface RateRule {
  /** What is counted, e.g. `check#ip#203.0.113.7`; never a raw token. */
  key: string;
  /** Requests allowed per window; 0 = no limit. */
  limit: number;
}

/** Tokens are secrets: counters are keyed by a hash of them, like the invites. */
export const tokenRateKey = (token: string): string => sha256(token).slice(0, 32);

/**
 * Counts this request against each rule and throws `rate-limited` (with the
 * seconds until the window ends) when one of them is over its limit.
 */
export const enforceRateLimits = async (
  { limiter, clock }: { limiter: RateLimiter; clock: Clock },
  rules: RateRule[],
  windowSeconds: number
): Promise<void> => {
  const active = rules.filter((r) => r.limit > 0);
  if (active.length === 0) return;
  const now = clock.now();
  const windowStart = now - (now % windowSeconds);
  const counts = await limiter.hit(
    active.map((r) => r.key),
    windowStart,
    windowSeconds
  );
  if (active.some((rule, i) => (counts[i] ?? 0) > rule.limit)) {
    throw new InviteError('rate-limited', 'too many requests; try again later', {
      retryAfter: Math.max(1, windowStart + windowSeconds - now),
    });
  }
};

const tokenRule = (route: PublicRoute, limits: RateLimits, token: unknown): RateRule[] =>
  // Malformed tokens never reach the store; the address limit covers them.
  isWellFormedToken(token) ? [{ key: `${route}#token#${tokenRateKey(token)}`, limit: limits.perToken[route] }] : [];

/**
 * A public route: per client address (canonical, an IPv6 client per prefix;
 * lib/abuse/address.ts) and per token. Shared by the web and the API: one
 * address has one budget whichever way it comes.
 */
export const publicRateRules = (route: PublicRoute, limits: RateLimits, request: { sourceIp?: unknown; token?: unknown }): RateRule[] => [
  { key: `${route}#ip#${sourceAddressKey(request.sourceIp, limits.ipv6Prefix)}`, limit: limits.perIp[route] },
  ...tokenRule(route, limits, request.token),
];

export interface ModuleRequest {
  /** The body's domain, one of the key's (checked before). */
  domain: unknown;
  /** The end user's address as the server saw it; refused (400) when it is no address. */
  address?: unknown;
  /** XEP-0379: the bare JID that subscribed with the token. */
  subscriber?: unknown;
  token?: unknown;
}

/**
 * An /xmpp/* route, called by a server module for its users. Its counters are
 * the module's own, per domain: an address a module names never spends the
 * public routes' budget of that address (a key naming 127.0.0.1 cannot lock
 * it out of the web), nor another domain's. Without an address (ejabberd's
 * subscriptions, Prosody's from other servers) a subscription counts per
 * subscriber: per its domain when remote, per account when local; anything
 * else without an address counts as the server itself.
 */
export const moduleRateRules = (route: PublicRoute, limits: RateLimits, request: ModuleRequest): RateRule[] => {
  const domain = normalizeDomain(request.domain);
  const prefix = `${route}#xmpp#${domain}`;
  let who: string;
  if (typeof request.address === 'string') who = `ip#${moduleAddressKey(request.address, limits.ipv6Prefix)}`;
  else if (request.subscriber !== undefined) who = `from#${subscriberKey(request.subscriber, domain)}`;
  else who = 'server';
  return [{ key: `${prefix}#${who}`, limit: limits.perIp[route] }, ...tokenRule(route, limits, request.token)];
};

const subscriberKey = (subscriber: unknown, domain: string): string => {
  try {
    const jid = parseBareJid(subscriber);
    return jid.domain === domain ? `${jid.local}@${jid.domain}` : jid.domain;
  } catch {
    // Refused by the route anyway (jid-invalid); counted together.
    return 'invalid';
  }
};
