import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics, MetricUnit as MetricUnitType } from '@aws-lambda-powertools/metrics';
import { isInviteError, type ErrorCode } from '../../lib/errors.js';

/**
 * One structured logger per container. Events are never logged: they carry
 * tokens (paths) and passwords (bodies). The level comes from
 * POWERTOOLS_LOG_LEVEL, which Powertools reads itself.
 */
export const logger = new Logger({ serviceName: 'xmpp-invites' });

/** The CloudWatch namespace of every metric below. */
export const METRICS_NAMESPACE = 'xmpp-invites';

/**
 * Every metric the functions emit (CloudWatch EMF through Powertools Metrics,
 * namespace `xmpp-invites`, dimension `service=xmpp-invites` on all). The
 * alarms and the dashboard (infra/operations.cjs) read these names: change
 * one here, change it there (test/unit/infra.variants.test.ts checks both agree).
 */
export const MetricName = {
  /** An invite was made; dimension `via`: api, app (a server module), signup (a signup webhook). */
  invitesIssued: 'InvitesIssued',
  /** An account was made or reset with an invite; dimension `path`: web, app, api. */
  invitesRedeemed: 'InvitesRedeemed',
  /** A redeem that made no account; dimension `reason`: the error code (xmpp-unavailable alarms). */
  redeemRefused: 'RedeemRefused',
  /** Milliseconds of a successful redeem; dimension `path`. */
  redeemDuration: 'RedeemDuration',
  /** Milliseconds of an in-band registration through a server module (with or without an invite). */
  inAppRegistrationDuration: 'InAppRegistrationDuration',
  /** The XMPP server refused the provisioning account's login (a wrong or rotated admin password). */
  xmppLoginFailed: 'XmppLoginFailed',
  /** A request answered 5xx; dimension `function`: the Lambda function's name. */
  serverErrors: 'ServerErrors',
  /** A failed token lookup; dimensions `route` and `reason` (functions/http/rateLimit.ts). */
  failedTokenLookup: 'FailedTokenLookup',
  /**
   * The registration brake stopped registrations, once per domain and hour (functions/wiring/policy.ts):
   * one data point with no dimension but `service` (the alarm), one with `domain`.
   */
  registrationBrakeTripped: 'RegistrationBrakeTripped',
} as const;
export type MetricNameValue = (typeof MetricName)[keyof typeof MetricName];

export type RedeemPath = 'web' | 'app' | 'api';

/**
 * Made on the first metric, not at start: many containers never emit one
 * before their first request, and Powertools Metrics is loaded only then
 * (esbuild evaluates a dynamic import inside the bundle lazily), which keeps
 * it out of every cold start's import time.
 */
let metrics: Promise<{ metrics: Metrics; MetricUnit: typeof MetricUnitType }> | undefined;
const loadMetrics = () =>
  (metrics ??= import('@aws-lambda-powertools/metrics').then(({ Metrics, MetricUnit }) => ({
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'xmpp-invites' }),
    MetricUnit,
  })));

/** Publishes one data point now (one EMF log line; locally just that line). Never throws. */
export const emitMetric = async (
  name: MetricNameValue,
  dimensions: Record<string, string> = {},
  value = 1,
  unit: 'Count' | 'Milliseconds' = 'Count'
): Promise<void> => {
  try {
    const { metrics, MetricUnit } = await loadMetrics();
    const metric = metrics.singleMetric();
    for (const [key, val] of Object.entries(dimensions)) metric.addDimension(key, val);
    metric.addMetric(name, unit === 'Count' ? MetricUnit.Count : MetricUnit.Milliseconds, value);
  } catch (error) {
    logger.warn('metric not published', { metric: name, error: String(error) });
  }
};

/**
 * The XMPP server refused the provisioning account (Prosody: the SASL login
 * failed; ejabberd: mod_http_api answered 401/403): its password is wrong or
 * was rotated on one side only. Unreachable servers are not login failures.
 */
export const isXmppLoginFailure = (error: unknown): boolean => {
  if (!isInviteError(error) || error.code !== 'xmpp-unavailable') return false;
  const cause = error.cause as { name?: string } | undefined;
  return cause?.name === 'XmppAuthError' || /refused the provisioning account/.test(error.message);
};

/** Counts a redeem that made no account, by reason, and the login failures among them. */
export const countRefusal = async (reason: ErrorCode, error?: unknown): Promise<void> => {
  await emitMetric(MetricName.redeemRefused, { reason });
  if (error !== undefined && isXmppLoginFailure(error)) await emitMetric(MetricName.xmppLoginFailed);
};
