import { afterAll, beforeAll } from 'vitest';
import { EjabberdProvisioner } from '../../lib/adapters/xmpp/EjabberdProvisioner.js';
import { startEjabberd, type LocalEjabberd } from '../../scripts/local/ejabberd.js';
import { canLogin } from '../support/stack.js';
import { provisionerContract } from './provisionerContract.js';

/** A private ejabberd 24.12 (bookworm-backports) with mod_http_api limited to the provisioning commands. */
let ej: LocalEjabberd;
beforeAll(async () => {
  ej = await startEjabberd({ version: '24.12', domain: 'ej24.localhost' });
});
afterAll(async () => {
  await ej?.stop();
});

const at = (apiUrl: string, password: string, timeoutMs = 5000) =>
  new EjabberdProvisioner({ server: { adminJid: ej.adminJid, apiUrl, timeoutMs }, password: () => password });

provisionerContract('ejabberd 24.12', () => ({
  domain: ej.domain,
  admin: () => at(ej.apiUrl, ej.adminPassword),
  withAdminPassword: (password) => at(ej.apiUrl, password),
  atPort: (port, timeoutMs) => at(`http://127.0.0.1:${port}/api`, ej.adminPassword, timeoutMs),
  canLogin: (jid, password) => canLogin(jid, password, ej),
  deleteAccount: async (jid) => {
    const [user, host] = jid.split('@') as [string, string];
    ej.ctl('unregister', user, host);
  },
}));
