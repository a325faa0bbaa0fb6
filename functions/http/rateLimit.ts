import type { MiddlewareObj } from '@middy/core';
import type { Metrics, MetricUnit as MetricUnitType } from '@aws-lambda-powertools/metrics';
import { enforceRateLimits, moduleRateRules, publicRateRules, type ModuleRequest } from '../../lib/abuse/rateLimit.js';
import { DynamoDBRateLimiter } from '../../lib/adapters/dynamodb/DynamoDBRateLimiter.js';
import type { PublicRoute, RateLimits } from '../../lib/config.js';
import { isInviteError } from '../../lib/errors.js';
import type { Clock } from '../../lib/ports/Clock.js';
import type { RateLimiter } from '../../lib/ports/RateLimiter.js';
import { cfg, clock as systemClock } from '../wiring/deps.js';
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
 * Made on the first failed lookup, not at start: most containers never count
 * one, and Powertools Metrics is loaded only then (esbuild evaluates a
 * dynamic import inside the bundle lazily).
 */
let metrics: Promise<{ metrics: Metrics; MetricUnit: typeof MetricUnitType }> | undefined;
const loadMetrics = () =>
  (metrics ??= import('@aws-lambda-powertools/metrics').then(({ Metrics, MetricUnit }) => ({
    metrics: new Metrics({ namespace: 'xmpp-invites', serviceName: 'xmpp-invites' }),
    MetricUnit,
  })));

/**
 * Counts failed token lookups (unknown, expired, used, revoked) as the
 * `FailedTokenLookup` metric (CloudWatch EMF; locally just a log line): a
 * rising count is someone guessing tokens.
 */
export const failedLookupMetric = (route: PublicRoute | `xmpp-${string}`): MiddlewareObj<HttpEvent, HttpResult> => ({
  onError: async (request) => {
    const error = request.error;
    if (!isInviteError(error) || !TOKEN_FAILURES.has(error.code)) return;
    const { metrics, MetricUnit } = await loadMetrics();
    const metric = metrics.singleMetric();
    metric.addDimension('route', route);
    metric.addDimension('reason', error.code);
    metric.addMetric('FailedTokenLookup', MetricUnit.Count, 1);
  },
});

/** Everything a public token route needs: the rate limits and the failure metric. */
export const publicGuards = (route: PublicRoute, options: RateLimitOptions = {}) => [rateLimit(route, options), failedLookupMetric(route)];
