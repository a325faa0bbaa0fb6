/**
 * The native-app contract: what Conversations, Monal and Siskin get from a
 * server running our module (modules/README.md), written once and run
 * against each real server (native.prosody.test.ts, native.ejabberd.test.ts),
 * the way provisionerContract.ts runs the provisioners.
 *
 * The apps are scripted (test/support/xmppApp.ts) and send exactly what the
 * real ones send; the service, DynamoDB Local and the XMPP server are real.
 * Every token the suite handles is remembered, and the last test checks that
 * none of them reached the server's log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RosterItem, XmppProvisioner } from '../../lib/ports/XmppProvisioner.js';
import { api, expireInvite, stack, uniqueName } from '../support/stack.js';
import {
  APPS,
  AppSession,
  LoggedInApp,
  XmppStream,
  appCanLogin,
  appPassword,
  inviteFeatures,
  registerWithApp,
  type AppName,
  type RegistrationResult,
  type XmppTarget,
} from '../support/xmppApp.js';

/** What the contract needs from one real XMPP server running our module. */
export interface NativeServer {
  domain: string;
  c2sHost: string;
  c2sPort: number;
  caFile: string;
  /** The account the service provisions with (an inviter like any other), an admin of the server. */
  adminJid: string;
  adminPassword: string;
  /**
   * Another admin of the server, not the provisioning account (the service
   * never issues invites in the provisioning account's name): how a person
   * administers the server, e.g. runs create-account.
   */
  operatorJid: string;
  operatorPassword: string;
  /** A domain the service serves that this server does not host (its tokens must be refused here). */
  otherDomain: string;
  /** An admin XmppProvisioner on that server, to create users and read rosters. */
  admin: XmppProvisioner;
  /** Issues an invite through the service (`POST /invites` body). */
  issue(body: Record<string, unknown>): Promise<{ token: string; uri: string; id: string }>;
  /** The service's web redeem for the same invite. */
  webRedeem(token: string, username: string, password: string): Promise<{ status: number; body: any }>;
  /** The admin view of an invite (`GET /invites/by-id/{id}`). */
  invite(id: string): Promise<InviteCounters>;
  revoke(id: string): Promise<void>;
  /** The lineage of an account (`GET /lineage/{jid}?depth=N`). */
  lineage(jid: string, depth: number): Promise<any>;
  /** Suspends an account (`POST /lineage/{jid}/suspend`): it may invite no one until lifted. */
  suspend(jid: string): Promise<void>;
  /** Makes the invite expired the way time would (expiresAt in the past). */
  expire(id: string): Promise<void>;
  /** The module's wait for the service (its configured timeout), in ms. */
  serviceTimeoutMs: number;
  /** Live invites one user may hold through the ad-hoc commands (the module's setting on this server). */
  adhocQuota: number;
  /**
   * Who may run urn:xmpp:invite#create-account: the module's default (admins
   * only), or widened to every local user the way modules/README.md tells
   * operators to.
   */
  setCreateAccountForEveryone(open: boolean): Promise<void>;
  /** Registration without a token: the module and the service both invite-only (false) or both open (true). */
  setOpenRegistration(open: boolean): Promise<void>;
  serverLog(): string;
  /** Makes the service unreachable (`down`) or unresponsive (`slow`) for the module, and back (`ok`). */
  breakService(mode: 'down' | 'slow' | 'ok'): Promise<void>;
  stop(): Promise<void>;
  /** Deletes an account the way the server's operator does (the module hears it and tells the service). */
  deleteAccount(jid: string): Promise<void>;
}

export interface InviteCounters {
  status: string;
  uses: number;
  pending: number;
  completed: number;
  usesLeft: number | null;
}

/**
 * The service parts of a NativeServer over the service's HTTP API (the shared
 * stack's by default, or the same functions served elsewhere) and DynamoDB
 * Local: issue, web redeem, show, revoke, expire. `defaults` go into every
 * issue request (an ejabberd domain, say).
 */
export const stackServiceParts = (
  baseUrl: string = stack().baseUrl,
  apiKey: string = stack().apiKey,
  defaults: Record<string, unknown> = {}
): Pick<NativeServer, 'issue' | 'webRedeem' | 'invite' | 'revoke' | 'expire' | 'lineage' | 'suspend'> => {
  const call = (method: string, path: string, body?: unknown, auth = true) => api(method, path, { body, auth: auth && apiKey, baseUrl });
  return {
    issue: async (body) => {
      const res = await call('POST', '/invites', { ...defaults, ...body });
      if (res.status !== 201) throw new Error(`issue failed: ${res.status} ${res.text}`);
      return res.body;
    },
    webRedeem: async (token, username, password) => {
      const res = await call('POST', `/invites/${token}/redeem`, { username, password }, false);
      return { status: res.status, body: res.body };
    },
    invite: async (id) => {
      const res = await call('GET', `/invites/by-id/${id}`);
      if (res.status !== 200) throw new Error(`show failed: ${res.status} ${res.text}`);
      return res.body;
    },
    revoke: async (id) => {
      const res = await call('DELETE', `/invites/${id}`);
      if (res.status >= 300) throw new Error(`revoke failed: ${res.status} ${res.text}`);
    },
    expire: expireInvite,
    lineage: async (jid, depth) => {
      const res = await call('GET', `/lineage/${encodeURIComponent(jid)}?depth=${depth}`);
      if (res.status !== 200) throw new Error(`lineage failed: ${res.status} ${res.text}`);
      return res.body;
    },
    suspend: async (jid) => {
      const res = await call('POST', `/lineage/${encodeURIComponent(jid)}/suspend`, {});
      if (res.status !== 200) throw new Error(`suspend failed: ${res.status} ${res.text}`);
    },
  };
};

const INVALID_TOKEN = { type: 'cancel', condition: 'item-not-found', text: 'Invalid or expired invite token' };
const INVITE_ONLY = { type: 'modify', condition: 'not-acceptable', text: 'Registration on this server is through invitation only' };

/** Polls until `check` passes (rosters settle asynchronously on some servers). */
const eventually = async <T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 10_000): Promise<T> => {
  const until = Date.now() + timeoutMs;
  let value = await read();
  while (!check(value) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 250));
    value = await read();
  }
  return value;
};

const subscriptionTo = (roster: RosterItem[], jid: string) => roster.find((i) => i.jid === jid)?.subscription ?? 'absent';

const tokenOf = (uri: string): string => {
  const m = /[;?&]preauth=([^;&]+)/.exec(uri);
  if (!m?.[1]) throw new Error(`no preauth token in ${uri}`);
  return decodeURIComponent(m[1]);
};

export const nativeAppContract = (serverName: string, setup: () => Promise<NativeServer>) => {
  describe(`native apps against ${serverName} with our module`, () => {
    let s: NativeServer;
    let target: XmppTarget;
    const seenTokens = new Set<string>();
    const jidOf = (local: string) => `${local}@${s.domain}`;

    /** Issues through the service and remembers the token for the log check. */
    const issue = async (body: Record<string, unknown>) => {
      const invite = await s.issue({ domain: s.domain, ...body });
      seenTokens.add(invite.token);
      return invite;
    };
    const newUser = async (prefix: string, password = appPassword()) => {
      const jid = jidOf(uniqueName(prefix));
      await s.admin.createAccount(jid, password);
      return { jid, password };
    };
    const register = (app: AppName, token: string | undefined, username: string, password: string) => {
      if (token) seenTokens.add(token);
      // The module waits up to its timeout per call to the service, longer for a registration.
      return registerWithApp(app, target, { token, username, password, timeoutMs: s.serviceTimeoutMs * 3 + 5000 });
    };
    const rostersBoth = async (a: string, b: string) => {
      const [ra, rb] = await Promise.all([
        eventually(
          () => s.admin.getRoster(a),
          (r) => subscriptionTo(r, b) === 'both'
        ),
        eventually(
          () => s.admin.getRoster(b),
          (r) => subscriptionTo(r, a) === 'both'
        ),
      ]);
      return [subscriptionTo(ra, b), subscriptionTo(rb, a)];
    };
    const expectRegistered = (r: RegistrationResult) => {
      expect({ verdict: r.verdict, preauth: r.preauth?.error, register: r.register?.error }).toEqual({
        verdict: 'registered',
        preauth: undefined,
        register: undefined,
      });
      // The app actually sent its preauth: the server advertised what it needs.
      expect(r.preauth?.type).toBe('result');
    };

    beforeAll(async () => {
      s = await setup();
      target = { domain: s.domain, host: s.c2sHost, port: s.c2sPort, caFile: s.caFile };
    });
    afterAll(async () => {
      await s?.breakService('ok').catch(() => undefined);
      await s?.stop();
    });

    describe('stream features', () => {
      it('a TLS stream advertises both invite features and in-band registration', async () => {
        // Act
        const session = await AppSession.open('conversations', target);
        const features = session.features;
        session.close();

        // Assess
        expect(features).toEqual({ invite: true, ibrToken: true, iqRegister: true });
      });

      it('a plaintext stream offers no invite feature and gets no answer but an error to a preauth', async () => {
        // Prepare
        const invite = await issue({});
        const plain = await XmppStream.open(target, { tls: false });

        // Act
        const features = inviteFeatures(plain);
        const preauth = await plain.iq({ type: 'set', to: s.domain }, `<preauth xmlns='urn:xmpp:pars:0' token='${invite.token}'/>`, 10_000);
        plain.close();

        // Assess
        expect(features.invite || features.ibrToken).toBe(false);
        expect(preauth.type).not.toBe('result');
        expect(await s.invite(invite.id)).toMatchObject({ uses: 0, status: 'valid' });
      });
    });

    describe.each(APPS)('%s registers from an invite URI, then logs in', (app) => {
      it('with an account invite: the account exists and the rosters read both with the inviter', async () => {
        // Prepare
        const inviter = await newUser('inviter');
        const invite = await issue({ inviter: inviter.jid });
        const username = uniqueName(app.slice(0, 4));
        const password = appPassword();

        // Act
        const result = await register(app, invite.token, username, password);

        // Assess
        expectRegistered(result);
        expect(await appCanLogin(target, jidOf(username), password)).toBe(true);
        expect(await rostersBoth(inviter.jid, jidOf(username))).toEqual(['both', 'both']);
        expect(await s.invite(invite.id)).toMatchObject({ uses: 1, pending: 0, completed: 1, status: 'used' });
      });

      it('with a preset-username invite: the account has the preset name', async () => {
        // Prepare
        const username = uniqueName('preset');
        const invite = await issue({ username });
        const password = appPassword();

        // Act
        const result = await register(app, invite.token, username, password);

        // Assess
        expectRegistered(result);
        expect(await appCanLogin(target, jidOf(username), password)).toBe(true);
      });

      it('with a contact invite (ibr=y): registered, and both rosters read both', async () => {
        // Prepare
        const inviter = await newUser('romeo');
        const invite = await issue({ type: 'contact', inviter: inviter.jid });
        expect(invite.uri).toContain(';ibr=y');
        const username = uniqueName('juliet');
        const password = appPassword();

        // Act
        const result = await register(app, invite.token, username, password);

        // Assess
        expectRegistered(result);
        expect(await appCanLogin(target, jidOf(username), password)).toBe(true);
        expect(await rostersBoth(inviter.jid, jidOf(username))).toEqual(['both', 'both']);
        if (app === 'conversations') {
          // Conversations then logs in and sends the XEP-0379 subscribe with the
          // token it just used: harmless, nothing spent twice. (Whether the
          // server echoes `subscribed` to an existing `both` differs between
          // servers and is not the point.)
          const session = await LoggedInApp.login(target, jidOf(username), password);
          try {
            await session.subscribeWithPreauth(inviter.jid, invite.token);
            await session.sync(s.serviceTimeoutMs * 3 + 5000);
          } finally {
            session.close();
          }
          expect(await rostersBoth(inviter.jid, jidOf(username))).toEqual(['both', 'both']);
        }
        expect(await s.invite(invite.id)).toMatchObject({ uses: 1, pending: 0, completed: 1 });
      });

      it('with a reset invite: the new password logs in, the old one does not', async () => {
        // Prepare
        const user = await newUser('forgetful', 'the old password 1');
        const username = user.jid.split('@')[0] as string;
        const invite = await issue({ type: 'reset', username });
        const password = appPassword();

        // Act
        const result = await register(app, invite.token, username, password);

        // Assess
        expectRegistered(result);
        expect(await appCanLogin(target, user.jid, password)).toBe(true);
        expect(await appCanLogin(target, user.jid, 'the old password 1')).toBe(false);
      });
    });

    it('an invite from the provisioning account: both rosters read both', async () => {
      // Prepare
      const invite = await issue({ inviter: s.adminJid });
      const username = uniqueName('newbie');

      // Act
      const result = await register('conversations', invite.token, username, appPassword());

      // Assess
      expectRegistered(result);
      expect(await rostersBoth(s.adminJid, jidOf(username))).toEqual(['both', 'both']);
    });

    describe('errors, as the apps map them', () => {
      const refusedAtPreauth = async (token: string) => {
        const results = [];
        for (const app of APPS) results.push(await register(app, token, uniqueName('nope'), appPassword()));
        return results;
      };

      it('an unknown token: every app gets cancel/item-not-found at preauth', async () => {
        // Act
        const results = await refusedAtPreauth('AAAAAAAAAAAAAAAAAAAAAAAA');

        // Assess
        for (const r of results) {
          expect([r.app, r.verdict, r.preauth?.error]).toEqual([r.app, 'invalid-token', INVALID_TOKEN]);
          expect(r.register).toBeUndefined();
        }
      });

      it('an expired, a used and a revoked token: item-not-found at preauth, nothing created', async () => {
        // Prepare
        const expired = await issue({});
        await s.expire(expired.id);
        const used = await issue({});
        expect((await s.webRedeem(used.token, uniqueName('web'), appPassword())).status).toBe(201);
        const revoked = await issue({});
        await s.revoke(revoked.id);
        const username = uniqueName('late');

        // Act
        const results = await Promise.all([expired, used, revoked].map((i) => register('monal', i.token, username, appPassword())));

        // Assess
        for (const r of results) expect([r.verdict, r.preauth?.error]).toEqual(['invalid-token', INVALID_TOKEN]);
        expect(await s.admin.accountExists(jidOf(username))).toBe(false);
        expect((await s.invite(used.id)).uses).toBe(1);
      });

      it('a token of another domain: item-not-found, as if it did not exist', async () => {
        // Prepare
        const foreign = await issue({ domain: s.otherDomain });

        // Act
        const result = await register('siskin', foreign.token, uniqueName('foreign'), appPassword());

        // Assess
        expect([result.verdict, result.preauth?.error]).toEqual(['invalid-token', INVALID_TOKEN]);
        expect(await s.invite(foreign.id)).toMatchObject({ uses: 0, status: 'valid' });
      });

      it('a taken username: cancel/conflict, and the invite is still usable', async () => {
        // Prepare
        const existing = await newUser('taken');
        const invite = await issue({});

        // Act
        const result = await register('conversations', invite.token, existing.jid.split('@')[0] as string, appPassword());
        const retry = await register('conversations', invite.token, uniqueName('second'), appPassword());

        // Assess
        expect([result.verdict, result.register?.error?.type, result.register?.error?.condition]).toEqual([
          'conflict',
          'cancel',
          'conflict',
        ]);
        expect(retry.verdict).toBe('registered');
      });

      it("a weak password: modify/not-acceptable with Conversations' exact text, nothing spent", async () => {
        // Prepare
        const invite = await issue({});
        const username = uniqueName('weak');

        // Act
        const result = await register('conversations', invite.token, username, 'aaaa');

        // Assess
        expect(result.register?.error).toEqual({ type: 'modify', condition: 'not-acceptable', text: 'The password is too weak' });
        expect(result.verdict).toBe('weak-password');
        expect(await s.admin.accountExists(jidOf(username))).toBe(false);
        expect(await s.invite(invite.id)).toMatchObject({ uses: 0, pending: 0, usesLeft: 1 });
      });

      it('a username other than the preset one: modify/not-acceptable, no account, the invite still usable', async () => {
        // Prepare
        const preset = uniqueName('preset');
        const invite = await issue({ username: preset });
        const other = uniqueName('other');

        // Act
        const result = await register('monal', invite.token, other, appPassword());
        const right = await register('monal', invite.token, preset, appPassword());

        // Assess
        expect([result.register?.error?.type, result.register?.error?.condition]).toEqual(['modify', 'not-acceptable']);
        expect(await s.admin.accountExists(jidOf(other))).toBe(false);
        expect(right.verdict).toBe('registered');
      });

      it('registration without a token while invite-only: refused with the invite-only condition and text', async () => {
        // Prepare
        const username = uniqueName('open');

        // Act
        const results = await Promise.all(APPS.map((app) => register(app, undefined, `${username}${app.slice(0, 1)}`, appPassword())));

        // Assess
        for (const r of results) expect([r.app, r.register?.error]).toEqual([r.app, INVITE_ONLY]);
        for (const app of APPS) expect(await s.admin.accountExists(jidOf(`${username}${app.slice(0, 1)}`))).toBe(false);
      });

      it('registration without a token while open: the account is created through the service', async () => {
        // Prepare
        await s.setOpenRegistration(true);
        const username = uniqueName('free');
        const password = appPassword();
        let result: RegistrationResult;
        let weak: RegistrationResult;
        try {
          // Act
          result = await register('siskin', undefined, username, password);
          // The service's rules hold for open registration too.
          weak = await register('conversations', undefined, uniqueName('free'), 'aaaa');
        } finally {
          await s.setOpenRegistration(false);
        }

        // Assess
        expect(result.verdict).toBe('registered');
        expect(await appCanLogin(target, jidOf(username), password)).toBe(true);
        expect(weak.verdict).toBe('weak-password');
      });

      it('a second registration on the same stream after a success: refused, one account', async () => {
        // Prepare
        const invite = await issue({ maxUses: 5 });
        const session = await AppSession.open('conversations', target);
        const first = uniqueName('first');
        const second = uniqueName('second');
        let again;
        try {
          const done = await session.registerWithInvite(invite.token, first, appPassword());
          expect(done.verdict).toBe('registered');

          // Act
          again = await session.register(second, appPassword());
        } finally {
          session.close();
        }

        // Assess
        expect(again.type).toBe('error');
        expect(await s.admin.accountExists(jidOf(second))).toBe(false);
        expect(await s.invite(invite.id)).toMatchObject({ uses: 1 });
      });
    });

    describe('the service unreachable or slow', () => {
      afterAll(async () => {
        await s.breakService('ok');
      });

      it.each(['down', 'slow'] as const)('service %s at preauth: a bounded wait answer, and the invite still works after', async (mode) => {
        // Prepare
        const invite = await issue({});
        await s.breakService(mode);
        let result: RegistrationResult;
        try {
          // Act
          result = await register('conversations', invite.token, uniqueName('patient'), appPassword());
        } finally {
          await s.breakService('ok');
        }
        const later = await register('conversations', invite.token, uniqueName('later'), appPassword());

        // Assess
        expect(result.preauth?.type).toBe('error');
        expect(result.preauth?.error?.type).toBe('wait');
        expect(result.preauth?.error?.condition).toBe('resource-constraint');
        expect(result.preauth?.ms).toBeLessThan(s.serviceTimeoutMs + 3000);
        expect(later.verdict).toBe('registered');
      });

      it('service down at registration: a wait answer, nothing spent, the same app succeeds after', async () => {
        // Prepare
        const invite = await issue({});
        const username = uniqueName('retry');
        const password = appPassword();
        const session = await AppSession.open('conversations', target);
        let failed;
        try {
          expect((await session.preauth(invite.token)).type).toBe('result');
          const form = await session.form();
          await s.breakService('down');
          try {
            // Act
            failed = await session.register(username, password, form);
          } finally {
            await s.breakService('ok');
          }
        } finally {
          session.close();
        }
        const retried = await register('conversations', invite.token, username, password);

        // Assess
        expect([failed.error?.type, failed.error?.condition]).toEqual(['wait', 'internal-server-error']);
        expect(retried.verdict).toBe('registered');
        expect(await appCanLogin(target, jidOf(username), password)).toBe(true);
        expect(await s.invite(invite.id)).toMatchObject({ uses: 1, pending: 0, completed: 1 });
      });

      it('only the waiting session pauses: others log in while the service stalls', async () => {
        // Prepare
        const user = await newUser('busy');
        const invite = await issue({});
        await s.breakService('slow');
        try {
          const stalled = register('monal', invite.token, uniqueName('stalled'), appPassword());
          await new Promise((r) => setTimeout(r, 300));

          // Act
          const started = Date.now();
          const ok = await appCanLogin(target, user.jid, user.password);
          const tookMs = Date.now() - started;

          // Assess
          expect(ok).toBe(true);
          expect(tookMs).toBeLessThan(s.serviceTimeoutMs);
          expect((await stalled).verdict).toBe('wait');
        } finally {
          await s.breakService('ok');
        }
      });
    });

    it('exactly once across paths: 20 apps and 20 web redeems on a 3-use invite make 3 accounts', async () => {
      // Prepare
      const invite = await issue({ maxUses: 3 });
      const attempts = Array.from({ length: 20 }, (_, i) => ({
        app: APPS[i % APPS.length] as AppName,
        username: uniqueName('viaapp'),
        password: appPassword(),
      }));
      const webNames = Array.from({ length: 20 }, () => uniqueName('viaweb'));

      // Act
      const [raced, web] = await Promise.all([
        Promise.all(attempts.map((a) => register(a.app, invite.token, a.username, a.password))),
        Promise.all(webNames.map((u) => s.webRedeem(invite.token, u, appPassword()))),
      ]);
      // An app told "try later" (the service slower than the module's wait
      // on a loaded machine) tries again with the same details, as its user
      // would: a redemption the service finished meanwhile resumes, it never
      // makes a fourth account.
      const apps = await Promise.all(
        raced.map((r, i) => {
          const a = attempts[i] as (typeof attempts)[number];
          return r.verdict === 'wait' ? register(a.app, invite.token, a.username, a.password) : r;
        })
      );

      // Assess
      // One at a time: 40 parallel admin calls right after the race can outwait a busy server's API.
      const exists: boolean[] = [];
      for (const u of [...attempts.map((a) => a.username), ...webNames]) exists.push(await s.admin.accountExists(jidOf(u)));
      expect(exists.filter(Boolean)).toHaveLength(3);
      const registered = apps.filter((r) => r.verdict === 'registered').length + web.filter((r) => r.status === 201).length;
      expect(registered).toBe(3);
      expect(web.filter((r) => r.status >= 500)).toEqual([]);
      for (const r of web.filter((x) => x.status !== 201)) expect([409, 410]).toContain(r.status);
      // An app that lost the race is told so ("invalid token", a refused
      // registration or "please wait"), never with a server error of another type.
      for (const r of apps.filter((x) => x.verdict !== 'registered')) {
        const error = r.register?.error ?? r.preauth?.error;
        expect(error).toBeDefined();
        if (error?.condition === 'internal-server-error') expect(error.type).toBe('wait');
      }
      expect(await s.invite(invite.id)).toMatchObject({ uses: 3, pending: 0, completed: 3, usesLeft: 0, status: 'used' });
    }, 180_000);

    describe('XEP-0379: a roster invite opened by someone who already has an account', () => {
      it('a subscription carrying the token is approved and returned: both rosters read both, the invite spent', async () => {
        // Prepare
        const romeo = await newUser('romeo');
        const juliet = await newUser('juliet');
        const invite = await issue({ type: 'contact', inviter: romeo.jid });
        const app = await LoggedInApp.login(target, juliet.jid, juliet.password);
        try {
          // Act
          await app.subscribeWithPreauth(romeo.jid, invite.token);
          const subscribed = await app.presenceFrom(romeo.jid, 'subscribed', s.serviceTimeoutMs + 5000);

          // Assess
          const seen = app.stream.received.map((el) => el.toString()).join('\n');
          expect(subscribed, `no subscribed from ${romeo.jid}; received:\n${seen}`).toBeDefined();
          expect(await rostersBoth(romeo.jid, juliet.jid)).toEqual(['both', 'both']);
        } finally {
          app.close();
        }
        expect(await s.invite(invite.id)).toMatchObject({ uses: 1, pending: 0 });
      });

      it('an approval does not outlive the invite: after romeo removes mallory, her old token approves nothing, live or revoked', async () => {
        // Prepare: mallory is approved once, then romeo removes her.
        const romeo = await newUser('romeo');
        const mallory = await newUser('mallory');
        const invite = await issue({ type: 'contact', inviter: romeo.jid, maxUses: 5 });
        const subscribe = async (whileOnline?: () => Promise<void>) => {
          const app = await LoggedInApp.login(target, mallory.jid, mallory.password);
          try {
            await app.subscribeWithPreauth(romeo.jid, invite.token);
            const subscribed = await app.presenceFrom(romeo.jid, 'subscribed', s.serviceTimeoutMs + 3000);
            // Online, her app approves romeo's subscription back.
            await whileOnline?.();
            return subscribed;
          } finally {
            app.close();
          }
        };
        const first = await subscribe(async () => {
          expect(await rostersBoth(romeo.jid, mallory.jid)).toEqual(['both', 'both']);
        });
        expect(first).toBeDefined();
        const romeoApp = await LoggedInApp.login(target, romeo.jid, romeo.password);
        try {
          const removed = await romeoApp.stream.iq(
            { type: 'set' },
            `<query xmlns='jabber:iq:roster'><item jid='${mallory.jid}' subscription='remove'/></query>`
          );
          expect(removed.type).toBe('result');
        } finally {
          romeoApp.close();
        }
        const romeoHas = async () => subscriptionTo(await s.admin.getRoster(romeo.jid), mallory.jid);
        expect(await eventually(romeoHas, (v) => v === 'absent')).toBe('absent');

        // Act: mallory replays the token while the invite is live, then after the operator revoked it.
        const whileLive = await subscribe();
        const afterLive = await romeoHas();
        await s.revoke(invite.id);
        const afterRevoke = await subscribe();

        // Assess: left to romeo, like any unknown subscription.
        expect(whileLive).toBeUndefined();
        expect(afterRevoke).toBeUndefined();
        expect(['absent', 'none']).toContain(afterLive);
        expect(['absent', 'none']).toContain(await romeoHas());
        expect(await s.invite(invite.id)).toMatchObject({ uses: 1, status: 'revoked' });
      });

      it('an invalid token falls back to manual approval: no automatic subscribed, nothing spent', async () => {
        // Prepare
        const romeo = await newUser('romeo');
        const mallory = await newUser('mallory');
        const invite = await issue({ type: 'contact', inviter: romeo.jid });
        const app = await LoggedInApp.login(target, mallory.jid, mallory.password);
        try {
          // Act
          await app.subscribeWithPreauth(romeo.jid, 'AAAAAAAAAAAAAAAAAAAAAAAA');
          const subscribed = await app.presenceFrom(romeo.jid, 'subscribed', 3000);

          // Assess
          expect(subscribed).toBeUndefined();
        } finally {
          app.close();
        }
        const romeoRoster = await s.admin.getRoster(romeo.jid);
        expect(['absent', 'none']).toContain(subscriptionTo(romeoRoster, mallory.jid));
        expect(await s.invite(invite.id)).toMatchObject({ uses: 0, status: 'valid' });
      });
    });

    describe('XEP-0401 ad-hoc commands: invites created from the app', () => {
      it('by default a user is offered #invite, and #create-account only to admins: neither listed nor run nor described to others', async () => {
        // Prepare
        const user = await newUser('lister');
        const app = await LoggedInApp.login(target, user.jid, user.password);
        const admin = await LoggedInApp.login(target, s.operatorJid, s.operatorPassword);
        let commands: string[];
        let adminCommands: string[];
        let refused;
        try {
          // Act
          commands = await app.commands();
          adminCommands = await admin.commands();
          refused = await app.adhoc('urn:xmpp:invite#create-account', { username: uniqueName('never') });
        } finally {
          app.close();
          admin.close();
        }

        // Assess
        expect(commands).toContain('urn:xmpp:invite#invite');
        expect(commands).not.toContain('urn:xmpp:invite#create-account');
        expect(adminCommands).toEqual(expect.arrayContaining(['urn:xmpp:invite#invite', 'urn:xmpp:invite#create-account']));
        expect([refused.outcome.type, refused.outcome.error?.condition]).toEqual(['error', 'forbidden']);
        expect(refused.fields.uri).toBeUndefined();
      });

      it('disco#info on a command node: identity automation/command-node with the command features, forbidden to who may not run it', async () => {
        // Prepare
        const user = await newUser('disco');
        const app = await LoggedInApp.login(target, user.jid, user.password);
        const admin = await LoggedInApp.login(target, s.operatorJid, s.operatorPassword);
        const info = async (who: LoggedInApp, node: string) => {
          const o = await who.stream.iq(
            { type: 'get', to: s.domain },
            `<query xmlns='http://jabber.org/protocol/disco#info' node='${node}'/>`
          );
          const query = o.stanza?.getChild('query', 'http://jabber.org/protocol/disco#info');
          return {
            type: o.type,
            error: o.error?.condition,
            identities: query?.getChildren('identity').map((i) => `${i.attrs.category}/${i.attrs.type}`) ?? [],
            features: query?.getChildren('feature').map((f) => f.attrs.var as string) ?? [],
          };
        };
        let userInvite;
        let userCreate;
        let adminCreate;
        try {
          // Act
          userInvite = await info(app, 'urn:xmpp:invite#invite');
          userCreate = await info(app, 'urn:xmpp:invite#create-account');
          adminCreate = await info(admin, 'urn:xmpp:invite#create-account');
        } finally {
          app.close();
          admin.close();
        }

        // Assess
        for (const allowed of [userInvite, adminCreate]) {
          expect(allowed.type).toBe('result');
          expect(allowed.identities).toEqual(['automation/command-node']);
          expect(allowed.features).toEqual(expect.arrayContaining(['http://jabber.org/protocol/commands', 'jabber:x:data']));
        }
        expect([userCreate.type, userCreate.error]).toEqual(['error', 'forbidden']);
      });

      it('widened by the operator, #create-account is listed to and run by every user', async () => {
        // Prepare
        const user = await newUser('widened');
        await s.setCreateAccountForEveryone(true);
        let commands: string[];
        let made;
        try {
          const app = await LoggedInApp.login(target, user.jid, user.password);
          try {
            // Act
            commands = await app.commands();
            made = await app.adhoc('urn:xmpp:invite#create-account', { username: uniqueName('widely'), 'roster-subscription': 'false' });
          } finally {
            app.close();
          }
        } finally {
          await s.setCreateAccountForEveryone(false);
        }

        // Assess
        expect(commands).toContain('urn:xmpp:invite#create-account');
        expect(made.status).toBe('completed');
        seenTokens.add(tokenOf(made.fields.uri ?? ''));
      });

      it('urn:xmpp:invite#invite makes an invite with the user as inviter; an app registers with it', async () => {
        // Prepare
        const romeo = await newUser('romeo');
        const app = await LoggedInApp.login(target, romeo.jid, romeo.password);
        let made;
        try {
          // Act
          made = await app.adhoc('urn:xmpp:invite#invite');
        } finally {
          app.close();
        }
        const token = tokenOf(made.fields.uri ?? '');
        seenTokens.add(token);
        const username = uniqueName('friend');
        const result = await register('siskin', token, username, appPassword());

        // Assess
        expect(made.status).toBe('completed');
        expect(made.fields.uri).toMatch(new RegExp(`^xmpp:${romeo.jid.replace('.', '\\.')}\\?roster;preauth=[^;]+;ibr=y$`));
        expect(made.fields['landing-url']).toMatch(/^https?:\/\/.+\/i\/.+/);
        expect(Date.parse(made.fields.expire ?? '')).toBeGreaterThan(Date.now());
        expectRegistered(result);
        expect(await rostersBoth(romeo.jid, jidOf(username))).toEqual(['both', 'both']);
      });

      it('urn:xmpp:invite#create-account (an admin) makes an invite for a chosen username', async () => {
        // Prepare
        const username = uniqueName('chosen');
        const app = await LoggedInApp.login(target, s.operatorJid, s.operatorPassword);
        let made;
        try {
          // Act
          made = await app.adhoc('urn:xmpp:invite#create-account', { username, 'roster-subscription': 'true' });
        } finally {
          app.close();
        }
        const token = tokenOf(made.fields.uri ?? '');
        seenTokens.add(token);
        const wrong = await register('monal', token, uniqueName('notchosen'), appPassword());
        const right = await register('monal', token, username, appPassword());

        // Assess
        expect(made.status).toBe('completed');
        expect(made.fields.uri).toBe(`xmpp:${username}@${s.domain}?register;preauth=${token}`);
        expect(wrong.register?.error?.condition).toBe('not-acceptable');
        expectRegistered(right);
        expect(await rostersBoth(s.operatorJid, jidOf(username))).toEqual(['both', 'both']);
      });

      it('past the quota of live invites: a clear command error, no invite', async () => {
        // Prepare
        const user = await newUser('eager');
        const app = await LoggedInApp.login(target, user.jid, user.password);
        try {
          for (let i = 0; i < s.adhocQuota; i++) {
            const ok = await app.adhoc('urn:xmpp:invite#invite');
            expect(ok.status).toBe('completed');
            seenTokens.add(tokenOf(ok.fields.uri ?? ''));
          }

          // Act
          const over = await app.adhoc('urn:xmpp:invite#invite');

          // Assess
          expect(over.fields.uri).toBeUndefined();
          const error = over.outcome.error;
          const note = over.notes.find((n) => n.type === 'error');
          // Either an IQ error with a text or a completed command with an error note: both are shown to the user.
          expect(error?.text ?? note?.text ?? '').toMatch(/limit|quota|too many/i);
        } finally {
          app.close();
        }
      });

      it('a suspended account: told it may not create invites (not "try later"), no invite', async () => {
        // Prepare
        const user = await newUser('suspended');
        await s.suspend(user.jid);
        const app = await LoggedInApp.login(target, user.jid, user.password);
        try {
          // Act
          const refused = await app.adhoc('urn:xmpp:invite#invite');

          // Assess
          expect(refused.fields.uri).toBeUndefined();
          const text = refused.outcome.error?.text ?? refused.notes.find((n) => n.type === 'error')?.text ?? '';
          expect(text).toMatch(/may not create invites/i);
        } finally {
          app.close();
        }
      });
    });

    describe('the legacy <username/> of a preset invite, and in-band password change and removal (XEP-0077)', () => {
      const REGISTER = 'jabber:iq:register';
      /** The registration form after a checked preauth: the legacy <username/> and the x:data username, as given. */
      const offeredUsername = async (session: AppSession, token: string) => {
        expect((await session.preauth(token)).type).toBe('result');
        const got = await session.stream.iq({ type: 'get', to: s.domain }, `<query xmlns='${REGISTER}'/>`);
        expect(got.type).toBe('result');
        const query = got.stanza?.getChild('query', REGISTER);
        const field = query
          ?.getChild('x', 'jabber:x:data')
          ?.getChildren('field')
          .find((f) => f.attrs.var === 'username');
        return { legacy: query?.getChild('username')?.text(), form: field?.getChildText('value') ?? '' };
      };

      it('a preset-username invite fills the name into the legacy <username/> and the x:data form; an app reading only the legacy fields registers with it', async () => {
        // Prepare
        const username = uniqueName('legacy');
        const invite = await issue({ username });
        seenTokens.add(invite.token);
        const password = appPassword();
        const session = await AppSession.open('siskin', target);
        try {
          // Act
          const offered = await offeredUsername(session, invite.token);
          // An app that knows only the legacy fields sends back what it was given.
          const registered = await session.register(offered.legacy ?? '', password, undefined, s.serviceTimeoutMs * 3 + 5000);

          // Assess
          expect(offered).toEqual({ legacy: username, form: username });
          expect(registered.type).toBe('result');
        } finally {
          session.close();
        }
        expect(await appCanLogin(target, jidOf(username), password)).toBe(true);
      });

      it('an invite without a preset name leaves the legacy <username/> empty', async () => {
        // Prepare
        const invite = await issue({});
        seenTokens.add(invite.token);
        const session = await AppSession.open('monal', target);
        try {
          // Act
          const offered = await offeredUsername(session, invite.token);

          // Assess
          expect(offered).toEqual({ legacy: '', form: '' });
        } finally {
          session.close();
        }
        expect(await s.invite(invite.id)).toMatchObject({ uses: 0 });
      });

      it('a logged-in user changes their password in-band: the new one logs in, the old one no longer does', async () => {
        // Prepare
        const user = await newUser('changer', 'the first password 1');
        const local = user.jid.split('@')[0] as string;
        const next = appPassword();
        const app = await LoggedInApp.login(target, user.jid, user.password);

        // Act: as Conversations' "Change password" sends it (to the domain).
        let changed: Awaited<ReturnType<typeof app.stream.iq>>;
        try {
          changed = await app.stream.iq(
            { type: 'set', to: s.domain },
            `<query xmlns='${REGISTER}'><username>${local}</username><password>${next}</password></query>`
          );
        } finally {
          app.close();
        }

        // Assess
        expect({ type: changed.type, error: changed.error }).toEqual({ type: 'result', error: undefined });
        expect(await appCanLogin(target, user.jid, next)).toBe(true);
        expect(await appCanLogin(target, user.jid, user.password)).toBe(false);
      });

      it('a logged-in user removes their account in-band: it no longer exists nor logs in', async () => {
        // Prepare
        const user = await newUser('leaver');
        const app = await LoggedInApp.login(target, user.jid, user.password);

        // Act
        let removed: Awaited<ReturnType<typeof app.stream.iq>>;
        try {
          removed = await app.stream.iq({ type: 'set', to: s.domain }, `<query xmlns='${REGISTER}'><remove/></query>`);
        } finally {
          app.close();
        }

        // Assess
        expect({ type: removed.type, error: removed.error }).toEqual({ type: 'result', error: undefined });
        expect(
          await eventually(
            () => s.admin.accountExists(user.jid),
            (exists) => !exists
          )
        ).toBe(false);
        expect(await appCanLogin(target, user.jid, user.password)).toBe(false);
      });
    });

    describe('lineage (issue 19)', () => {
      it('reads back accounts made in an app and through the API as one tree', async () => {
        // Prepare
        const root = await newUser('root');
        const fromApp = uniqueName('inapp');
        const fromApi = uniqueName('viaapi');
        const appInvite = await issue({ inviter: root.jid });
        expectRegistered(await register('conversations', appInvite.token, fromApp, appPassword()));
        const apiInvite = await issue({ inviter: jidOf(fromApp) });
        expect((await s.webRedeem(apiInvite.token, fromApi, appPassword())).status).toBe(201);

        // Act
        const tree = await s.lineage(root.jid, 2);

        // Assess
        expect(tree).toMatchObject({
          jid: root.jid,
          invitees: {
            items: [
              {
                jid: jidOf(fromApp),
                invitedBy: root.jid,
                inviteId: appInvite.id,
                via: 'app',
                status: 'active',
                invitees: { items: [{ jid: jidOf(fromApi), invitedBy: jidOf(fromApp), inviteId: apiInvite.id, via: 'api' }] },
              },
            ],
          },
        });
      });
    });

    describe('an account deleted on the server (lineage, issue 19)', () => {
      it('revokes its live invites within seconds: API and app-created ones; others stay valid', async () => {
        // Prepare
        const doomed = await newUser('doomed');
        const bystander = await newUser('bystander');
        const contact = await issue({ inviter: doomed.jid, type: 'contact' });
        const account = await issue({ inviter: doomed.jid, maxUses: 2 });
        const other = await issue({ inviter: bystander.jid });
        const app = await LoggedInApp.login(target, doomed.jid, doomed.password);
        let fromApp: string;
        try {
          const created = await app.adhoc('urn:xmpp:invite#invite');
          expect(created.status).toBe('completed');
          fromApp = tokenOf(created.fields.uri ?? '');
          seenTokens.add(fromApp);
        } finally {
          app.close();
        }

        // Act
        await s.deleteAccount(doomed.jid);

        // Assess
        const started = Date.now();
        const states = await eventually(
          () => Promise.all([s.invite(contact.id), s.invite(account.id)]),
          (all) => all.every((i) => i.status === 'revoked'),
          15_000
        );
        expect(states.map((i) => i.status)).toEqual(['revoked', 'revoked']);
        expect(Date.now() - started).toBeLessThan(15_000);
        const redeemed = await s.webRedeem(account.token, uniqueName('late'), appPassword());
        expect([redeemed.status, redeemed.body?.error]).toEqual([410, 'token-revoked']);
        const viaApp = await s.webRedeem(fromApp, uniqueName('late'), appPassword());
        expect([viaApp.status, viaApp.body?.error]).toEqual([410, 'token-revoked']);
        expect((await s.invite(other.id)).status).toBe('valid');
      });
    });

    it('after the suite, the server log contains none of the tokens', () => {
      // Assess
      expect(seenTokens.size).toBeGreaterThan(20);
      const log = s.serverLog();
      expect(log.length).toBeGreaterThan(0);
      expect([...seenTokens].filter((t) => log.includes(t))).toEqual([]);
    });
  });
};
