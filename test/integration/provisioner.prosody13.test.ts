import { afterAll, beforeAll } from 'vitest';
import { ProsodyProvisioner } from '../../lib/adapters/xmpp/ProsodyProvisioner.js';
import { startProsody, type LocalProsody } from '../../scripts/local/prosody.js';
import { canLogin } from '../support/stack.js';
import { provisionerContract } from './provisionerContract.js';

/** A private Prosody 13 (bookworm-backports) with mod_admin_adhoc and mod_privilege from the 2025 prosody-modules. */
let p: LocalProsody;
beforeAll(async () => {
  p = await startProsody({ version: '13', domain: 'p13.localhost' });
});
afterAll(async () => {
  await p?.stop();
});

provisionerContract('Prosody 13', () => {
  const at = (service: string, password: string, timeoutMs = 5000) =>
    ProsodyProvisioner.at({ ...p, service, password: () => password, timeoutMs, tlsCaFile: p.caFile });
  return {
    domain: p.domain,
    admin: () => at(p.service, p.adminPassword),
    withAdminPassword: (password) => at(p.service, password),
    atPort: (port, timeoutMs) => at(`xmpp://127.0.0.1:${port}`, p.adminPassword, timeoutMs),
    canLogin: (jid, password) => canLogin(jid, password, p),
  };
});
