import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics, MetricUnit as MetricUnitType } from '@aws-lambda-powertools/metrics';
import { isInviteError, type ErrorCode } from '../../lib/errors.js';
import metricNames from './metrics.json' with { type: 'json' };

/**
 * One structured logger per container. Events are never logged: they carry
 * tokens (paths) and passwords (bodies). The level comes from
 * POWERTOOLS_LOG_LEVEL, which Powertools reads itself.
 */
export const logger = new Logger({ serviceName: 'xmpp-invites' });

/** The CloudWatch namespace of every metric below. */
export const METRICS_NAMESPACE = metricNames.namespace;

/**
 * Every metric the functions emit (CloudWatch EMF through Powertools Metrics,
 * namespace `xmpp-invites`, dimension `service=xmpp-invites` on all). The
 * names live in one data file, ./metrics.json, which the alarms and the
 * dashboard (infra/operations.cjs) read too; a new metric is a line there
 * and its entry here:
 *
 * - invitesIssued: an invite was made; dimension `via`: api, app (a server module), signup (a signup webhook).
 * - invitesRedeemed: an account was made or reset with an invite; dimension `path`: web, app, api.
 * - redeemRefused: a redeem that made no account; dimension `reason`: the error code (xmpp-unavailable alarms).
 * - redeemDuration: milliseconds of a successful redeem; dimension `path`.
 * - inAppRegistrationDuration: milliseconds of an in-band registration through a server module (with or without an invite).
 * - xmppLoginFailed: the XMPP server refused the provisioning account's login (a wrong or rotated admin password).
 * - serverErrors: a request answered 5xx; dimension `function`: the Lambda function's name.
 * - failedTokenLookup: a failed token lookup; dimensions `route` and `reason` (functions/http/rateLimit.ts).
 * - registrationBrakeTripped: the registration brake stopped registrations, once per domain and hour
 *   (functions/wiring/policy.ts): one data point with no dimension but `service` (the alarm), one with `domain`.
 */
export const MetricName: Readonly<typeof metricNames.names> = metricNames.names;
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
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: metricNames.service }),
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
