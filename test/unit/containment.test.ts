import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import type { InviteError } from '../../lib/errors.js';
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
    const deps = { xmpp, locks, clock: { now: () => 1_700_000_000 }, config };

    const reserved = await codeOf(() => registerAccount(deps, { username: 'Abuse', password: 'correct horse battery' }));
    const admin = await codeOf(() => registerAccount(deps, { username: 'invitebot', password: 'correct horse battery' }));
    expect([reserved, admin]).toEqual(['username-reserved', 'username-reserved']);
    expect(calls).toEqual([]);

    await registerAccount(deps, { username: 'romeo', password: 'correct horse battery' });
    expect(calls).toEqual(['lock', 'createAccount']);
  });
});
