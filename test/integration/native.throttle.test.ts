/**
 * Prosody's module throttles subscriptions carrying invite tokens per sender
 * (`xmpp_invites_subscribe_per_minute`, default 6; a local account by its
 * JID, another server as a whole): past it the service is not asked and the
 * request is left to the user, so tokens cannot be guessed through the
 * server. Against the shared stack's Prosody with the module's default
 * setting. ejabberd's throttle is tested in native.ejabberd.test.ts, which
 * owns that server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProsodyProvisioner } from '../../lib/adapters/xmpp/ProsodyProvisioner.js';
import { api, issue, prosodyAdmin, stack, uniqueName } from '../support/stack.js';
import { LoggedInApp, appPassword, type XmppTarget } from '../support/xmppApp.js';

/** The module's default rate (modules/prosody/mod_xmpp_invites.lua). */
const DEFAULT_PER_MINUTE = 6;

let admin: ProsodyProvisioner;
let target: XmppTarget;

beforeAll(() => {
  admin = prosodyAdmin();
  const p = stack().prosody;
  target = { domain: p.domain, host: '127.0.0.1', port: Number(new URL(p.service.replace(/^xmpp:/, 'http:')).port), caFile: p.caFile };
});

afterAll(async () => {
  await admin.close();
});

const user = async (prefix: string) => {
  const u = { jid: `${uniqueName(prefix)}@${stack().prosody.domain}`, password: appPassword() };
  await admin.createAccount(u.jid, u.password);
  return u;
};

const usesOf = async (id: string) => (await api('GET', `/invites/by-id/${id}`)).body.uses as number;

describe('mod_xmpp_invites on Prosody: subscriptions with tokens, throttled per sender', () => {
  it('past the rate a sender’s subscription is left to the user (nothing spent); another sender is not affected', async () => {
    // Prepare: a contact per bogus subscription, so each is a new request.
    const romeo = await user('romeo');
    const mallory = await user('mallory');
    const juliet = await user('juliet');
    const strangers = await Promise.all(Array.from({ length: DEFAULT_PER_MINUTE + 4 }, () => user('stranger')));
    const forMallory = await issue({ type: 'contact', inviter: romeo.jid });
    const forJuliet = await issue({ type: 'contact', inviter: romeo.jid });
    const app = await LoggedInApp.login(target, mallory.jid, mallory.password);
    const other = await LoggedInApp.login(target, juliet.jid, juliet.password);
    let approvedMallory;
    let approvedJuliet;
    try {
      // Act: bogus tokens spend mallory's budget (the last ones are refused at once); then a real one.
      for (const [i, stranger] of strangers.entries()) await app.subscribeWithPreauth(stranger.jid, `${'A'.repeat(23)}${i}`);
      await app.subscribeWithPreauth(romeo.jid, forMallory.token);
      approvedMallory = await app.presenceFrom(romeo.jid, 'subscribed', 8000);
      await other.subscribeWithPreauth(romeo.jid, forJuliet.token);
      approvedJuliet = await other.presenceFrom(romeo.jid, 'subscribed', 15_000);
    } finally {
      app.close();
      other.close();
    }

    // Assess
    expect(approvedMallory).toBeUndefined();
    expect(await usesOf(forMallory.id)).toBe(0);
    expect(approvedJuliet).toBeDefined();
    expect(await usesOf(forJuliet.id)).toBe(1);
  });
});
