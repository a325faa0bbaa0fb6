import { ProvisionerRegistryFromConfig } from '../../lib/adapters/xmpp/ProvisionerRegistry.js';
import { DynamoDBRegistrationLocks } from '../../lib/adapters/dynamodb/DynamoDBRegistrationLocks.js';
import { claimKeyResolver } from '../../lib/adapters/aws/secrets.js';
import { cfg } from './deps.js';

/** One registry (and so one warm admin connection per server) per container. */
export const xmpp = new ProvisionerRegistryFromConfig(cfg.xmpp, { tlsCaFile: cfg.xmppTlsCaFile });

/** Open registration's JID locks (the in-band path and POST /register). */
export const registrationLocks = new DynamoDBRegistrationLocks({ tableName: cfg.tableName });

/** The key of claim fingerprints, read once per container; with `xmpp`, what every redeeming function needs. */
export const claimKey = claimKeyResolver(cfg);
