/**
 * The global brake on new accounts (`MAX_REGISTRATIONS_PER_HOUR`): per domain,
 * across every path that creates one (API redeem, web form, in-app, open
 * registration), a counter per clock hour shared by every container. Past it,
 * registrations answer 429 `rate-limited` until the hour ends (the modules
 * answer `wait`/`resource-constraint`), and the operator is told once per hour.
 */
import { InviteError } from '../errors.js';
import type { Clock } from '../ports/Clock.js';
import type { RateLimiter } from '../ports/RateLimiter.js';

const HOUR = 3600;

export interface RegistrationBrake {
  /** Counts one new account on `domain`; throws `rate-limited` past the hour's limit. */
  check(domain: string): Promise<void>;
}

export const registrationBrake = (deps: {
  limiter: RateLimiter;
  clock: Clock;
  perHour: number;
  /** Called once per domain and hour, by the first registration refused. */
  onBraked?: (info: { domain: string; limit: number; until: number }) => Promise<void> | void;
}): RegistrationBrake => ({
  async check(domain) {
    const now = deps.clock.now();
    const windowStart = now - (now % HOUR);
    const [count = 0] = await deps.limiter.hit([`registrations#${domain}`], windowStart, HOUR);
    if (count <= deps.perHour) return;
    const until = windowStart + HOUR;
    if (count === deps.perHour + 1) {
      try {
        await deps.onBraked?.({ domain, limit: deps.perHour, until });
      } catch {
        // Telling the operator must never turn a refusal into a 500.
      }
    }
    throw new InviteError('rate-limited', `too many new accounts on ${domain} this hour; try again later`, {
      retryAfter: Math.max(1, until - now),
    });
  },
});
