import type { MiddlewareObj } from '@middy/core';
import { enforceRateLimits, moduleRateRules, publicRateRules, type ModuleRequest } from '../../lib/abuse/rateLimit.js';
import { DynamoDBRateLimiter } from '../../lib/adapters/dynamodb/DynamoDBRateLimiter.js';
import type { PublicRoute, RateLimits } from '../../lib/config.js';
import { isInviteError } from '../../lib/errors.js';
import type { Clock } from '../../lib/ports/Clock.js';
import type { RateLimiter } from '../../lib/ports/RateLimiter.js';
import { cfg, clock as systemClock } from '../wiring/deps.js';
import { emitMetric, MetricName } from '../wiring/observability.js';
import { pathParam, type HttpEvent, type HttpResult } from './route.js';

let sharedLimiter: RateLimiter | undefined;
const defaultLimiter = () => (sharedLimiter ??= new DynamoDBRateLimiter({ tableName: cfg.tableName }));

export interface RateLimitOptions {
  limits?: RateLimits;
  limiter?: RateLimiter;
  clock?: Clock;
  /** Path parameter holding the invite token. */
  tokenParam?: string;
  /**
   * `body`: the end user's address and the token come from the parsed body
   * (`address`, `token`): an XMPP server's module calls on its users' behalf,
   * so the connection's address is the server's. Only for routes behind the
   * xmpp-server key (nobody else may say whom they act for); the middleware
   * must then run after parsing (`RouteOptions.afterParse`).
   */
  from?: 'request' | 'body';
}

/**
 * Public routes: fixed-window limits per client address and per token,
 * counted in DynamoDB so they hold across containers; over the limit answers
 * 429 `rate-limited` with Retry-After. Use it in `RouteOptions.use`. The keys
 * are lib/abuse/rateLimit.ts's (publicRateRules, moduleRateRules).
 */
export const rateLimit = (route: PublicRoute, options: RateLimitOptions = {}): MiddlewareObj<HttpEvent, HttpResult> => ({
  before: async (request) => {
    const limits = options.limits ?? cfg.rateLimits;
    const rules =
      options.from === 'body'
        ? moduleRateRules(route, limits, (request.event.body ?? {}) as ModuleRequest)
        : publicRateRules(route, limits, {
            sourceIp: request.event.requestContext?.http?.sourceIp,
            token: pathParam(request.event, options.tokenParam ?? 'token'),
          });
    await enforceRateLimits(
      { limiter: options.limiter ?? defaultLimiter(), clock: options.clock ?? systemClock },
      rules,
      limits.windowSeconds
    );
  },
});

const TOKEN_FAILURES = new Set(['token-invalid', 'token-expired', 'token-used', 'token-revoked']);

/**
 * Counts failed token lookups (unknown, expired, used, revoked) as the
 * `FailedTokenLookup` metric (CloudWatch EMF; locally just a log line): a
 * rising count is someone guessing tokens.
 */
export const failedLookupMetric = (route: PublicRoute | `xmpp-${string}`): MiddlewareObj<HttpEvent, HttpResult> => ({
  onError: async (request) => {
    const error = request.error;
    if (!isInviteError(error) || !TOKEN_FAILURES.has(error.code)) return;
    await emitMetric(MetricName.failedTokenLookup, { route, reason: error.code });
  },
});

/** Everything a public token route needs: the rate limits and the failure metric. */
export const publicGuards = (route: PublicRoute, options: RateLimitOptions = {}) => [rateLimit(route, options), failedLookupMetric(route)];
