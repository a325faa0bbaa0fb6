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
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prosodyAdmin, stack } from '../support/stack.js';
import { startInProcessService, startServiceProxy, type InProcessService } from '../support/serviceProxy.js';
import { LoggedInApp, type XmppTarget } from '../support/xmppApp.js';
import { nativeAppContract, stackServiceParts } from './nativeContract.js';

/**
 * The module's wait for the service in this file: short, so "slow service"
 * stays quick, yet above what a first call takes on two cores shared with
 * other test files (at 4 s a first XEP-0379 spend sometimes ran out).
 */
const MODULE_TIMEOUT_SECONDS = 6;
/** Live invites per user through the ad-hoc commands, in this file. */
const ADHOC_QUOTA = 3;

nativeAppContract('prosody', async () => {
  const p = stack().prosody;
  const c2sPort = Number(new URL(p.service.replace(/^xmpp:/, 'http:')).port);
  const target: XmppTarget = { domain: p.domain, host: '127.0.0.1', port: c2sPort, caFile: p.caFile };
  const service = await startInProcessService({ ...stack().env });
  const proxy = await startServiceProxy({ port: service.port });
  let openService: InProcessService | undefined;
  const original = readFileSync(p.configFile, 'utf8');

  /**
   * Overrides module options for this host, then reloads the configuration
   * and the module (options are read when the module loads) through
   * Prosody's own admin commands.
   */
  const reconfigure = async (options: Record<string, string | number | boolean> | undefined) => {
    const lines = Object.entries(options ?? {}).map(([k, v]) => `  ${k} = ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
    writeFileSync(
      p.configFile,
      options ? `${original}\n-- native.prosody.test.ts (removed when it ends)\nVirtualHost "${p.domain}"\n${lines.join('\n')}\n` : original
    );
    const admin = await LoggedInApp.login(target, p.adminJid, p.adminPassword);
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
  const settings = (inviteOnly: boolean) => ({
    xmpp_invites_url: proxy.url,
    xmpp_invites_timeout: MODULE_TIMEOUT_SECONDS,
    xmpp_invites_max_live_invites: ADHOC_QUOTA,
    registration_invite_only: inviteOnly,
  });
  await reconfigure(settings(true));

  const admin = prosodyAdmin();
  return {
    domain: p.domain,
    c2sHost: target.host,
    c2sPort,
    caFile: p.caFile,
    adminJid: p.adminJid,
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
      await reconfigure(settings(!open));
    },
    serverLog: () => readFileSync(join(p.dir, 'prosody.log'), 'utf8'),
    breakService: async (mode) => proxy.setMode(mode),
    deleteAccount: async (jid) => {
      // XEP-0133 "Delete a User", as an operator's client does: Prosody fires user-deleted.
      const operator = await LoggedInApp.login(target, p.adminJid, p.adminPassword);
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
