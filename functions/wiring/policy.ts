import { DynamoDBPolicyCounters } from '../../lib/adapters/dynamodb/DynamoDBPolicyCounters.js';
import { InvitePolicy, type PolicySettings } from '../../lib/invites/policy.js';
import { cfg, clock } from './deps.js';
import { emitMetric, logger, MetricName } from './observability.js';

/**
 * `RegistrationBrakeTripped`, once per domain and hour, and a warning in the
 * log: one data point with only the `service` dimension (the alarm and the
 * dashboard of infra/operations.cjs read that one) and one by `domain`.
 */
export const brakeTrippedMetric = async (domain: string, limit: number): Promise<void> => {
  logger.warn('registration brake tripped', { domain, limit });
  await emitMetric(MetricName.registrationBrakeTripped);
  await emitMetric(MetricName.registrationBrakeTripped, { domain });
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
