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
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issue, prosodyAdmin, stack, uniqueName } from '../support/stack.js';
import { startInProcessService, startServiceProxy, type InProcessService } from '../support/serviceProxy.js';
import { appCanLogin, appPassword, LoggedInApp, registerWithApp, type XmppTarget } from '../support/xmppApp.js';
import { nativeAppContract, stackServiceParts } from './nativeContract.js';

/**
 * The module's wait for the service in this file: short, so "slow service"
 * stays quick, yet above what a first call takes on two cores shared with
 * other test files (at 4 s a first XEP-0379 spend sometimes ran out).
 */
const MODULE_TIMEOUT_SECONDS = 6;
/** Live invites per user through the ad-hoc commands, in this file. */
const ADHOC_QUOTA = 3;

type ModuleOptions = Record<string, string | number | boolean | string[]>;

const luaValue = (v: ModuleOptions[string]): string =>
  Array.isArray(v) ? `{ ${v.map((e) => JSON.stringify(e)).join('; ')} }` : typeof v === 'string' ? JSON.stringify(v) : String(v);

const stackTarget = (): XmppTarget => {
  const p = stack().prosody;
  const c2sPort = Number(new URL(p.service.replace(/^xmpp:/, 'http:')).port);
  return { domain: p.domain, host: '127.0.0.1', port: c2sPort, caFile: p.caFile };
};

/**
 * Overrides module options for the stack's host (on top of `original`, the
 * configuration as the stack wrote it), then reloads the configuration and
 * the module (options are read when the module loads) through Prosody's own
 * admin commands. `undefined` restores `original`.
 */
const reconfigureProsody = async (original: string, options: ModuleOptions | undefined) => {
  const p = stack().prosody;
  const lines = Object.entries(options ?? {}).map(([k, v]) => `  ${k} = ${luaValue(v)}`);
  writeFileSync(
    p.configFile,
    options ? `${original}\n-- native.prosody.test.ts (removed when it ends)\nVirtualHost "${p.domain}"\n${lines.join('\n')}\n` : original
  );
  const admin = await LoggedInApp.login(stackTarget(), p.adminJid, p.adminPassword);
  try {
    const config = await admin.adhoc('http://prosody.im/protocol/config#reload', {});
    const modules = await admin.adhoc('http://prosody.im/protocol/modules#reload', { modules: 'xmpp_invites' });
    for (const step of [config, modules]) {
      if (step.status !== 'completed' || step.notes.some((n) => n.type === 'error')) {
        throw new Error(`Prosody reload failed: ${JSON.stringify(step.notes)} ${step.outcome.error?.condition ?? ''}`);
      }
    }
  } finally {
    admin.close();
  }
};

nativeAppContract('prosody', async () => {
  const p = stack().prosody;
  const c2sPort = Number(new URL(p.service.replace(/^xmpp:/, 'http:')).port);
  const target: XmppTarget = { domain: p.domain, host: '127.0.0.1', port: c2sPort, caFile: p.caFile };
  const service = await startInProcessService({ ...stack().env });
  const proxy = await startServiceProxy({ port: service.port });
  let openService: InProcessService | undefined;
  const original = readFileSync(p.configFile, 'utf8');
  const reconfigure = (options: ModuleOptions | undefined) => reconfigureProsody(original, options);
  let current = { inviteOnly: true, createAccountForEveryone: false };
  const settings = () => ({
    xmpp_invites_url: proxy.url,
    xmpp_invites_timeout: MODULE_TIMEOUT_SECONDS,
    xmpp_invites_max_live_invites: ADHOC_QUOTA,
    registration_invite_only: current.inviteOnly,
    // modules/README.md: how an operator lets every user run create-account.
    ...(current.createAccountForEveryone ? { xmpp_invites_allow_create_account: 'local_users' } : {}),
  });
  await reconfigure(settings());

  const admin = prosodyAdmin();
  return {
    domain: p.domain,
    c2sHost: target.host,
    c2sPort,
    caFile: p.caFile,
    adminJid: p.adminJid,
    adminPassword: p.adminPassword,
    operatorJid: p.operatorJid,
    operatorPassword: p.operatorPassword,
    otherDomain: 'other.example',
    admin,
    ...stackServiceParts(service.url),
    serviceTimeoutMs: MODULE_TIMEOUT_SECONDS * 1000,
    adhocQuota: ADHOC_QUOTA,
    setOpenRegistration: async (open) => {
      if (open) {
        openService ??= await startInProcessService({ ...stack().env, REGISTRATION_INVITE_ONLY: 'false' });
        proxy.setUpstream(openService.port);
      } else {
        proxy.setUpstream(service.port);
      }
      current = { ...current, inviteOnly: !open };
      await reconfigure(settings());
    },
    setCreateAccountForEveryone: async (open) => {
      current = { ...current, createAccountForEveryone: open };
      await reconfigure(settings());
    },
    serverLog: () => readFileSync(join(p.dir, 'prosody.log'), 'utf8'),
    breakService: async (mode) => proxy.setMode(mode),
    deleteAccount: async (jid) => {
      // XEP-0133 "Delete a User", as an operator's client does: Prosody fires user-deleted.
      const operator = await LoggedInApp.login(target, p.operatorJid, p.operatorPassword);
      try {
        const done = await operator.adhoc('http://jabber.org/protocol/admin#delete-user', { accountjids: jid });
        if (done.status !== 'completed' || done.notes.some((n) => n.type === 'error')) {
          throw new Error(`delete-user failed: ${JSON.stringify(done.notes)} ${done.outcome.error?.condition ?? ''}`);
        }
      } finally {
        operator.close();
      }
    },
    stop: async () => {
      await reconfigure(undefined).catch(() => undefined);
      await proxy.stop();
      await openService?.stop();
      await service.stop();
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
    const c2sPort = Number(new URL(p.service.replace(/^xmpp:/, 'http:')).port);
    const target: XmppTarget = { domain: p.domain, host: '127.0.0.1', port: c2sPort, caFile: p.caFile };
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
    await reconfigureProsody(original, undefined);
  });

  it('the obsolete xmpp_invites_allow_create = "admins" is read as xmpp_invites_allow_invite: it closes #invite, with a warning', async () => {
    // Prepare
    const user = await newUser('obsolete');
    const warnings = () =>
      prosodyLog()
        .split('\n')
        .filter((l) => l.includes('\twarn\txmpp_invites_allow_create is obsolete')).length;
    const before = warnings();
    await reconfigureProsody(original, { xmpp_invites_allow_create: 'admins' });
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
    await reconfigureProsody(original, { xmpp_invites_allow_create_account: [listed.jid] });
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
