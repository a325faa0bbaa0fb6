import { randomBytes } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { DynamoDBInviteStore } from '../../lib/adapters/dynamodb/DynamoDBInviteStore.js';
import { moduleDomain, spendContactInvite } from '../../lib/invites/serverModule.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { invoke } from '../support/lambda.js';
import {
  api,
  canLogin,
  documentClientForStack,
  expireInvite,
  issue,
  prosodyAdmin,
  stack,
  uniqueName,
  useStackEnv,
} from '../support/stack.js';

/**
 * The routes the server modules call (modules/README.md), over HTTP against
 * the stack's serverless-offline, with a real xmpp-server key in its table.
 */
const PASSWORD = 'correct horse battery';

let serverKey: string;
let bothDomainsKey: string;

const newServerKey = async (domains: string[]) => {
  const store = new DynamoDBApiKeyStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
  const { secret } = await createApiKey({ store, clock: systemClock }, { name: uniqueName('prosody-'), domains, kind: 'xmpp-server' });
  return secret;
};

const asServer = (path: string, body: Record<string, unknown>, key = serverKey) => api('POST', path, { body, auth: key });

const showInvite = async (id: string) => (await api('GET', `/invites/by-id/${id}`)).body;

const unknownToken = () => randomBytes(18).toString('base64url');

beforeAll(async () => {
  useStackEnv();
  serverKey = await newServerKey(['localhost']);
  bothDomainsKey = await newServerKey(['localhost', 'other.example']);
});

describe('Routes /xmpp/*: who may call them', () => {
  const routes: [string, Record<string, unknown>][] = [
    ['/xmpp/preauth', { token: unknownToken(), domain: 'localhost' }],
    ['/xmpp/register', { domain: 'localhost', username: 'x', password: PASSWORD }],
    ['/xmpp/subscribe', { token: unknownToken(), domain: 'localhost', contact: 'a@localhost', subscriber: 'b@other.org' }],
    ['/xmpp/invites', { domain: 'localhost', inviter: 'a@localhost', type: 'contact' }],
  ];

  it.each(routes)('%s answers 403 to an admin API key and 401 without a key', async (path, body) => {
    const withApiKey = await api('POST', path, { body });
    const anonymous = await api('POST', path, { body, auth: false });

    expect(withApiKey.status).toBe(403);
    expect(withApiKey.body).toMatchObject({ error: 'forbidden' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ error: 'unauthorized' });
  });

  it('gives an xmpp-server key 403 on every admin route', async () => {
    const { id } = await issue({});
    const answers = [
      await api('POST', '/invites', { body: {}, auth: serverKey }),
      await api('GET', '/invites', { auth: serverKey }),
      await api('GET', `/invites/by-id/${id}`, { auth: serverKey }),
      await api('DELETE', `/invites/${id}`, { auth: serverKey }),
    ];

    expect(answers.map((a) => a.status)).toEqual([403, 403, 403, 403]);
    for (const a of answers) expect(a.body.error).toBe('forbidden');
    expect((await showInvite(id)).status).toBe('valid');
  });

  it('refuses a key of one domain acting for another, on every route, and changes nothing', async () => {
    const invite = await issue({ domain: 'other.example', type: 'contact', inviter: 'romeo@other.example', maxUses: 2 });
    const answers = await Promise.all([
      asServer('/xmpp/preauth', { token: invite.token, domain: 'other.example' }),
      asServer('/xmpp/register', { token: invite.token, domain: 'other.example', username: uniqueName(), password: PASSWORD }),
      asServer('/xmpp/subscribe', { token: invite.token, domain: 'other.example', contact: 'romeo@other.example', subscriber: 'j@x.org' }),
      asServer('/xmpp/invites', { domain: 'other.example', inviter: 'romeo@other.example', type: 'contact' }),
      // Had it passed, the inviter's live invites would be revoked.
      asServer('/xmpp/account-deleted', { domain: 'other.example', jid: 'romeo@other.example' }),
    ]);

    expect(answers.map((a) => a.status)).toEqual([403, 403, 403, 403, 403]);
    for (const a of answers) expect(a.body.error).toBe('forbidden');
    expect(await showInvite(invite.id)).toMatchObject({ uses: 0, status: 'valid' });
  });

  it("answers token-invalid for a token of another domain than the body's, even to a key of both", async () => {
    const invite = await issue({ domain: 'other.example' });

    const preauth = await asServer('/xmpp/preauth', { token: invite.token, domain: 'localhost' }, bothDomainsKey);
    const register = await asServer(
      '/xmpp/register',
      { token: invite.token, domain: 'localhost', username: uniqueName(), password: PASSWORD },
      bothDomainsKey
    );

    expect([preauth.status, register.status]).toEqual([404, 404]);
    expect([preauth.body.error, register.body.error]).toEqual(['token-invalid', 'token-invalid']);
    expect((await showInvite(invite.id)).uses).toBe(0);
  });

  it('refuses a body with unknown fields or a malformed address before anything happens', async () => {
    const { token } = await issue({});
    const extra = await asServer('/xmpp/preauth', { token, domain: 'localhost', admin: true });
    const badAddress = await asServer('/xmpp/preauth', { token, domain: 'localhost', address: '1.2.3.4; DROP' });

    expect([extra.status, badAddress.status]).toEqual([400, 400]);
    expect([extra.body.error, badAddress.body.error]).toEqual(['invalid-request', 'invalid-request']);
  });
});

describe('Route POST /xmpp/preauth', () => {
  it('answers a live invite without consuming it', async () => {
    const inviter = `inviter-${uniqueName()}@localhost`;
    const invite = await issue({ type: 'contact', inviter, maxUses: 3 });

    const first = await asServer('/xmpp/preauth', { token: invite.token, domain: 'localhost', address: '203.0.113.7' });
    const second = await asServer('/xmpp/preauth', { token: invite.token, domain: 'localhost', address: '203.0.113.7' });

    expect(first.status).toBe(200);
    // The same public view as GET /invites/{token}.
    expect(first.body).toEqual({
      valid: true,
      type: 'contact',
      domain: 'localhost',
      inviter,
      username: null,
      expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      usesLeft: 3,
    });
    expect(second.body).toEqual(first.body);
    expect((await showInvite(invite.id)).uses).toBe(0);
  });

  it('answers each dead token state with its code', async () => {
    const expired = await issue({});
    await expireInvite(expired.id);
    const used = await issue({});
    expect(
      (await api('POST', `/invites/${used.token}/redeem`, { body: { username: uniqueName(), password: PASSWORD }, auth: false })).status
    ).toBe(201);
    const revoked = await issue({});
    expect((await api('DELETE', `/invites/${revoked.id}`)).status).toBe(204);

    const answers = [];
    for (const token of [unknownToken(), 'not-a-token', expired.token, used.token, revoked.token]) {
      answers.push(await asServer('/xmpp/preauth', { token, domain: 'localhost' }));
    }

    expect(answers.map((a) => [a.status, a.body.error])).toEqual([
      [404, 'token-invalid'],
      [404, 'token-invalid'],
      [410, 'token-expired'],
      [410, 'token-used'],
      [410, 'token-revoked'],
    ]);
  });
});

describe('Route POST /xmpp/register', () => {
  it('creates the account with the invite, through redeem: once, with the inviter as contact', async () => {
    const admin = prosodyAdmin();
    const inviter = `${uniqueName('romeo')}@localhost`;
    await admin.createAccount(inviter, PASSWORD);
    const invite = await issue({ type: 'contact', inviter });
    const username = uniqueName('juliet');
    const body = { token: invite.token, domain: 'localhost', username, password: PASSWORD, address: '203.0.113.8' };

    const created = await asServer('/xmpp/register', body);
    const again = await asServer('/xmpp/register', body);
    const other = await asServer('/xmpp/register', { ...body, username: uniqueName() });
    // The same name with another password is no retry: the module must not report a registration.
    const otherPassword = await asServer('/xmpp/register', { ...body, password: 'another horse battery' });

    try {
      expect(created.status).toBe(201);
      expect(created.body).toEqual({ jid: `${username}@localhost`, outcome: 'created' });
      // The same request again is the retry redeem answers again, not a second account.
      expect(again.status).toBe(201);
      expect([other.status, other.body.error]).toEqual([410, 'token-used']);
      expect([otherPassword.status, otherPassword.body.error]).toEqual([410, 'token-used']);
      expect(await canLogin(`${username}@localhost`, PASSWORD)).toBe(true);
      expect(await admin.getRoster(`${username}@localhost`)).toEqual([expect.objectContaining({ jid: inviter, subscription: 'both' })]);
      expect((await showInvite(invite.id)).uses).toBe(1);
    } finally {
      await admin.close();
    }
  });

  it('enforces a preset username and the password policy, and spends nothing on refusal', async () => {
    const preset = uniqueName('preset');
    const invite = await issue({ username: preset });

    const mismatch = await asServer('/xmpp/register', {
      token: invite.token,
      domain: 'localhost',
      username: uniqueName(),
      password: PASSWORD,
    });
    const weak = await asServer('/xmpp/register', { token: invite.token, domain: 'localhost', username: preset, password: 'short' });

    expect([mismatch.status, mismatch.body.error]).toEqual([400, 'username-mismatch']);
    expect([weak.status, weak.body.error]).toEqual([400, 'password-weak']);
    expect((await showInvite(invite.id)).uses).toBe(0);
  });

  it('sets the new password with a reset invite', async () => {
    const admin = prosodyAdmin();
    const username = uniqueName('forgot');
    await admin.createAccount(`${username}@localhost`, 'the old password 1');
    await admin.close();
    const invite = await issue({ type: 'reset', username });

    const reset = await asServer('/xmpp/register', { token: invite.token, domain: 'localhost', username, password: PASSWORD });

    expect(reset.status).toBe(201);
    expect(reset.body).toEqual({ jid: `${username}@localhost`, outcome: 'reset' });
    expect(await canLogin(`${username}@localhost`, PASSWORD)).toBe(true);
  });

  it('refuses registration without a token while the service is invite-only', async () => {
    const username = uniqueName();

    const res = await asServer('/xmpp/register', { domain: 'localhost', username, password: PASSWORD });

    expect([res.status, res.body.error]).toEqual([403, 'registration-closed']);
    expect(await canLogin(`${username}@localhost`, PASSWORD)).toBe(false);
  });
});

describe('Route POST /xmpp/subscribe (XEP-0379)', () => {
  it('spends one use per subscriber and approves each subscriber once: a repeat is refused without a second use, then it runs out', async () => {
    const inviter = `${uniqueName('romeo')}@localhost`;
    const invite = await issue({ type: 'contact', inviter, maxUses: 2, groups: ['Friends'] });
    const body = (subscriber: string) => ({ token: invite.token, domain: 'localhost', contact: inviter, subscriber });

    const first = await asServer('/xmpp/subscribe', body('juliet@other.org'));
    const repeat = await asServer('/xmpp/subscribe', body('Juliet@other.org'));
    const usesAfterRepeat = (await showInvite(invite.id)).uses;
    const second = await asServer('/xmpp/subscribe', body(`${uniqueName('nurse')}@localhost`));
    const third = await asServer('/xmpp/subscribe', body('tybalt@other.org'));

    expect(first.status).toBe(200);
    expect(first.body).toEqual({ approved: true, groups: ['Friends'] });
    // The modules ask again only when the contact's roster lost the approval
    // (the inviter removed the subscriber): that is the user's call now.
    expect([repeat.status, repeat.body.error]).toEqual([410, 'token-used']);
    expect(usesAfterRepeat).toBe(1);
    expect(second.status).toBe(200);
    expect([third.status, third.body.error]).toEqual([410, 'token-used']);
    const shown = await showInvite(invite.id);
    expect(shown.uses).toBe(2);
    expect(shown.redemptions).toEqual(expect.arrayContaining([expect.objectContaining({ jid: 'juliet@other.org', kind: 'contact' })]));
    // A repeat after the invite ran out approves nothing either.
    const late = await asServer('/xmpp/subscribe', body('juliet@other.org'));
    expect([late.status, late.body.error]).toEqual([410, 'token-used']);
  });

  it('a revoked or expired invite approves nothing, not even a subscriber it approved while it was live', async () => {
    const inviter = `${uniqueName('romeo')}@localhost`;
    const revoked = await issue({ type: 'contact', inviter, maxUses: 5 });
    const expired = await issue({ type: 'contact', inviter, maxUses: 5 });
    const body = (token: string, subscriber: string) => ({ token, domain: 'localhost', contact: inviter, subscriber });
    expect((await asServer('/xmpp/subscribe', body(revoked.token, 'mallory@other.org'))).status).toBe(200);
    expect((await asServer('/xmpp/subscribe', body(expired.token, 'mallory@other.org'))).status).toBe(200);
    expect((await api('DELETE', `/invites/${revoked.id}`)).status).toBe(204);
    await expireInvite(expired.id);

    const answers = await Promise.all([
      asServer('/xmpp/subscribe', body(revoked.token, 'mallory@other.org')),
      asServer('/xmpp/subscribe', body(revoked.token, 'benvolio@other.org')),
      asServer('/xmpp/subscribe', body(expired.token, 'mallory@other.org')),
      asServer('/xmpp/subscribe', body(expired.token, 'benvolio@other.org')),
    ]);

    expect(answers.map((a) => [a.status, a.body.error])).toEqual([
      [410, 'token-revoked'],
      [410, 'token-revoked'],
      [410, 'token-expired'],
      [410, 'token-expired'],
    ]);
    expect((await showInvite(revoked.id)).uses).toBe(1);
    expect((await showInvite(expired.id)).uses).toBe(1);
  });

  it('someone who registered with the contact invite is not approved again by its token', async () => {
    const inviter = `${uniqueName('romeo')}@localhost`;
    const admin = prosodyAdmin();
    await admin.createAccount(inviter, PASSWORD).finally(() => admin.close());
    const invite = await issue({ type: 'contact', inviter, maxUses: 3 });
    const username = uniqueName('juliet');
    const redeemed = await api('POST', `/invites/${invite.token}/redeem`, { body: { username, password: PASSWORD }, auth: false });
    expect(redeemed.status).toBe(201);

    const replay = await asServer('/xmpp/subscribe', {
      token: invite.token,
      domain: 'localhost',
      contact: inviter,
      subscriber: `${username}@localhost`,
    });

    expect([replay.status, replay.body.error]).toEqual([410, 'token-used']);
    expect((await showInvite(invite.id)).uses).toBe(1);
  });

  it('approves one of 10 parallel requests of one subscriber, with one use (the use case on the real table)', async () => {
    // In this process: the store's transaction is what is under test, not
    // serverless-offline starting ten workers at once.
    const inviter = `${uniqueName('romeo')}@localhost`;
    const invite = await issue({ type: 'contact', inviter, maxUses: 5 });
    const store = new DynamoDBInviteStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
    const actor = { source: 'xmpp-server:test', domains: ['localhost'], admin: false };

    const answers = await Promise.allSettled(
      Array.from({ length: 10 }, () =>
        spendContactInvite(
          { store, clock: systemClock },
          {
            token: invite.token,
            domain: moduleDomain(actor, 'localhost'),
            contact: inviter,
            subscriber: 'juliet@other.org',
          }
        )
      )
    );

    expect(answers.filter((a) => a.status === 'fulfilled' && a.value.approved && a.value.outcome === 'spent')).toHaveLength(1);
    expect(answers.filter((a) => a.status === 'rejected').map((a) => (a as PromiseRejectedResult).reason.code)).toEqual(
      Array.from({ length: 9 }, () => 'token-used')
    );
    expect((await showInvite(invite.id)).uses).toBe(1);
  });

  it("does not approve a subscription to anyone but the invite's inviter, nor with an account invite", async () => {
    const inviter = `${uniqueName('romeo')}@localhost`;
    const contact = await issue({ type: 'contact', inviter });
    const account = await issue({ inviter });

    const wrongContact = await asServer('/xmpp/subscribe', {
      token: contact.token,
      domain: 'localhost',
      contact: 'mercutio@localhost',
      subscriber: 'j@other.org',
    });
    const accountInvite = await asServer('/xmpp/subscribe', {
      token: account.token,
      domain: 'localhost',
      contact: inviter,
      subscriber: 'j@other.org',
    });
    const self = await asServer('/xmpp/subscribe', { token: contact.token, domain: 'localhost', contact: inviter, subscriber: inviter });

    expect([wrongContact.status, wrongContact.body.error]).toEqual([404, 'token-invalid']);
    expect([accountInvite.status, accountInvite.body.error]).toEqual([404, 'token-invalid']);
    expect([self.status, self.body.error]).toEqual([400, 'jid-invalid']);
    expect((await showInvite(contact.id)).uses).toBe(0);
    expect((await showInvite(account.id)).uses).toBe(0);
  });
});

describe('Route POST /xmpp/invites (XEP-0401 ad-hoc)', () => {
  it('creates a contact invite with the requesting user as inviter, usable by preauth', async () => {
    const user = `${uniqueName('romeo')}@localhost`;

    const res = await asServer('/xmpp/invites', { domain: 'localhost', inviter: user, type: 'contact' });

    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      uri: expect.stringMatching(new RegExp(`^xmpp:${user.replace('.', '\\.')}\\?roster;preauth=[A-Za-z0-9_-]{24};ibr=y$`)),
      landingUrl: expect.stringMatching(/\/i\/[A-Za-z0-9_-]{24}$/),
      expiresAt: expect.any(String),
      type: 'contact',
      username: null,
    });
    const token = /preauth=([A-Za-z0-9_-]{24})/.exec(res.body.uri)![1]!;
    const check = await asServer('/xmpp/preauth', { token, domain: 'localhost' });
    expect(check.body).toMatchObject({ type: 'contact', inviter: user });
    expect((await showInvite(res.body.id)).source).toMatch(new RegExp(`^xmpp-server:.*:${user}$`));
  });

  it('creates an account invite with a reserved username; the inviter only with rosterSubscription', async () => {
    const user = `${uniqueName('romeo')}@localhost`;
    const plain = uniqueName('juliet');
    const linked = uniqueName('juliet');

    const without = await asServer('/xmpp/invites', { domain: 'localhost', inviter: user, type: 'account', username: plain });
    const withRoster = await asServer('/xmpp/invites', {
      domain: 'localhost',
      inviter: user,
      type: 'account',
      username: linked,
      rosterSubscription: true,
    });
    const taken = await asServer('/xmpp/invites', { domain: 'localhost', inviter: user, type: 'account', username: plain });
    const noName = await asServer('/xmpp/invites', { domain: 'localhost', inviter: user, type: 'account' });

    expect(without.status).toBe(201);
    expect(without.body.uri).toMatch(new RegExp(`^xmpp:${plain}@localhost\\?register;preauth=`));
    expect((await showInvite(without.body.id)).inviter).toBeNull();
    expect((await showInvite(withRoster.body.id)).inviter).toBe(user);
    expect([taken.status, taken.body.error]).toEqual([409, 'username-taken']);
    expect([noName.status, noName.body.error]).toEqual([400, 'username-required']);
  });

  it('refuses a user of another domain than the body names', async () => {
    const res = await asServer('/xmpp/invites', { domain: 'localhost', inviter: 'romeo@other.example', type: 'contact' }, bothDomainsKey);

    expect([res.status, res.body.error]).toEqual([403, 'forbidden']);
  });

  it("answers quota-exceeded once the user holds maxLiveInvites live invites, counting each user's own", async () => {
    const user = `${uniqueName('romeo')}@localhost`;
    const ask = (who: string) => asServer('/xmpp/invites', { domain: 'localhost', inviter: who, type: 'contact', maxLiveInvites: 2 });

    const answers = [await ask(user), await ask(user), await ask(user)];
    const otherUser = await ask(`${uniqueName('benvolio')}@localhost`);

    expect(answers.map((a) => a.status)).toEqual([201, 201, 403]);
    expect(answers[2]!.body.error).toBe('quota-exceeded');
    expect(otherUser.status).toBe(201);
    // Revoking one frees a place.
    expect((await api('DELETE', `/invites/${answers[0]!.body.id}`)).status).toBe(204);
    expect((await ask(user)).status).toBe(201);
  });
});

describe('Landing page: in-app only where the server runs the module', () => {
  it("offers the app path for the stack's Prosody (module loaded) and only the form for a domain without it", async () => {
    const withModule = await issue({ domain: 'localhost' });
    const withoutModule = await issue({ domain: 'other.example' });

    const shown = await api('GET', `/i/${withModule.token}`, { auth: false });
    const formOnly = await api('GET', `/i/${withoutModule.token}`, { auth: false });

    expect([shown.status, formOnly.status]).toEqual([200, 200]);
    expect(shown.text).toContain(`id="open-invite" href="${withModule.uri}"`);
    expect(shown.text).toContain('<svg class="qr"');
    expect(formOnly.text).not.toContain('id="open-invite"');
    expect(formOnly.text).not.toContain('<svg class="qr"');
    expect(formOnly.text).not.toContain('preauth=');
    expect(formOnly.text).toContain('name="password"');
    expect(shown.headers.get('link')).toBe(`<${withModule.uri}>; rel="alternate"`);
    expect(formOnly.headers.get('link')).toBeNull();
  });
});

/**
 * The handlers in this process, with settings the shared stack does not
 * have: low limits, open registration. Set before the first import, since a
 * handler reads its configuration once per container.
 */
describe('In-process: per-address rate limits (low limits) and open registration', () => {
  const SETTINGS = {
    RATE_LIMIT_WINDOW_SECONDS: '60',
    RATE_LIMIT_CHECK_PER_IP: '2',
    RATE_LIMIT_CHECK_PER_TOKEN: '1000',
    REGISTRATION_INVITE_ONLY: 'false',
  };
  let preauth: unknown;
  let check: unknown;
  let register: unknown;

  beforeAll(async () => {
    Object.assign(process.env, SETTINGS);
    ({ handler: preauth } = await import('../../functions/xmppPreauth.js'));
    ({ handler: check } = await import('../../functions/checkInvite.js'));
    ({ handler: register } = await import('../../functions/xmppRegister.js'));
  });

  const openRegister = (username: string, password = PASSWORD) =>
    invoke(register, {
      method: 'POST',
      path: '/xmpp/register',
      headers: { authorization: `Bearer ${serverKey}` },
      body: { domain: 'localhost', username, password, address: address() },
    });

  it('registers without a token when registration is open, with the same username rules', async () => {
    const username = uniqueName('open');

    const created = await openRegister(username);
    const again = await openRegister(username);
    const invalid = await openRegister('no spaces allowed');
    const weak = await openRegister(uniqueName(), 'short');

    expect(created.status).toBe(201);
    expect(created.body).toEqual({ jid: `${username}@localhost`, outcome: 'created' });
    expect(await canLogin(`${username}@localhost`, PASSWORD)).toBe(true);
    expect([again.status, again.body.error]).toEqual([409, 'username-taken']);
    expect([invalid.status, invalid.body.error]).toEqual([400, 'username-invalid']);
    expect([weak.status, weak.body.error]).toEqual([400, 'password-weak']);
  });

  it('keeps a username reserved by a live invite out of open registration', async () => {
    const reserved = uniqueName('reserved');
    const invite = await issue({ username: reserved });

    const taken = await openRegister(reserved);

    expect([taken.status, taken.body.error]).toEqual([409, 'username-taken']);
    expect(await canLogin(`${reserved}@localhost`, PASSWORD)).toBe(false);
    // The invite's owner still gets the name.
    const redeemed = await api('POST', `/invites/${invite.token}/redeem`, { body: { password: PASSWORD }, auth: false });
    expect(redeemed.status).toBe(201);
  });

  const address = () => `198.51.100.${1 + Math.floor(Math.random() * 254)}`;

  it("counts the body's address, not the server's connection, with the server key", async () => {
    const { token } = await issue({});
    // Fixed one-minute windows: start well inside one, so the three calls share it.
    const intoWindow = Math.floor(Date.now() / 1000) % 60;
    if (intoWindow > 50) await new Promise((resolve) => setTimeout(resolve, (61 - intoWindow) * 1000));
    const started = Math.floor(Date.now() / 1000);
    const serverIp = `192.0.2.${1 + Math.floor(Math.random() * 254)}-${randomBytes(3).toString('hex')}`;
    const app = address();
    const call = (addr: string) =>
      invoke(preauth, {
        method: 'POST',
        path: '/xmpp/preauth',
        headers: { authorization: `Bearer ${serverKey}` },
        body: { token, domain: 'localhost', address: addr },
        sourceIp: serverIp,
      });

    const same = [await call(app), await call(app), await call(app)];
    const others = [await call(address()), await call(address())];

    expect(same.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(same[2]!.body.error).toBe('rate-limited');
    // The server's own connection address is not what is counted.
    expect(others.map((r) => r.status)).toEqual([200, 200]);
    // The calls may straddle a window boundary: count both windows they touched.
    const windows = new Set([started, Math.floor(Date.now() / 1000)].map((t) => t - (t % 60)));
    let counted = 0;
    for (const window of windows) {
      const { Item } = await documentClientForStack().send(
        // The module's own budget for the address (lib/abuse/rateLimit.ts), per domain.
        new GetCommand({
          TableName: process.env.INVITES_TABLE,
          Key: { pk: `RATE#check#xmpp#localhost#ip#v4:${app}#${window}`, sk: 'RATE' },
        })
      );
      counted += Number(Item?.count ?? 0);
    }
    expect(counted).toBeGreaterThanOrEqual(3);
  });

  it('keeps the app preauth’s budget for an address apart from the web check’s (a module key cannot lock an address out of the web)', async () => {
    const { token } = await issue({});
    const app = address();

    const web = await invoke(check, {
      method: 'GET',
      path: `/invites/${token}`,
      routeKey: 'GET /invites/{token}',
      pathParameters: { token },
      sourceIp: app,
    });
    const viaServer = await invoke(preauth, {
      method: 'POST',
      path: '/xmpp/preauth',
      headers: { authorization: `Bearer ${serverKey}` },
      body: { token, domain: 'localhost', address: app },
    });
    const webAgain = await invoke(check, {
      method: 'GET',
      path: `/invites/${token}`,
      routeKey: 'GET /invites/{token}',
      pathParameters: { token },
      sourceIp: app,
    });

    expect([web.status, viaServer.status, webAgain.status]).toEqual([200, 200, 200]);
  });

  it('never takes an address from anyone else: a public route refuses the field, an API key never gets that far', async () => {
    const { token } = await issue({});
    const redeem = await api('POST', `/invites/${token}/redeem`, {
      body: { username: uniqueName(), password: PASSWORD, address: '203.0.113.9' },
      auth: false,
    });
    const app = address();
    const withApiKey = await invoke(preauth, {
      method: 'POST',
      path: '/xmpp/preauth',
      headers: { authorization: `Bearer ${stack().apiKey}` },
      body: { token, domain: 'localhost', address: app },
    });

    expect([redeem.status, redeem.body.error]).toEqual([400, 'invalid-request']);
    expect(withApiKey.status).toBe(403);
    const now = Math.floor(Date.now() / 1000);
    const { Item } = await documentClientForStack().send(
      new GetCommand({ TableName: process.env.INVITES_TABLE, Key: { pk: `RATE#check#ip#${app}#${now - (now % 60)}`, sk: 'RATE' } })
    );
    expect(Item).toBeUndefined();
  });
});
