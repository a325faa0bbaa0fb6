/**
 * What a hostile API key, a stranger holding a token, or a reader of the table
 * can and cannot do. Against the shared stack (DynamoDB Local, the private
 * Prosody, serverless-offline) and the use cases in-process.
 */
import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { DynamoDBInviteStore } from '../../lib/adapters/dynamodb/DynamoDBInviteStore.js';
import { DynamoDBRegistrationLocks } from '../../lib/adapters/dynamodb/DynamoDBRegistrationLocks.js';
import { ProvisionerRegistryFromConfig } from '../../lib/adapters/xmpp/ProvisionerRegistry.js';
import { claimKeyResolver } from '../../lib/adapters/aws/secrets.js';
import { accountLockKey } from '../../lib/adapters/dynamodb/tableKeys.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { loadConfig } from '../../lib/config.js';
import type { Actor } from '../../lib/invites/actor.js';
import { issueInvite } from '../../lib/invites/issue.js';
import { passwordFingerprint } from '../../lib/invites/password.js';
import { CLAIM_LEASE_SECONDS, STALE_CLAIMS_PER_REQUEST, redeemInvite, releaseStaleClaims } from '../../lib/invites/redeem.js';
import { registerAccount } from '../../lib/invites/registerAccount.js';
import { systemClock } from '../../lib/ports/Clock.js';
import type { ProvisionerRegistry, XmppProvisioner } from '../../lib/ports/XmppProvisioner.js';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { api, canLogin, documentClientForStack, prosodyAdmin, stack, uniqueName, useStackEnv } from '../support/stack.js';

const PASSWORD = 'correct horse battery';
const DOMAIN = 'localhost';

const keyStore = () => new DynamoDBApiKeyStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
const inviteStore = () => new DynamoDBInviteStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
const newKey = async (input: Partial<Parameters<typeof createApiKey>[1]> = {}) =>
  (await createApiKey({ store: keyStore(), clock: systemClock }, { name: uniqueName('key'), domains: [DOMAIN], ...input })).secret;
const resetInvitesFor = async (username: string) => {
  const res = await api('GET', `/invites?domain=${DOMAIN}&limit=100`);
  return (res.body.items as { type: string; username: string | null }[]).filter((i) => i.type === 'reset' && i.username === username);
};

let admin: XmppProvisioner;
let inviter: string;

beforeAll(async () => {
  useStackEnv();
  admin = prosodyAdmin();
  inviter = `${uniqueName('inv')}@${DOMAIN}`;
  await admin.createAccount(inviter, PASSWORD);
});
afterAll(async () => {
  await admin?.close();
});

describe('reset invites need an explicit grant and never reach protected accounts', () => {
  it('refuses a reset from a quota key and from an admin key without the grant, creating nothing', async () => {
    const victim = uniqueName('victim');
    await admin.createAccount(`${victim}@${DOMAIN}`, PASSWORD);
    const formKey = await newKey({ maxLiveInvites: 10 });
    const adminKey = await newKey();
    for (const auth of [formKey, adminKey]) {
      const res = await api('POST', '/invites', { auth, body: { type: 'reset', username: victim } });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ error: 'forbidden' });
    }
    expect(await resetInvitesFor(victim)).toEqual([]);
    expect(await canLogin(`${victim}@${DOMAIN}`, PASSWORD)).toBe(true);
  });

  it('lets a granted key reset an ordinary account, recorded in the audit trail', async () => {
    const user = uniqueName('reset');
    const jid = `${user}@${DOMAIN}`;
    await admin.createAccount(jid, PASSWORD);
    const key = await newKey({ allowReset: true });
    const issued = await api('POST', '/invites', { auth: key, body: { type: 'reset', username: user } });
    expect(issued.status).toBe(201);
    const redeemed = await api('POST', `/invites/${issued.body.token}/redeem`, { auth: false, body: { password: 'a brand new secret' } });
    expect(redeemed.status).toBe(200);
    expect(await canLogin(jid, 'a brand new secret')).toBe(true);
    const shown = await api('GET', `/invites/by-id/${issued.body.id}`, { auth: key });
    expect(shown.body).toMatchObject({ type: 'reset', source: expect.stringMatching(/^api-key:/), redemptions: [{ jid, kind: 'reset' }] });
  });

  it('never resets the provisioning account, even with the grant', async () => {
    const key = await newKey({ allowReset: true });
    const res = await api('POST', '/invites', { auth: key, body: { type: 'reset', username: 'admin' } });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: 'forbidden' });
    expect(res.body.message).toContain('protected');
  });

  it('refuses configured protected JIDs at issue and again at redeem (the list may grow after issue)', async () => {
    const user = uniqueName('boss');
    const jid = `${user}@${DOMAIN}`;
    await admin.createAccount(jid, PASSWORD);
    const store = inviteStore();
    const actor: Actor = { source: 'cli', domains: ['*'], admin: true, allowReset: true };
    const protectedConfig = loadConfig({ ...stack().env, PROTECTED_JIDS: `other@${DOMAIN}, ${jid.toUpperCase()}` });
    await expect(
      issueInvite({ store, clock: systemClock, config: protectedConfig }, actor, { type: 'reset', username: user })
    ).rejects.toMatchObject({
      code: 'forbidden',
    });

    const before = loadConfig(stack().env);
    const { token, invite } = await issueInvite({ store, clock: systemClock, config: before }, actor, { type: 'reset', username: user });
    const xmpp = new ProvisionerRegistryFromConfig(protectedConfig.xmpp, { tlsCaFile: protectedConfig.xmppTlsCaFile });
    try {
      await expect(
        redeemInvite({ store, xmpp, clock: systemClock, config: protectedConfig, claimKey: claimKeyResolver(protectedConfig) }, token, {
          password: 'a brand new secret',
        })
      ).rejects.toMatchObject({ code: 'forbidden' });
    } finally {
      await xmpp.close();
    }
    expect(await store.get(invite.id)).toMatchObject({ uses: 0, pending: 0 });
    expect(await canLogin(jid, PASSWORD)).toBe(true);
  });

  it('lets `invites-admin keys create` grant or withhold resets and inviters', async () => {
    const { main } = await import('../../scripts/admin-cli.js');
    const out: string[] = [];
    const create = async (...args: string[]) => {
      out.length = 0;
      const code = await main(['keys', 'create', '--name', uniqueName('cli'), '--domain', DOMAIN, ...args], (s) => out.push(s));
      return { code, key: code === 0 ? JSON.parse(out[0] as string) : undefined };
    };
    expect((await create()).key).toMatchObject({ kind: 'api', allowReset: false, inviters: 'any' });
    expect((await create('--allow-reset')).key).toMatchObject({ allowReset: true });
    expect((await create('--max-live-invites', '5')).key).toMatchObject({ inviters: [] });
    expect((await create('--max-live-invites', '5', '--inviter', inviter)).key).toMatchObject({ inviters: [inviter] });
    expect((await create('--xmpp-server')).key).toMatchObject({ kind: 'xmpp-server', allowReset: false });
    expect((await create('--inviter', 'someone@other.example')).code).toBe(1);
    expect((await create('--any-inviter', '--no-inviters')).code).toBe(2);
  });
});

describe('a key names only the inviters it was granted', () => {
  it('refuses a quota key naming any inviter, so it cannot write into a stranger’s roster', async () => {
    const key = await newKey({ maxLiveInvites: 10 });
    const res = await api('POST', '/invites', { auth: key, body: { inviter } });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: 'forbidden' });
    expect((await api('POST', '/invites', { auth: key, body: {} })).status).toBe(201);
  });

  it('allows exactly the listed inviters; an admin key keeps naming anyone', async () => {
    const other = `${uniqueName('other')}@${DOMAIN}`;
    const listed = await newKey({ maxLiveInvites: 10, inviters: [inviter.toUpperCase()] });
    expect((await api('POST', '/invites', { auth: listed, body: { inviter } })).status).toBe(201);
    expect((await api('POST', '/invites', { auth: listed, body: { inviter: other } })).body).toMatchObject({ error: 'forbidden' });
    expect((await api('POST', '/invites', { auth: listed, body: { type: 'contact', inviter: other } })).body).toMatchObject({
      error: 'forbidden',
    });
    const anyone = await newKey();
    expect((await api('POST', '/invites', { auth: anyone, body: { inviter: other } })).status).toBe(201);
  });

  it('refuses an xmpp-server key on every admin route, and an API key on none of them', async () => {
    const server = await newKey({ kind: 'xmpp-server' });
    for (const [method, path] of [
      ['POST', '/invites'],
      ['GET', `/invites?domain=${DOMAIN}`],
      ['GET', '/invites/by-id/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
      ['DELETE', '/invites/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ] as const) {
      const res = await api(method, path, { auth: server, body: method === 'POST' ? {} : undefined });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body).toMatchObject({ error: 'forbidden' });
    }
  });
});

describe('nothing derived from a password rests in the table', () => {
  it('keeps a pending claim’s fingerprint as an HMAC under CLAIM_KEY, not a plain salted hash', async () => {
    const store = inviteStore();
    const config = loadConfig(stack().env);
    const { invite } = await issueInvite({ store, clock: systemClock, config }, { source: 'test', domains: ['*'], admin: true }, {});
    const jid = `${uniqueName('fp')}@${DOMAIN}`;
    const key = stack().env.CLAIM_KEY as string;
    await store.claim({
      invite,
      jid,
      kind: 'account',
      now: systemClock.now(),
      leaseSeconds: 30,
      fingerprint: passwordFingerprint(key, PASSWORD),
    });
    const { Item } = await documentClientForStack().send(new GetCommand({ TableName: config.tableName, Key: accountLockKey(jid) }));
    const { salt, fingerprint } = Item as { salt: string; fingerprint: string };
    expect(fingerprint).not.toBe(createHash('sha256').update(salt).update(PASSWORD).digest('base64url'));
    // Only with the key, which is not in the table, can a guess be checked.
    const expected = createHmac('sha256', key)
      .update('xmpp-invites/claim-fingerprint/v2\n')
      .update(salt)
      .update('\n')
      .update(PASSWORD)
      .digest('base64url');
    expect(fingerprint).toBe(expected);
  });
});

describe('passwords an XML stream cannot carry', () => {
  it('answers 400 password-weak for noncharacters and lone surrogates, and changes nothing', async () => {
    const res = await api('POST', '/invites', { body: {} });
    for (const password of ['correct horse\uFFFF', 'correct horse\uFDD0', 'correct horse\uD800']) {
      const username = uniqueName('xml');
      const answer = await api('POST', `/invites/${res.body.token}/redeem`, {
        auth: false,
        raw: JSON.stringify({ username, password }),
        headers: { 'content-type': 'application/json' },
      });
      expect(answer.status, JSON.stringify(password)).toBe(400);
      expect(answer.body).toMatchObject({ error: 'password-weak' });
      expect(await admin.accountExists(`${username}@${DOMAIN}`)).toBe(false);
    }
    expect((await api('GET', `/invites/by-id/${res.body.id}`)).body).toMatchObject({ uses: 0 });
  });
});

/** A provisioner that counts the calls a stranger's request costs. */
const counting = (inner: ProvisionerRegistry) => {
  const calls = { accountExists: 0 };
  const registry: ProvisionerRegistry = {
    forDomain: async (domain) => {
      const p = await inner.forDomain(domain);
      return new Proxy(p, {
        get: (target, prop, receiver) =>
          prop === 'accountExists'
            ? (jid: string) => {
                calls.accountExists++;
                return target.accountExists(jid);
              }
            : typeof Reflect.get(target, prop) === 'function'
              ? (Reflect.get(target, prop) as (...a: unknown[]) => unknown).bind(target)
              : Reflect.get(target, prop, receiver),
      });
    },
    close: () => inner.close(),
  };
  return { registry, calls };
};

describe('releasing abandoned claims is bounded, and the owner’s retry wins', () => {
  const config = () => loadConfig(stack().env);
  let registry: ProvisionerRegistryFromConfig;
  beforeAll(() => {
    registry = new ProvisionerRegistryFromConfig(config().xmpp, { tlsCaFile: config().xmppTlsCaFile });
  });
  afterAll(async () => {
    await registry.close();
  });

  it('examines at most a few abandoned claims per request', async () => {
    const store = inviteStore();
    const key = stack().env.CLAIM_KEY as string;
    const { invite, token } = await issueInvite(
      { store, clock: systemClock, config: config() },
      { source: 'test', domains: ['*'], admin: true },
      { maxUses: 8 }
    );
    const longAgo = systemClock.now() - 120;
    for (let i = 0; i < 8; i++) {
      const fresh = (await store.get(invite.id))!;
      await store.claim({
        invite: fresh,
        jid: `${uniqueName('dead')}@${DOMAIN}`,
        kind: 'account',
        now: longAgo,
        leaseSeconds: 30,
        fingerprint: passwordFingerprint(key, `pw-${i}-xyz`),
      });
    }
    const { registry: xmpp, calls } = counting(registry);
    const released = await releaseStaleClaims({ store, xmpp, clock: systemClock }, invite.id);
    expect(released).toBe(STALE_CLAIMS_PER_REQUEST);
    expect(calls.accountExists).toBe(STALE_CLAIMS_PER_REQUEST);
    // The next redeem takes one of the uses that came back.
    const username = uniqueName('next');
    await expect(
      redeemInvite({ store, xmpp, clock: systemClock, config: config(), claimKey: claimKeyResolver(config()) }, token, {
        username,
        password: PASSWORD,
      })
    ).resolves.toMatchObject({ jid: `${username}@${DOMAIN}` });
  });

  it('never takes a lease: an owner who took the claim over in between keeps it', async () => {
    const store = inviteStore();
    const key = stack().env.CLAIM_KEY as string;
    const { invite } = await issueInvite(
      { store, clock: systemClock, config: config() },
      { source: 'test', domains: ['*'], admin: true },
      {}
    );
    const jid = `${uniqueName('owner')}@${DOMAIN}`;
    const now = systemClock.now();
    await store.claim({ invite, jid, kind: 'account', now: now - 60, leaseSeconds: 30, fingerprint: passwordFingerprint(key, PASSWORD) });
    const seenByStranger = (await store.getClaim('account', jid, invite.id))!;
    // The owner's retry takes the claim over after the stranger read it ...
    expect(await store.renewLease(seenByStranger, 'account', now, CLAIM_LEASE_SECONDS)).toBeDefined();
    // ... so the stranger's release, conditional on the lease it saw, does nothing.
    expect(await store.release(seenByStranger, 'account', (await store.get(invite.id))!, { onlyIfLeaseUnchanged: true })).toBe(false);
    expect(await store.getClaim('account', jid, invite.id)).toMatchObject({ status: 'pending', leaseUntil: now + CLAIM_LEASE_SECONDS });

    // A stranger whose claim attempt finds the invite used up renews nobody's lease.
    await admin.createAccount(jid, PASSWORD);
    const before = (await store.getClaim('account', jid, invite.id))!;
    await releaseStaleClaims({ store, xmpp: registry, clock: { now: () => now + 31 } }, invite.id);
    expect(await store.getClaim('account', jid, invite.id)).toEqual(before);
  });
});

describe('open registration takes the JID lock', () => {
  const deps = () => {
    const config = { ...loadConfig(stack().env), registrationInviteOnly: false };
    const xmpp = new ProvisionerRegistryFromConfig(config.xmpp, { tlsCaFile: config.xmppTlsCaFile });
    const locks = new DynamoDBRegistrationLocks({ tableName: config.tableName, client: documentClientForStack() });
    return { xmpp, locks, clock: systemClock, config };
  };

  it('cannot take a username an invite reserved, and an invite cannot reserve a registered one', async () => {
    const d = deps();
    try {
      const reserved = uniqueName('rsv');
      const invite = await api('POST', '/invites', { body: { username: reserved } });
      expect(invite.status).toBe(201);
      await expect(registerAccount(d, { username: reserved, password: PASSWORD })).rejects.toMatchObject({ code: 'username-taken' });
      expect(await admin.accountExists(`${reserved}@${DOMAIN}`)).toBe(false);

      const registered = uniqueName('reg');
      await expect(registerAccount(d, { username: registered, password: PASSWORD })).resolves.toEqual({ jid: `${registered}@${DOMAIN}` });
      expect(await canLogin(`${registered}@${DOMAIN}`, PASSWORD)).toBe(true);
      const late = await api('POST', '/invites', { body: { username: registered } });
      expect(late.status).toBe(409);
      expect(late.body).toMatchObject({ error: 'username-taken' });
    } finally {
      await d.xmpp.close();
    }
  });

  it('frees the name when the server refuses the account', async () => {
    const d = deps();
    try {
      const existing = uniqueName('old');
      await admin.createAccount(`${existing}@${DOMAIN}`, PASSWORD);
      await expect(registerAccount(d, { username: existing, password: 'another good secret' })).rejects.toMatchObject({
        code: 'username-taken',
      });
      const { Item } = await documentClientForStack().send(
        new GetCommand({ TableName: d.config.tableName, Key: accountLockKey(`${existing}@${DOMAIN}`) })
      );
      expect(Item).toBeUndefined();
    } finally {
      await d.xmpp.close();
    }
  });
});
