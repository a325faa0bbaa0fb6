/**
 * The provisioner contract on Prosody 13 (bookworm-backports) with
 * mod_admin_adhoc and mod_privilege from the 2025 prosody-modules: once with
 * the provisioning account in `admins`, as on 0.12, and once with only the
 * least role it needs (PROVISIONER_ROLE: the three XEP-0133 commands the
 * service runs, roster access from privileged_entities).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProsodyProvisioner } from '../../lib/adapters/xmpp/ProsodyProvisioner.js';
import { PROVISIONER_COMMANDS, PROVISIONER_ROLE, startProsody, type LocalProsody } from '../../scripts/local/prosody.js';
import { canLogin, uniqueName } from '../support/stack.js';
import { appPassword, LoggedInApp } from '../support/xmppApp.js';
import { provisionerContract, type ProvisionerTarget } from './provisionerContract.js';

let admin: LocalProsody;
let least: LocalProsody;
/** The role as docs/prosody.md gave it before accountExists ran user-stats: get-user-roster instead. */
let olderRole: LocalProsody;
beforeAll(async () => {
  [admin, least, olderRole] = await Promise.all([
    startProsody({ version: '13', domain: 'p13.localhost' }),
    startProsody({ version: '13', domain: 'p13least.localhost', leastRole: true }),
    startProsody({
      version: '13',
      domain: 'p13older.localhost',
      leastRole: true,
      roleCommands: ['add-user', 'change-user-password', 'get-user-roster'],
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([admin?.stop(), least?.stop(), olderRole?.stop()]);
});

const targetOf = (p: LocalProsody): ProvisionerTarget => {
  const at = (service: string, password: string, timeoutMs = 5000) =>
    ProsodyProvisioner.at({ ...p, service, password: () => password, timeoutMs, tlsCaFile: p.caFile });
  return {
    domain: p.domain,
    admin: () => at(p.service, p.adminPassword),
    withAdminPassword: (password) => at(p.service, password),
    atPort: (port, timeoutMs) => at(`xmpp://127.0.0.1:${port}`, p.adminPassword, timeoutMs),
    canLogin: (jid, password) => canLogin(jid, password, p),
    deleteAccount: async (jid) => {
      // The least-role account may not run delete-user: its instance loads
      // mod_admin_shell, which prosodyctl on 13 goes through.
      if (p === least) {
        p.ctl('deluser', jid);
        return;
      }
      const app = await LoggedInApp.login(
        { domain: p.domain, host: '127.0.0.1', port: p.c2sPort, caFile: p.caFile },
        p.adminJid,
        p.adminPassword
      );
      try {
        const done = await app.adhoc('http://jabber.org/protocol/admin#delete-user', { accountjids: jid });
        if (done.status !== 'completed' || done.notes.some((n) => n.type === 'error'))
          throw new Error(`delete-user failed: ${JSON.stringify(done.notes)}`);
      } finally {
        app.close();
      }
    },
  };
};

provisionerContract('Prosody 13', () => targetOf(admin));
provisionerContract(`Prosody 13, provisioning account with only the role ${PROVISIONER_ROLE}`, () => targetOf(least));

describe(`Prosody 13 role ${PROVISIONER_ROLE}`, () => {
  it('runs no admin command beyond the three it needs', async () => {
    // Prepare
    const target = { domain: least.domain, host: '127.0.0.1', port: least.c2sPort, caFile: least.caFile };
    const victim = `${uniqueName('kept')}@${least.domain}`;
    const provisioner = targetOf(least).admin();
    await provisioner.createAccount(victim, appPassword());
    const app = await LoggedInApp.login(target, least.adminJid, least.adminPassword);
    let deleted;
    let reloaded;
    let commands: string[] = [];
    let kept: boolean;
    try {
      // Act
      commands = await app.commands();
      deleted = await app.adhoc('http://jabber.org/protocol/admin#delete-user', { accountjids: victim });
      reloaded = await app.adhoc('http://prosody.im/protocol/config#reload', {});
      kept = await provisioner.accountExists(victim);
    } finally {
      app.close();
      await provisioner.close();
    }

    // Assess
    expect(least.ctl('shell', 'user', 'role', least.adminJid)).toContain(PROVISIONER_ROLE);
    expect(commands.filter((c) => c.startsWith('http://jabber.org/protocol/admin#')).sort()).toEqual(
      PROVISIONER_COMMANDS.map((c) => `http://jabber.org/protocol/admin#${c}`).sort()
    );
    expect([deleted.outcome.type, deleted.outcome.error?.condition]).toEqual(['error', 'forbidden']);
    expect([reloaded.outcome.type, reloaded.outcome.error?.condition]).toEqual(['error', 'forbidden']);
    expect(kept).toBe(true);
  });

  it('links a new account with the provisioning account itself: both rosters read both', async () => {
    // Prepare: an invite whose inviter is the provisioning account.
    const provisioner = targetOf(least).admin();
    const newcomer = `${uniqueName('new')}@${least.domain}`;
    const password = appPassword();
    try {
      await provisioner.createAccount(newcomer, password);

      // Act
      await provisioner.linkRosters({ a: least.adminJid, b: newcomer, groups: ['Friends'], passwordOfB: password });

      // Assess
      const [mine, theirs] = await Promise.all([provisioner.getRoster(least.adminJid), provisioner.getRoster(newcomer)]);
      expect(mine.find((i) => i.jid === newcomer)).toMatchObject({ subscription: 'both', groups: ['Friends'] });
      expect(theirs.find((i) => i.jid === least.adminJid)).toMatchObject({ subscription: 'both', groups: ['Friends'] });
    } finally {
      await provisioner.close();
    }
  });

  it('still works with the role given before user-stats: accountExists falls back to get-user-roster, linkRosters links', async () => {
    // Prepare
    const provisioner = targetOf(olderRole).admin();
    const [a, b] = [uniqueName('olda'), uniqueName('oldb')].map((n) => `${n}@${olderRole.domain}`) as [string, string];
    try {
      await provisioner.createAccount(a, appPassword());
      await provisioner.createAccount(b, appPassword());

      // Act
      const found = await Promise.all([
        provisioner.accountExists(a),
        provisioner.accountExists(`${uniqueName('none')}@${olderRole.domain}`),
      ]);
      await provisioner.linkRosters({ a, b, groups: [] });

      // Assess
      expect(found).toEqual([true, false]);
      expect((await provisioner.getRoster(a)).find((i) => i.jid === b)).toMatchObject({ subscription: 'both' });
    } finally {
      await provisioner.close();
    }
  });
});
