/**
 * The native-app contract against the shared stack's Prosody, which loads
 * modules/prosody/mod_xmpp_invites.lua (scripts/local/prosody.ts).
 *
 * For this file the module is pointed, through a config override and a
 * reload, at a proxy that the tests can make unreachable or slow
 * (test/support/serviceProxy.ts); the override is removed afterwards. Behind
 * the proxy, the functions of serverless.yml run in this process (the real
 * handlers, DynamoDB Local, this Prosody): serverless-offline starts a
 * worker per concurrent request, which on two shared cores takes longer than
 * the module's timeout and would measure worker start-up, not the module
 * (as in redeem.concurrency.test.ts). Open registration switches the module's
 * `registration_invite_only` off the same way and the proxy to a second copy
 * with REGISTRATION_INVITE_ONLY=false: the shared service stays invite-only
 * for every other test file.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prosodyControls, prosodyTarget, reconfigureProsody } from '../support/nativeServers.js';
import { serveBehind, startServiceProxy } from '../support/serviceProxy.js';
import { issue, prosodyAdmin, stack, uniqueName } from '../support/stack.js';
import { appCanLogin, appPassword, LoggedInApp, registerWithApp } from '../support/xmppApp.js';
import { nativeAppContract, stackServiceParts } from './nativeContract.js';

/**
 * The module's wait for the service in this file: short, so "slow service"
 * stays quick, yet above what a first call takes on two cores shared with
 * other test files (at 4 s a first XEP-0379 spend sometimes ran out).
 */
const MODULE_TIMEOUT_SECONDS = 6;
/** Live invites per user through the ad-hoc commands, in this file. */
const ADHOC_QUOTA = 3;

const stackTarget = () => prosodyTarget(stack().prosody);

nativeAppContract('prosody', async () => {
  const proxy = await startServiceProxy({ port: 9 });
  const served = await serveBehind(proxy, { ...stack().env });
  const prosody = prosodyControls(stack().prosody, served, {
    xmpp_invites_url: proxy.url,
    xmpp_invites_timeout: MODULE_TIMEOUT_SECONDS,
    xmpp_invites_max_live_invites: ADHOC_QUOTA,
  });
  await prosody.apply();

  const admin = prosodyAdmin();
  return {
    ...prosody.parts,
    otherDomain: 'other.example',
    admin,
    ...stackServiceParts(served.service.url),
    serviceTimeoutMs: MODULE_TIMEOUT_SECONDS * 1000,
    adhocQuota: ADHOC_QUOTA,
    breakService: async (mode) => proxy.setMode(mode),
    stop: async () => {
      await prosody.restore().catch(() => undefined);
      await proxy.stop();
      await served.stop();
      await admin.close();
    },
  };
});

/**
 * After the contract (its afterAll restored the stack's module settings): an
 * inviter deleted with `prosodyctl deluser`, which the running server's
 * modules do not hear of, so nothing told the service and the invite is
 * still valid. The app registers with it; linking must not leave the new
 * account following the freed name.
 */
describe('a deleted inviter on Prosody', () => {
  it('an app registers with the invite, and the new account has no roster entry for the deleted inviter', async () => {
    // Prepare
    const p = stack().prosody;
    const target = stackTarget();
    const admin = prosodyAdmin();
    const inviter = `${uniqueName('gone')}@${p.domain}`;
    const username = uniqueName('survivor');
    const password = appPassword();
    try {
      await admin.createAccount(inviter, appPassword());
      const invite = await issue({ inviter, groups: ['Friends'] });
      const [cmd, args] =
        process.getuid?.() === 0
          ? ['setpriv', ['--reuid=prosody', '--regid=prosody', '--init-groups', 'prosodyctl']]
          : ['prosodyctl', [] as string[]];
      execFileSync(cmd, [...args, '--config', p.configFile, 'deluser', inviter], { stdio: ['ignore', 'pipe', 'pipe'] });
      expect(await admin.accountExists(inviter)).toBe(false);

      // Act
      const result = await registerWithApp('conversations', target, { token: invite.token, username, password, timeoutMs: 20_000 });

      // Assess
      expect(result.verdict).toBe('registered');
      expect(await appCanLogin(target, `${username}@${p.domain}`, password)).toBe(true);
      expect(await admin.getRoster(`${username}@${p.domain}`)).toEqual([]);
    } finally {
      await admin.close();
    }
  }, 60_000);
});

/** The module's command settings beyond the contract's defaults (the contract's afterAll restored the stack's settings). */
describe('who may run the invite commands on Prosody', () => {
  let original: string;
  const prosodyLog = () => readFileSync(join(stack().prosody.dir, 'prosody.log'), 'utf8');
  const newUser = async (prefix: string) => {
    const jid = `${uniqueName(prefix)}@${stack().prosody.domain}`;
    const password = appPassword();
    const admin = prosodyAdmin();
    await admin.createAccount(jid, password).finally(() => admin.close());
    return { jid, password };
  };
  const discoInfo = async (app: LoggedInApp, node: string) =>
    (
      await app.stream.iq(
        { type: 'get', to: stack().prosody.domain },
        `<query xmlns='http://jabber.org/protocol/disco#info' node='${node}'/>`
      )
    ).error?.condition ?? 'result';
  beforeAll(() => {
    original = readFileSync(stack().prosody.configFile, 'utf8');
  });
  afterAll(async () => {
    await reconfigureProsody(stack().prosody, original, undefined);
  });

  it('the obsolete xmpp_invites_allow_create = "admins" is read as xmpp_invites_allow_invite: it closes #invite, with a warning', async () => {
    // Prepare
    const user = await newUser('obsolete');
    const warnings = () =>
      prosodyLog()
        .split('\n')
        .filter((l) => l.includes('\twarn\txmpp_invites_allow_create is obsolete')).length;
    const before = warnings();
    await reconfigureProsody(stack().prosody, original, { xmpp_invites_allow_create: 'admins' });
    const app = await LoggedInApp.login(stackTarget(), user.jid, user.password);
    let commands: string[];
    let run;
    try {
      // Act
      commands = await app.commands();
      run = await app.adhoc('urn:xmpp:invite#invite');
    } finally {
      app.close();
    }

    // Assess
    expect(commands.filter((c) => c.startsWith('urn:xmpp:invite#'))).toEqual([]);
    expect([run.outcome.type, run.outcome.error?.condition]).toEqual(['error', 'forbidden']);
    expect(warnings()).toBeGreaterThan(before);
  });

  it('a list of JIDs: the listed user is offered and runs #create-account; another is neither offered, described nor served', async () => {
    // Prepare
    const listed = await newUser('listed');
    const other = await newUser('unlisted');
    await reconfigureProsody(stack().prosody, original, { xmpp_invites_allow_create_account: [listed.jid] });
    const listedApp = await LoggedInApp.login(stackTarget(), listed.jid, listed.password);
    const otherApp = await LoggedInApp.login(stackTarget(), other.jid, other.password);
    let seen;
    try {
      // Act
      seen = {
        listed: {
          commands: await listedApp.commands(),
          info: await discoInfo(listedApp, 'urn:xmpp:invite#create-account'),
          run: await listedApp.adhoc('urn:xmpp:invite#create-account', {
            username: uniqueName('listedfor'),
            'roster-subscription': 'false',
          }),
        },
        other: {
          commands: await otherApp.commands(),
          info: await discoInfo(otherApp, 'urn:xmpp:invite#create-account'),
          run: await otherApp.adhoc('urn:xmpp:invite#create-account', { username: uniqueName('never') }),
        },
      };
    } finally {
      listedApp.close();
      otherApp.close();
    }

    // Assess
    expect(seen.listed.commands).toEqual(expect.arrayContaining(['urn:xmpp:invite#invite', 'urn:xmpp:invite#create-account']));
    expect(seen.listed.info).toBe('result');
    expect(seen.listed.run.status).toBe('completed');
    expect(seen.listed.run.fields.uri).toMatch(/^xmpp:.+\?register;preauth=/);
    expect(seen.other.commands).toContain('urn:xmpp:invite#invite');
    expect(seen.other.commands).not.toContain('urn:xmpp:invite#create-account');
    expect(seen.other.info).toBe('forbidden');
    expect([seen.other.run.outcome.type, seen.other.run.outcome.error?.condition]).toEqual(['error', 'forbidden']);
  });
});
