import { ProsodyProvisioner } from '../../lib/adapters/xmpp/ProsodyProvisioner.js';
import { canLogin, stack } from '../support/stack.js';
import { provisionerContract } from './provisionerContract.js';

/** The shared stack's Prosody (mod_admin_adhoc + mod_privilege). */
provisionerContract('Prosody', () => {
  const p = stack().prosody;
  const at = (service: string, password: string, timeoutMs = 5000) =>
    ProsodyProvisioner.at({ ...p, service, password: () => password, timeoutMs, tlsCaFile: p.caFile });
  return {
    domain: p.domain,
    admin: () => at(p.service, p.adminPassword),
    withAdminPassword: (password) => at(p.service, password),
    atPort: (port, timeoutMs) => at(`xmpp://127.0.0.1:${port}`, p.adminPassword, timeoutMs),
    canLogin,
  };
});
