import { ProvisionerRegistryFromConfig } from '../../lib/adapters/xmpp/ProvisionerRegistry.js';
import { DynamoDBRegistrationLocks } from '../../lib/adapters/dynamodb/DynamoDBRegistrationLocks.js';
import { claimKeyResolver } from '../../lib/adapters/aws/secrets.js';
import { warmUpPasswordList } from '../../lib/invites/password.js';
import { cfg } from './deps.js';

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
  // The same functions check new passwords: the common-password list loads in the background too.
  warmUpPasswordList();
};

/** The key of claim fingerprints, read once per container; with `xmpp`, what every redeeming function needs. */
export const claimKey = claimKeyResolver(cfg);
