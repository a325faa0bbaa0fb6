import { describe, expect, it } from 'vitest';
import { api, canLogin, issue, prosodyAdmin, stack, uniqueName } from '../support/stack.js';

/**
 * Roster pre-approval must read `both` on both rosters whoever the inviter
 * is, the provisioning account included (the README's "Try it" invites with
 * admin@localhost): a roster set on one's own roster cannot set a
 * subscription, so that side goes through the server's subscription flow.
 */
const PASSWORD = 'correct horse battery';

const redeem = (token: string, username: string, password = PASSWORD) =>
  api('POST', `/invites/${token}/redeem`, { body: { username, password }, auth: false });

const itemOf = (roster: { jid: string; subscription: string; groups: string[] }[], jid: string) => roster.find((i) => i.jid === jid);

describe('Roster pre-approval with the provisioning account as inviter (Prosody)', () => {
  it('gives both on both rosters when the inviter is the admin JID, with groups', async () => {
    const admin = prosodyAdmin();
    const adminJid = stack().prosody.adminJid;
    const invite = await issue({ inviter: adminJid, groups: ['Friends'] });
    const username = uniqueName('new');
    const jid = `${username}@localhost`;

    const res = await redeem(invite.token, username);

    try {
      expect(res.status).toBe(201);
      expect(itemOf(await admin.getRoster(jid), adminJid)).toMatchObject({ subscription: 'both', groups: ['Friends'] });
      expect(itemOf(await admin.getRoster(adminJid), jid)).toMatchObject({ subscription: 'both', groups: ['Friends'] });
      expect(await canLogin(jid, PASSWORD)).toBe(true);
    } finally {
      await admin.close();
    }
  });

  it('links the admin again idempotently (a retry of the same redemption, a second link)', async () => {
    const admin = prosodyAdmin();
    const adminJid = stack().prosody.adminJid;
    const invite = await issue({ inviter: adminJid });
    const username = uniqueName('again');
    const jid = `${username}@localhost`;

    const first = await redeem(invite.token, username);
    const retry = await redeem(invite.token, username);
    // The provisioner's own call, run a second time on a linked pair.
    await admin.linkRosters({ a: adminJid, b: jid, groups: [], passwordOfB: PASSWORD });

    try {
      expect([first.status, retry.status]).toEqual([201, 201]);
      expect(itemOf(await admin.getRoster(jid), adminJid)?.subscription).toBe('both');
      expect(itemOf(await admin.getRoster(adminJid), jid)?.subscription).toBe('both');
    } finally {
      await admin.close();
    }
  });

  it('gives both on both rosters with an ordinary inviter', async () => {
    const admin = prosodyAdmin();
    const inviter = `${uniqueName('romeo')}@localhost`;
    await admin.createAccount(inviter, PASSWORD);
    const invite = await issue({ inviter, type: 'contact' });
    const username = uniqueName('juliet');
    const jid = `${username}@localhost`;

    const res = await redeem(invite.token, username);

    try {
      expect(res.status).toBe(201);
      expect(itemOf(await admin.getRoster(jid), inviter)?.subscription).toBe('both');
      expect(itemOf(await admin.getRoster(inviter), jid)?.subscription).toBe('both');
    } finally {
      await admin.close();
    }
  });

  it("refuses to half-link the admin without the other side's password, with a clear error", async () => {
    const admin = prosodyAdmin();
    const adminJid = stack().prosody.adminJid;
    const jid = `${uniqueName('nopw')}@localhost`;
    await admin.createAccount(jid, PASSWORD);

    const error = await admin.linkRosters({ a: adminJid, b: jid, groups: [] }).then(
      () => undefined,
      (e: unknown) => e as { code?: string }
    );

    try {
      expect(error?.code).toBe('xmpp-error');
    } finally {
      await admin.close();
    }
  });
});
