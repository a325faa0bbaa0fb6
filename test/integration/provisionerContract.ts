import { createServer, type Server, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InviteError } from '../../lib/errors.js';
import type { XmppProvisioner } from '../../lib/ports/XmppProvisioner.js';
import { freePort } from '../../scripts/local/process.js';
import { uniqueName } from '../support/stack.js';

/** What the contract needs from one real XMPP server. */
export interface ProvisionerTarget {
  domain: string;
  /** A provisioner logged in as the server's admin. */
  admin: () => XmppProvisioner;
  /** The same server, but with another admin password. */
  withAdminPassword: (password: string) => XmppProvisioner;
  /** A provisioner pointed at `127.0.0.1:port` instead of the server. */
  atPort: (port: number, timeoutMs: number) => XmppProvisioner;
  /** Logs in over c2s as the user: proves the password works. */
  canLogin: (jid: string, password: string) => Promise<boolean>;
  /** Deletes an account the way the server's operator does (not through the port, which has no such method). */
  deleteAccount: (jid: string) => Promise<void>;
}

/** Runs `act` and returns the InviteError it must throw. */
export const inviteErrorOf = async (act: () => Promise<unknown>): Promise<InviteError> => {
  try {
    await act();
  } catch (e) {
    expect(e).toBeInstanceOf(InviteError);
    return e as InviteError;
  }
  throw new Error('expected an InviteError, but the call succeeded');
};

/**
 * The behaviour every XmppProvisioner adapter promises, written once and run
 * against each real server. `target` is read lazily: the server may start in
 * the caller's beforeAll.
 */
export const provisionerContract = (serverName: string, target: () => ProvisionerTarget) => {
  describe(`XmppProvisioner contract: ${serverName}`, () => {
    const made: XmppProvisioner[] = [];
    const track = <T extends XmppProvisioner>(p: T): T => {
      made.push(p);
      return p;
    };
    let xmpp: XmppProvisioner;
    let t: ProvisionerTarget;
    const jid = (prefix: string) => `${uniqueName(prefix)}@${t.domain}`;

    beforeAll(() => {
      t = target();
      xmpp = track(t.admin());
    });
    afterAll(async () => {
      await Promise.all(made.map((p) => p.close()));
    });

    describe('Method: verifyPassword', () => {
      it('says whether an account accepts a password, without changing anything', async () => {
        // Prepare
        const user = jid('verify');
        await xmpp.createAccount(user, 'verified password 1');

        // Act
        const right = await xmpp.verifyPassword(user, 'verified password 1');
        const wrong = await xmpp.verifyPassword(user, 'some other password');
        const missing = await xmpp.verifyPassword(jid('nobody'), 'verified password 1');

        // Assess
        expect([right, wrong, missing]).toEqual([true, false, false]);
        expect(await t.canLogin(user, 'verified password 1')).toBe(true);
      });
    });

    describe('Method: createAccount', () => {
      it('creates an account that can log in with its password', async () => {
        // Prepare
        const user = jid('create');
        expect(await xmpp.accountExists(user)).toBe(false);

        // Act
        await xmpp.createAccount(user, 'first password 1');

        // Assess
        expect(await xmpp.accountExists(user)).toBe(true);
        expect(await t.canLogin(user, 'first password 1')).toBe(true);
        expect(await t.canLogin(user, 'not the password')).toBe(false);
      });

      it('answers username-taken for an existing account, in any case, without echoing the password', async () => {
        // Prepare
        const user = jid('dup');
        await xmpp.createAccount(user, 'original password');
        const secret = 'second-password-XYZ';

        // Act
        const same = await inviteErrorOf(() => xmpp.createAccount(user, secret));
        const upper = await inviteErrorOf(() => xmpp.createAccount(user.toUpperCase().replace(/@.*/, `@${t.domain}`), secret));

        // Assess
        expect(same.code).toBe('username-taken');
        expect(upper.code).toBe('username-taken');
        expect(inspect(same, { depth: 5 })).not.toContain(secret);
        expect(await t.canLogin(user, 'original password')).toBe(true);
      });

      it('answers username-invalid for a localpart the server rejects (a space)', async () => {
        // Prepare
        const base = uniqueName('bad');
        const user = `${base} name@${t.domain}`;

        // Act
        const error = await inviteErrorOf(() => xmpp.createAccount(user, 'some password'));

        // Assess
        expect(error.code).toBe('username-invalid');
        // Not created under a truncated name either.
        expect(await xmpp.accountExists(`${base}@${t.domain}`)).toBe(false);
      });
    });

    describe('Method: setPassword', () => {
      it('replaces the password: the old one fails, the new one logs in', async () => {
        // Prepare
        const user = jid('reset');
        await xmpp.createAccount(user, 'old password 1');

        // Act
        await xmpp.setPassword(user, 'new password 2');

        // Assess
        expect(await t.canLogin(user, 'old password 1')).toBe(false);
        expect(await t.canLogin(user, 'new password 2')).toBe(true);
      });

      it('answers account-not-found for an account that does not exist, and creates nothing', async () => {
        // Prepare
        const user = jid('nobody');

        // Act
        const error = await inviteErrorOf(() => xmpp.setPassword(user, 'whatever password'));

        // Assess
        expect(error.code).toBe('account-not-found');
        expect(await xmpp.accountExists(user)).toBe(false);
      });
    });

    describe('Method: linkRosters', () => {
      it('gives subscription both on both rosters, with the groups, and is idempotent', async () => {
        // Prepare
        const a = jid('inviter');
        const b = jid('invitee');
        await Promise.all([xmpp.createAccount(a, 'password a 1'), xmpp.createAccount(b, 'password b 1')]);
        const groups = ['Friends', 'Team Ä'];

        // Act
        await xmpp.linkRosters({ a, b, groups, nameOfBForA: 'Bee', nameOfAForB: 'Ay' });
        await xmpp.linkRosters({ a, b, groups, nameOfBForA: 'Bee', nameOfAForB: 'Ay' });

        // Assess
        const [rosterA, rosterB] = await Promise.all([xmpp.getRoster(a), xmpp.getRoster(b)]);
        expect(rosterA).toHaveLength(1);
        expect(rosterB).toHaveLength(1);
        expect({ ...rosterA[0], groups: [...rosterA[0]!.groups].sort() }).toEqual({ jid: b, subscription: 'both', groups });
        expect({ ...rosterB[0], groups: [...rosterB[0]!.groups].sort() }).toEqual({ jid: a, subscription: 'both', groups });
      });

      it('links without groups', async () => {
        // Prepare
        const a = jid('plain');
        const b = jid('plain');
        await Promise.all([xmpp.createAccount(a, 'password a 1'), xmpp.createAccount(b, 'password b 1')]);

        // Act
        await xmpp.linkRosters({ a, b, groups: [] });

        // Assess
        expect(await xmpp.getRoster(a)).toEqual([{ jid: b, subscription: 'both', groups: [] }]);
        expect(await xmpp.getRoster(b)).toEqual([{ jid: a, subscription: 'both', groups: [] }]);
      });

      it('answers account-not-found when either account is missing', async () => {
        // Prepare
        const existing = jid('alone');
        const missing = jid('ghost');
        await xmpp.createAccount(existing, 'password 1234');

        // Act
        const missingB = await inviteErrorOf(() => xmpp.linkRosters({ a: existing, b: missing, groups: [] }));
        const missingA = await inviteErrorOf(() => xmpp.linkRosters({ a: missing, b: existing, groups: [] }));

        // Assess
        expect(missingB.code).toBe('account-not-found');
        expect(missingA.code).toBe('account-not-found');
        expect(await xmpp.accountExists(missing)).toBe(false);
        // Neither side was written: the existing account does not follow the missing one.
        expect(await xmpp.getRoster(existing)).toEqual([]);
      });

      it('an inviter deleted on the server: account-not-found, and the new account gets no entry for the freed name', async () => {
        // Prepare
        const inviter = jid('deleted');
        const invitee = jid('newcomer');
        await Promise.all([xmpp.createAccount(inviter, 'password a 1'), xmpp.createAccount(invitee, 'password b 1')]);
        await t.deleteAccount(inviter);

        // Act
        const refused = await inviteErrorOf(() =>
          xmpp.linkRosters({ a: inviter, b: invitee, groups: ['Friends'], passwordOfB: 'password b 1' })
        );

        // Assess
        expect(refused.code).toBe('account-not-found');
        expect(await xmpp.getRoster(invitee)).toEqual([]);
        // Whoever registers the freed name later finds nobody following it.
        await xmpp.createAccount(inviter, 'password c 1');
        expect(await xmpp.getRoster(inviter)).toEqual([]);
      });
    });

    describe('Unavailable server', () => {
      it('answers xmpp-unavailable with retryAfter when nothing listens', async () => {
        // Prepare
        const nowhere = track(t.atPort(await freePort(), 2000));

        // Act
        const error = await inviteErrorOf(() => nowhere.createAccount(jid('x'), 'some password'));

        // Assess
        expect(error.code).toBe('xmpp-unavailable');
        expect(error.retryAfter).toBeGreaterThan(0);
      });

      it('answers xmpp-unavailable within its timeout when the server accepts but never answers', async () => {
        // Prepare: a socket that takes the connection and says nothing.
        const sockets: Socket[] = [];
        const silent: Server = createServer((s) => sockets.push(s));
        await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
        const port = (silent.address() as { port: number }).port;
        const hung = track(t.atPort(port, 500));
        const started = Date.now();

        try {
          // Act
          const error = await inviteErrorOf(() => hung.createAccount(jid('x'), 'some password'));

          // Assess
          expect(error.code).toBe('xmpp-unavailable');
          expect(error.retryAfter).toBeGreaterThan(0);
          expect(Date.now() - started).toBeLessThan(5000);
        } finally {
          await hung.close();
          for (const s of sockets) s.destroy();
          await new Promise((resolve) => silent.close(resolve));
        }
      });

      it('answers xmpp-unavailable for a wrong admin password, and never shows the password', async () => {
        // Prepare
        const wrong = `wrong-${uniqueName('pw')}`;
        const impostor = track(t.withAdminPassword(wrong));
        const user = jid('x');

        // Act
        const error = await inviteErrorOf(() => impostor.createAccount(user, 'user secret password'));

        // Assess
        expect(error.code).toBe('xmpp-unavailable');
        expect(error.retryAfter).toBeGreaterThan(0);
        expect(error.message).not.toContain(wrong);
        expect(inspect(error, { depth: 5 })).not.toContain(wrong);
        expect(inspect(error, { depth: 5 })).not.toContain('user secret password');
        expect(await xmpp.accountExists(user)).toBe(false);
      });
    });
  });
};
