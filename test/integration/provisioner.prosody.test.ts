import { ProsodyProvisioner } from '../../lib/adapters/xmpp/ProsodyProvisioner.js';
import { canLogin, stack } from '../support/stack.js';
import { LoggedInApp } from '../support/xmppApp.js';
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
    deleteAccount: async (jid) => {
      const port = Number(new URL(p.service.replace(/^xmpp:/, 'http:')).port);
      const admin = await LoggedInApp.login({ domain: p.domain, host: '127.0.0.1', port, caFile: p.caFile }, p.adminJid, p.adminPassword);
      try {
        const done = await admin.adhoc('http://jabber.org/protocol/admin#delete-user', { accountjids: jid });
        if (done.status !== 'completed' || done.notes.some((n) => n.type === 'error'))
          throw new Error(`delete-user failed: ${JSON.stringify(done.notes)}`);
      } finally {
        admin.close();
      }
    },
  };
});
