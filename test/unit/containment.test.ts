import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { InviteError } from '../../lib/errors.js';
import { issueInvite } from '../../lib/invites/issue.js';
import type { InviteStore } from '../../lib/ports/InviteStore.js';
import {
  DEFAULT_RESERVED_USERNAMES,
  assertMayActFor,
  assertNotReserved,
  isReservedUsername,
  moduleInvitesRule,
  moduleLiveInvitesPerUser,
} from '../../lib/invites/limits.js';
import { registerAccount } from '../../lib/invites/registerAccount.js';
import type { RegistrationLocks } from '../../lib/ports/RegistrationLocks.js';
import type { ProvisionerRegistry, XmppProvisioner } from '../../lib/ports/XmppProvisioner.js';
import { webhookActor } from '../../lib/webhooks/signup.js';

const codeOf = async (fn: () => unknown) => {
  try {
    await fn();
  } catch (e) {
    return (e as InviteError).code;
  }
  return undefined;
};

const clock = { now: () => 1_700_000_000 };

const SERVER = { XMPP_DOMAIN: 'example.org', XMPP_ADMIN_JID: 'invitebot@example.org', XMPP_ADMIN_PASSWORD: 'local-only' };

describe('Setting: RESERVED_USERNAMES', () => {
  it('defaults to the role names plus the provisioning accounts’ localparts', () => {
    const { reservedUsernames } = loadConfig(SERVER);

    expect(reservedUsernames).toEqual([...DEFAULT_RESERVED_USERNAMES, 'invitebot']);
    expect(DEFAULT_RESERVED_USERNAMES).toEqual(
      expect.arrayContaining(['admin', 'root', 'postmaster', 'abuse', 'hostmaster', 'webmaster', 'support', 'noc', 'info', 'xmpp', 'www'])
    );
  });

  it('replaces the defaults with a normalized comma list, and still adds the provisioning accounts', () => {
    const { reservedUsernames } = loadConfig({ ...SERVER, RESERVED_USERNAMES: ' Staff , billing,,' });

    expect(reservedUsernames).toEqual(['staff', 'billing', 'invitebot']);
  });

  it('names the variable when an entry is not a username', () => {
    expect(() => loadConfig({ RESERVED_USERNAMES: 'ok,a@b' })).toThrow(/RESERVED_USERNAMES/);
  });

  it('refuses a reserved name with username-reserved, and only those', async () => {
    const config = { reservedUsernames: ['admin', 'support'] };

    expect(await codeOf(() => assertNotReserved(config, 'support'))).toBe('username-reserved');
    expect(await codeOf(() => assertNotReserved(config, 'supporter'))).toBeUndefined();
    // Without a configured list (a use case given a partial config): the defaults.
    expect(isReservedUsername({}, 'postmaster')).toBe(true);
  });
});

describe('Settings: MODULE_INVITES_PER_HOUR and the per-user cap of /xmpp/invites', () => {
  it('defaults to 300 invites per key and hour, and to 10 live invites per user', () => {
    const config = loadConfig({});

    expect(config.moduleInvitesPerHour).toBe(300);
    expect(moduleInvitesRule(config, 'xmpp-server:abc')).toEqual({ key: 'module-invites#xmpp-server:abc', limit: 300 });
    expect(moduleLiveInvitesPerUser(config, undefined)).toBe(10);
  });

  it('lets the module lower the cap, never raise it', () => {
    const configured = loadConfig({ QUOTA_LIVE_INVITES_PER_INVITER: '4' });

    expect(moduleLiveInvitesPerUser(configured, 2)).toBe(2);
    expect(moduleLiveInvitesPerUser(configured, 50)).toBe(4);
    expect(moduleLiveInvitesPerUser(loadConfig({}), 50)).toBe(10);
  });

  it('refuses the provisioning and protected JIDs as the user a module acts for', async () => {
    const config = loadConfig({ ...SERVER, PROTECTED_JIDS: 'Boss@example.org' });

    expect(await codeOf(() => assertMayActFor(config, 'invitebot@example.org'))).toBe('forbidden');
    expect(await codeOf(() => assertMayActFor(config, 'boss@example.org'))).toBe('forbidden');
    expect(await codeOf(() => assertMayActFor(config, 'romeo@example.org'))).toBeUndefined();
  });
});

describe('Signup sources without maxLiveInvites', () => {
  it('are capped at 100 live invites; an explicit cap is kept', () => {
    const source = { secret: 's', fields: { eventId: 'id' }, type: 'account' as const, maxUses: 1, groups: [], roles: [] };

    expect(webhookActor('form', source, 'example.org').maxLiveInvites).toBe(100);
    expect(webhookActor('form', { ...source, maxLiveInvites: 7 }, 'example.org').maxLiveInvites).toBe(7);
  });
});

describe('Open registration of a reserved name', () => {
  it('answers username-reserved before the server is asked or a name is locked', async () => {
    const calls: string[] = [];
    const provisioner = {
      createAccount: async () => void calls.push('createAccount'),
    } as unknown as XmppProvisioner;
    const xmpp: ProvisionerRegistry = { forDomain: async () => provisioner, close: async () => undefined };
    const locks = {
      lock: async () => {
        calls.push('lock');
        return {};
      },
      release: async () => undefined,
      complete: async () => undefined,
    } as unknown as RegistrationLocks;
    const config = { ...loadConfig(SERVER), registrationInviteOnly: false };
    const deps = { xmpp, locks, clock, config };

    const reserved = await codeOf(() => registerAccount(deps, { username: 'Abuse', password: 'correct horse battery' }));
    const admin = await codeOf(() => registerAccount(deps, { username: 'invitebot', password: 'correct horse battery' }));
    expect([reserved, admin]).toEqual(['username-reserved', 'username-reserved']);
    expect(calls).toEqual([]);

    await registerAccount(deps, { username: 'romeo', password: 'correct horse battery' });
    expect(calls).toEqual(['lock', 'createAccount']);
  });
});

describe('Issuing with a preset username asks the server whether the account exists', () => {
  const config = loadConfig({ ...SERVER, INVITES_DOMAINS: 'example.org' });
  const actor = { source: 'api-key:test', domains: ['example.org'], admin: true };
  const fakeStore = () => {
    const created: string[] = [];
    const store = {
      countLive: async () => 0,
      create: async (invite: { username?: string }) => void created.push(invite.username ?? ''),
    } as unknown as InviteStore;
    return { store, created };
  };
  const registry = (accountExists: (jid: string) => Promise<boolean>): ProvisionerRegistry => ({
    forDomain: async () => ({ accountExists }) as unknown as XmppProvisioner,
    close: async () => undefined,
  });

  it('answers username-taken for an existing account and stores nothing', async () => {
    const { store, created } = fakeStore();
    const asked: string[] = [];
    const xmpp = registry(async (jid) => {
      asked.push(jid);
      return true;
    });

    const code = await codeOf(() => issueInvite({ store, clock, config, xmpp }, actor, { username: 'Juliet' }));

    expect(code).toBe('username-taken');
    expect(asked).toEqual(['juliet@example.org']);
    expect(created).toEqual([]);
  });

  it('issues anyway when the server cannot be asked, with a warning that carries no secret', async () => {
    const { store, created } = fakeStore();
    const warnings: unknown[] = [];
    const xmpp = registry(async () => {
      throw new InviteError('xmpp-unavailable', 'connection refused', { retryAfter: 30 });
    });

    const { token } = await issueInvite(
      { store, clock, config, xmpp, warn: (message, details) => warnings.push({ message, details }) },
      actor,
      { username: 'romeo' }
    );

    expect(created).toEqual(['romeo']);
    expect(warnings).toEqual([
      { message: expect.stringContaining('issuing anyway'), details: { jid: 'romeo@example.org', reason: 'connection refused' } },
    ]);
    expect(JSON.stringify(warnings)).not.toContain(token);
    expect(JSON.stringify(warnings)).not.toContain('local-only');
  });

  it('does not ask for a reset invite (its account must exist) nor without a preset', async () => {
    const { store } = fakeStore();
    const xmpp = registry(async () => {
      throw new Error('must not be asked');
    });
    const warn = () => {
      throw new Error('must not warn');
    };

    const reset = await issueInvite(
      { store, clock, config, xmpp, warn },
      { ...actor, allowReset: true },
      { type: 'reset', username: 'romeo' }
    );
    const open = await issueInvite({ store, clock, config, xmpp, warn }, actor, {});

    expect([reset.invite.type, reset.invite.username]).toEqual(['reset', 'romeo']);
    expect([open.invite.type, open.invite.username]).toEqual(['account', undefined]);
  });
});
