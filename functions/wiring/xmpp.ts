import { ProvisionerRegistryFromConfig } from '../../lib/adapters/xmpp/ProvisionerRegistry.js';
import { DynamoDBRegistrationLocks } from '../../lib/adapters/dynamodb/DynamoDBRegistrationLocks.js';
import { claimKeyResolver } from '../../lib/adapters/aws/secrets.js';
import { cfg } from './deps.js';
import { DynamoDBRateLimiter } from '../../lib/adapters/dynamodb/DynamoDBRateLimiter.js';
import { registrationBrake, type RegistrationBrake } from '../../lib/invites/registrationBrake.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { logger } from './observability.js';

/** One registry (and so one warm admin connection per server) per container. */
export const xmpp = new ProvisionerRegistryFromConfig(cfg.xmpp, { tlsCaFile: cfg.xmppTlsCaFile });

/** Open registration's JID locks (the in-band path and POST /register). */
export const registrationLocks = new DynamoDBRegistrationLocks({ tableName: cfg.tableName });

/**
 * For the functions that create accounts, at module scope: once the module
 * has loaded (not during the import), the admin login to the one configured
 * XMPP server starts, so a cold start's first request finds it under way or
 * done while it reads and claims the invite in DynamoDB, instead of starting
 * it after the claim. Nothing is provisioned before the claim succeeds. With
 * several servers, each one's login waits for a request of its domain.
 */
export const warmUpXmpp = (): void => {
  const domains = Object.keys(cfg.xmpp);
  if (domains.length === 1) setImmediate(() => xmpp.warmUp(domains[0] as string));
};

/** The key of claim fingerprints, read once per container; with `xmpp`, what every redeeming function needs. */
export const claimKey = claimKeyResolver(cfg);

/**
 * MAX_REGISTRATIONS_PER_HOUR, for every function that creates accounts: the
 * first refusal of a domain's hour is a warning in the log and a
 * `RegistrationsBraked` metric (CloudWatch EMF).
 */
export const registrationBrakeOf = (): RegistrationBrake | undefined =>
  cfg.maxRegistrationsPerHour === undefined
    ? undefined
    : registrationBrake({
        limiter: new DynamoDBRateLimiter({ tableName: cfg.tableName }),
        clock: systemClock,
        perHour: cfg.maxRegistrationsPerHour,
        onBraked: async ({ domain, limit, until }) => {
          logger.warn('registrations braked: MAX_REGISTRATIONS_PER_HOUR reached', {
            domain,
            limit,
            until: new Date(until * 1000).toISOString(),
          });
          const { Metrics, MetricUnit } = await import('@aws-lambda-powertools/metrics');
          const metric = new Metrics({ namespace: 'xmpp-invites', serviceName: 'xmpp-invites' }).singleMetric();
          metric.addDimension('domain', domain);
          metric.addMetric('RegistrationsBraked', MetricUnit.Count, 1);
        },
      });
export const brake = registrationBrakeOf();
