import type { MiddlewareObj } from '@middy/core';
import { enforceRateLimits, tokenRateKey, type RateRule } from '../../lib/abuse/rateLimit.js';
import { DynamoDBRateLimiter } from '../../lib/adapters/dynamodb/DynamoDBRateLimiter.js';
import type { PublicRoute, RateLimits } from '../../lib/config.js';
import { isInviteError } from '../../lib/errors.js';
import type { Clock } from '../../lib/ports/Clock.js';
import type { RateLimiter } from '../../lib/ports/RateLimiter.js';
import { isWellFormedToken } from '../../lib/token.js';
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
 * 429 `rate-limited` with Retry-After. Use it in `RouteOptions.use`.
 */
export const rateLimit = (route: PublicRoute, options: RateLimitOptions = {}): MiddlewareObj<HttpEvent, HttpResult> => ({
  before: async (request) => {
    const limits = options.limits ?? cfg.rateLimits;
    const body = options.from === 'body' ? ((request.event.body ?? {}) as { address?: unknown; token?: unknown }) : {};
    // The same counters as the web routes: one address has one budget,
    // whether it comes through a browser or through its XMPP app. A module
    // that sends no address is counted as one address (its server's).
    const ip = (typeof body.address === 'string' && body.address) || request.event.requestContext?.http?.sourceIp || 'unknown';
    const rules: RateRule[] = [{ key: `${route}#ip#${ip}`, limit: limits.perIp[route] }];
    const token = options.from === 'body' ? body.token : pathParam(request.event, options.tokenParam ?? 'token');
    // Malformed tokens never reach the store; the address limit covers them.
    if (isWellFormedToken(token)) rules.push({ key: `${route}#token#${tokenRateKey(token)}`, limit: limits.perToken[route] });
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
