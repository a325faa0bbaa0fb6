/**
 * The native-app contract (nativeContract.ts) against a private ejabberd
 * 23.01 with modules/ejabberd/mod_xmpp_invites loaded (compiled here with
 * erlc), plus what is ejabberd's own: the build, the per-address preauth
 * throttle, settings changed on a running server.
 *
 * The server, the functions it reaches and the proxy between them are set
 * up by test/support/nativeServers.ts (shared with native.ejabberd24.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInvitesModule } from '../../scripts/local/ejabberd.js';
import { MODULE_TIMEOUT_MS, startEjabberdNative, type EjabberdNative } from '../support/nativeServers.js';
import { uniqueName } from '../support/stack.js';
import { appCanLogin, appPassword, AppSession, LoggedInApp, registerWithApp, XmppStream, type XmppTarget } from '../support/xmppApp.js';
import { nativeAppContract } from './nativeContract.js';

/** The domain of startEjabberdNative's default server. */
const DOMAIN = 'ejnative.localhost';

let native: EjabberdNative;
beforeAll(async () => {
  native = await startEjabberdNative();
}, 180_000);
afterAll(async () => {
  await native?.shutdown();
});

// One ejabberd for the contract and the tests below: the contract's stop() is a no-op.
nativeAppContract('ejabberd', async () => native);

const target = (): XmppTarget => ({ domain: DOMAIN, host: '127.0.0.1', port: native.c2sPort, caFile: native.caFile });
const INVALID_TOKEN = { type: 'cancel', condition: 'item-not-found', text: 'Invalid or expired invite token' };
const INVITE_ONLY = { type: 'modify', condition: 'not-acceptable', text: 'Registration on this server is through invitation only' };

describe('mod_xmpp_invites on ejabberd 23.01', () => {
  it('is compiled once per source: a second build reuses the cached beam, and it loads without errors', () => {
    // Act
    const first = buildInvitesModule();
    const started = performance.now();
    const second = buildInvitesModule();

    // Assess
    expect(second).toBe(first);
    expect(performance.now() - started).toBeLessThan(200);
    expect(native.ej.log()).not.toMatch(/mod_xmpp_invites[^\n]*(error|crash|undef)/i);
  });

  it('throttles preauth per client address: past the limit a wait answer that spends nothing', async () => {
    // Prepare
    const invite = await native.issue({});
    native.ej.setInvites({ preauthPerMinute: 2 });
    const answers = [];
    try {
      // Act: five from one address (even across a minute boundary, one window gets three).
      for (let i = 0; i < 5; i++) {
        const session = await AppSession.open('monal', target());
        answers.push((await session.preauth('AAAAAAAAAAAAAAAAAAAAAAAA')).error);
        session.close();
      }
    } finally {
      native.ej.setInvites({ preauthPerMinute: 0 });
    }
    const later = await registerWithApp('monal', target(), { token: invite.token, username: uniqueName('calm'), password: appPassword() });

    // Assess
    expect(answers[0]).toEqual(INVALID_TOKEN);
    expect(answers).toContainEqual({ type: 'wait', condition: 'resource-constraint', text: expect.any(String) });
    expect(later.verdict).toBe('registered');
  });

  it('throttles subscriptions carrying tokens per sender: past the limit the service is not asked, and another sender is not affected', async () => {
    // Prepare: a contact per bogus subscription (ejabberd asks the service once per new request, not per repeat).
    const user = async (prefix: string) => {
      const u = { jid: `${uniqueName(prefix)}@${DOMAIN}`, password: appPassword() };
      await native.admin.createAccount(u.jid, u.password);
      return u;
    };
    const romeo = await user('romeo');
    const mallory = await user('mallory');
    const juliet = await user('juliet');
    const strangers = await Promise.all(Array.from({ length: 4 }, () => user('stranger')));
    const forMallory = await native.issue({ type: 'contact', inviter: romeo.jid });
    const forJuliet = await native.issue({ type: 'contact', inviter: romeo.jid });
    native.ej.setInvites({ subscribePerMinute: 2 });
    // Fixed one-minute windows: start well inside one, so the whole burst shares it.
    const intoWindow = Math.floor(Date.now() / 1000) % 60;
    if (intoWindow > 45) await new Promise((resolve) => setTimeout(resolve, (61 - intoWindow) * 1000));
    const app = await LoggedInApp.login(target(), mallory.jid, mallory.password);
    const other = await LoggedInApp.login(target(), juliet.jid, juliet.password);
    let approvedMallory;
    let approvedJuliet;
    try {
      // Act: bogus tokens spend mallory's budget; then a real one.
      for (const [i, stranger] of strangers.entries()) await app.subscribeWithPreauth(stranger.jid, `${'A'.repeat(23)}${i}`);
      await app.subscribeWithPreauth(romeo.jid, forMallory.token);
      approvedMallory = await app.presenceFrom(romeo.jid, 'subscribed', MODULE_TIMEOUT_MS + 2000);
      await other.subscribeWithPreauth(romeo.jid, forJuliet.token);
      approvedJuliet = await other.presenceFrom(romeo.jid, 'subscribed', MODULE_TIMEOUT_MS + 5000);
    } finally {
      app.close();
      other.close();
      native.ej.setInvites({ subscribePerMinute: 0 });
    }

    // Assess
    expect(approvedMallory).toBeUndefined();
    expect(await native.invite(forMallory.id)).toMatchObject({ uses: 0, status: 'valid' });
    expect(native.ej.log()).toContain('Too many subscriptions with invite tokens from');
    expect(approvedJuliet).toBeDefined();
    expect(await native.invite(forJuliet.id)).toMatchObject({ uses: 1 });
  });

  it("open registration stays closed where mod_register's access is none, and iq-register is still advertised", async () => {
    // Prepare
    await native.setOpenRegistration(true);
    native.ej.setInvites({ registerAccess: 'none' });
    const username = uniqueName('closed');
    let result;
    let features;
    try {
      // Act
      result = await registerWithApp('siskin', target(), { username, password: appPassword() });
      const session = await AppSession.open('conversations', target());
      features = session.features;
      session.close();
    } finally {
      native.ej.setInvites({ registerAccess: 'all' });
      await native.setOpenRegistration(false);
    }

    // Assess
    expect(result.register?.error).toEqual(INVITE_ONLY);
    expect(await native.admin.accountExists(`${username}@${DOMAIN}`)).toBe(false);
    expect(features).toEqual({ invite: true, ibrToken: true, iqRegister: true });
  });

  it('refuses preauth and registration on a stream that stayed in plaintext, and spends nothing', async () => {
    // Prepare: a listener where STARTTLS is optional (the contract's server requires it).
    const invite = await native.issue({});
    const username = uniqueName('plain');
    const plain = await XmppStream.open({ ...target(), port: native.ej.optionalTlsPort as number }, { tls: false });
    let preauth;
    let registration;
    try {
      // Act
      preauth = await plain.iq({ type: 'set', to: DOMAIN }, `<preauth xmlns='urn:xmpp:pars:0' token='${invite.token}'/>`, 10_000);
      registration = await plain.iq(
        { type: 'set', to: DOMAIN },
        `<query xmlns='jabber:iq:register'><username>${username}</username><password>${appPassword()}</password></query>`,
        10_000
      );
    } finally {
      plain.close();
    }

    // Assess
    expect(plain.secure).toBe(false);
    expect([preauth.type, preauth.error?.condition]).toEqual(['error', 'policy-violation']);
    expect([registration.type, registration.error?.condition]).toEqual(['error', 'policy-violation']);
    expect(await native.admin.accountExists(`${username}@${DOMAIN}`)).toBe(false);
    expect(await native.invite(invite.id)).toMatchObject({ uses: 0, status: 'valid' });
    expect(native.ej.log()).not.toContain(invite.token);
  });

  it('who may invite is an access rule: with invite_access none, #invite is neither listed, described nor run', async () => {
    // Prepare
    const jid = `${uniqueName('plainuser')}@${DOMAIN}`;
    const password = appPassword();
    await native.admin.createAccount(jid, password);
    native.ej.setInvites({ inviteAccess: 'none' });
    let commands: string[] = [];
    let refused;
    let described;
    try {
      const app = await LoggedInApp.login(target(), jid, password);
      try {
        // Act
        commands = await app.commands();
        refused = await app.adhoc('urn:xmpp:invite#invite');
        described = await app.stream.iq(
          { type: 'get', to: DOMAIN },
          "<query xmlns='http://jabber.org/protocol/disco#info' node='urn:xmpp:invite#invite'/>"
        );
      } finally {
        app.close();
      }
    } finally {
      native.ej.setInvites({ inviteAccess: undefined });
    }

    // Assess
    expect(commands).not.toContain('urn:xmpp:invite#invite');
    expect([refused.outcome.type, refused.outcome.error?.condition]).toEqual(['error', 'forbidden']);
    expect(refused.fields.uri).toBeUndefined();
    expect([described.type, described.error?.condition]).toEqual(['error', 'forbidden']);
  });

  it('refuses a plain http:// service URL to a host that is not loopback: one error line, nothing sent, apps told to wait', async () => {
    // Prepare: a host the module must not send the key to in clear (TEST-NET-1, nothing answers there).
    const invite = await native.issue({});
    const refusals = () =>
      readFileSync(join(native.ej.dir, 'logs', 'ejabberd.log'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('refuses its url: plain http:// is allowed only to a loopback host')).length;
    const before = refusals();
    native.ej.setInvites({ url: 'http://192.0.2.1:9' });
    let preauth;
    let started = 0;
    try {
      const session = await AppSession.open('monal', target());
      try {
        // Act
        started = performance.now();
        preauth = await session.preauth(invite.token, 20_000);
      } finally {
        session.close();
      }
    } finally {
      native.ej.setInvites({ url: native.proxy.url });
    }
    const elapsed = performance.now() - started;

    // Assess: answered at once, not after trying 192.0.2.1 until the timeout.
    expect(preauth.error).toMatchObject({ type: 'wait', condition: 'resource-constraint' });
    expect(elapsed).toBeLessThan(MODULE_TIMEOUT_MS / 2);
    expect(refusals() - before).toBe(1);
    expect(await native.invite(invite.id)).toMatchObject({ uses: 0, status: 'valid' });
  });

  it("hides the passwords of the service's API calls (hide_sensitive_log_data): register, change_password, check_password", async () => {
    // Prepare
    const username = uniqueName('hidden');
    const password = appPassword();
    const newPassword = appPassword();
    const invite = await native.issue({});

    // Act: a redeem (register), a reset (change_password), a password check.
    const registered = await registerWithApp('conversations', target(), { token: invite.token, username, password });
    const reset = await native.issue({ type: 'reset', username });
    const resetDone = await registerWithApp('siskin', target(), { token: reset.token, username, password: newPassword });
    const checked = await native.admin.verifyPassword(`${username}@${DOMAIN}`, newPassword);

    // Assess
    expect([registered.verdict, resetDone.verdict, checked]).toEqual(['registered', 'registered', true]);
    const log = native.ej.log();
    // The calls were logged (at info), so the check below looks at them.
    expect(log).toMatch(/API call register/);
    expect(log).toMatch(/API call change_password/);
    expect(log).toMatch(/API call check_password/);
    expect(log).not.toContain(password);
    expect(log).not.toContain(newPassword);
  });

  it('a preset-username invite offers its username in both registration forms', async () => {
    // Prepare
    const username = uniqueName('offered');
    const invite = await native.issue({ username });
    const session = await AppSession.open('siskin', target());
    let form;
    try {
      expect((await session.preauth(invite.token)).type).toBe('result');

      // Act
      form = await session.form();
    } finally {
      session.close();
    }

    // Assess
    expect(form.legacy).toEqual(expect.arrayContaining(['username', 'password']));
    expect(form.dataForm?.find((f) => f.var === 'username')?.values).toEqual([username]);
    expect(await appCanLogin(target(), `${username}@${DOMAIN}`, 'x')).toBe(false);
  });
});
