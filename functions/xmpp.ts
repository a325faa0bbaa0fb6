import { ProvisionerRegistryFromConfig } from '../lib/adapters/ProvisionerRegistry.js';
import { cfg } from './deps.js';

/** One registry (and so one warm admin connection per server) per container. */
export const xmpp = new ProvisionerRegistryFromConfig(cfg.xmpp, { tlsCaFile: cfg.xmppTlsCaFile });
