import { afterAll, describe, expect, it } from 'vitest';
import { ProsodyProvisioner } from '../../lib/adapters/xmpp/ProsodyProvisioner.js';
import { XmppConnection, type XmlElement } from '../../lib/adapters/xmpp/XmppConnection.js';
import { canLogin, stack, uniqueName } from '../support/stack.js';
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

describe('Class: ProsodyProvisioner', () => {
  /** The admin connection, keeping the size of every answer it receives. */
  class MeasuredConnection extends XmppConnection {
    public readonly answers: number[] = [];
    public override async iq(stanza: XmlElement, timeoutMs?: number): Promise<XmlElement> {
      const answer = await super.iq(stanza, timeoutMs);
      this.answers.push(answer.toString().length);
      return answer;
    }
  }
  const connections: XmppConnection[] = [];
  const provisioner = () => {
    const p = stack().prosody;
    const connection = new MeasuredConnection({
      service: p.service,
      jid: p.adminJid,
      password: () => p.adminPassword,
      timeoutMs: 5000,
      tlsCaFile: p.caFile,
    });
    connections.push(connection);
    const xmpp = new ProsodyProvisioner({
      domain: p.domain,
      connection,
      userConnection: (jid, password) =>
        new XmppConnection({ service: p.service, jid, password: () => password, timeoutMs: 5000, tlsCaFile: p.caFile }),
    });
    return { xmpp, connection };
  };
  afterAll(async () => {
    await Promise.all(connections.map((c) => c.close()));
  });

  describe('Method: accountExists', () => {
    it("answers without the account's roster, so an inviter's check does not grow with the contacts invites gave them", async () => {
      // Prepare: an inviter with 60 contacts, as after 60 redeemed invites.
      const { domain } = stack().prosody;
      const { xmpp, connection } = provisioner();
      const inviter = `${uniqueName('popular')}@${domain}`;
      await xmpp.createAccount(inviter, 'popular horse battery staple');
      const contacts = Array.from({ length: 60 }, () => `${uniqueName('contact')}@${domain}`);
      for (const contact of contacts) await xmpp.createAccount(contact, 'contact horse battery staple');
      await Promise.all(contacts.map((b) => xmpp.linkRosters({ a: inviter, b, groups: [] })));
      expect(await xmpp.getRoster(inviter)).toHaveLength(60);

      // Act
      connection.answers.length = 0;
      const exists = await xmpp.accountExists(inviter);
      const missing = await xmpp.accountExists(`${uniqueName('nobody')}@${domain}`);

      // Assess: one small answer each (a roster of 60 items is several KB).
      expect([exists, missing]).toEqual([true, false]);
      expect(connection.answers).toHaveLength(2);
      for (const size of connection.answers) expect(size).toBeLessThan(1500);
    });
  });
});
