import { InviteError } from '../errors.js';
import type { Clock } from '../ports/Clock.js';
import type { RateLimiter } from '../ports/RateLimiter.js';
import { sha256 } from '../token.js';

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
