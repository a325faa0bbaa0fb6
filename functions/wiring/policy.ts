import type { Metrics, MetricUnit as MetricUnitType } from '@aws-lambda-powertools/metrics';
import { DynamoDBPolicyCounters } from '../../lib/adapters/dynamodb/DynamoDBPolicyCounters.js';
import { InvitePolicy, type PolicySettings } from '../../lib/invites/policy.js';
import { cfg, clock } from './deps.js';
import { logger } from './observability.js';

/**
 * Made on the first trip, not at start: most containers never see one, and
 * Powertools Metrics is loaded only then (esbuild evaluates a dynamic import
 * inside the bundle lazily), like FailedTokenLookup in functions/http/rateLimit.ts.
 */
let metrics: Promise<{ metrics: Metrics; MetricUnit: typeof MetricUnitType }> | undefined;
const loadMetrics = () =>
  (metrics ??= import('@aws-lambda-powertools/metrics').then(({ Metrics, MetricUnit }) => ({
    metrics: new Metrics({ namespace: 'xmpp-invites', serviceName: 'xmpp-invites' }),
    MetricUnit,
  })));

/** `RegistrationBrakeTripped` (dimension `domain`), once per domain and hour, and a warning in the log. */
export const brakeTrippedMetric = async (domain: string, limit: number): Promise<void> => {
  logger.warn('registration brake tripped', { domain, limit });
  const { metrics, MetricUnit } = await loadMetrics();
  const metric = metrics.singleMetric();
  metric.addDimension('domain', domain);
  metric.addMetric('RegistrationBrakeTripped', MetricUnit.Count, 1);
};

/** The invitation policy of a container; undefined when no limit is set (then nothing is counted). */
export const invitePolicyFor = (settings: PolicySettings = cfg.invitePolicy): InvitePolicy | undefined =>
  settings.invitesPerInviterPerWeek === undefined && settings.maxRegistrationsPerHour === undefined
    ? undefined
    : new InvitePolicy({
        counters: new DynamoDBPolicyCounters({ tableName: cfg.tableName }),
        clock,
        settings,
        onBrakeTripped: brakeTrippedMetric,
      });

export const policy = invitePolicyFor();
