/**
 * What happens when the XMPP side fails: a server that goes away mid-run, a
 * wrong admin password, a Lambda that died between claim and commit. The real
 * redeem handler runs in this process against a private Prosody of this file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDBInviteStore } from '../../lib/adapters/dynamodb/DynamoDBInviteStore.js';
import { ProsodyProvisioner } from '../../lib/adapters/xmpp/ProsodyProvisioner.js';
import type { IssueInput } from '../../lib/invites/issue.js';
import { passwordFingerprint } from '../../lib/invites/password.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { startProsody, type LocalProsody } from '../../scripts/local/prosody.js';
import { prosodyEnv } from '../../scripts/local/stack.js';
import { invoke, invokeRedeem } from '../support/lambda.js';
import { documentClientForStack, issueInStore, stack, uniqueName } from '../support/stack.js';

const PASSWORD = 'correct horse battery';
let prosody: LocalProsody;
let admin: ProsodyProvisioner;
let store: DynamoDBInviteStore;
let inviter: string;
let dir: string;

const envFor = (p: LocalProsody, overrides: Record<string, string> = {}) => ({
  ...stack().env,
  ...prosodyEnv(p),
  INVITES_DOMAINS: stack().env.INVITES_DOMAINS as string,
  XMPP_TIMEOUT_MS: '2000',
  ...overrides,
});

/** A fresh module graph (config, warm connection) built from `env`, like a new Lambda container. */
const freshHandler = async (path: string, env: Record<string, string>) => {
  vi.resetModules();
  Object.assign(process.env, env);
  return (await import(path)).handler as unknown;
};

/** The redeem handler of a fresh container on this file's Prosody. */
const freshRedeemHandler = (overrides: Record<string, string> = {}) =>
  freshHandler('../../functions/redeemInvite.js', envFor(prosody, overrides));

const issue = (input: IssueInput) => issueInStore(store, input);

/**
 * A pending account claim of `jid` on the invite, made `ageSeconds` ago with
 * PASSWORD by a request that then died; its 30-second lease has run out once
 * the age is over 30.
 */
const claimLeftBehind = async (inviteId: string, jid: string, ageSeconds: number) =>
  store.claim({
    invite: (await store.get(inviteId))!,
    jid,
    kind: 'account',
    now: systemClock.now() - ageSeconds,
    leaseSeconds: 30,
    fingerprint: passwordFingerprint(stack().env.CLAIM_KEY as string, PASSWORD),
  });

const captureOutput = () => {
  let out = '';
  const spies = [process.stdout, process.stderr].map((stream) =>
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += chunk.toString();
      return true;
    })
  );
  const consoleSpies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
    vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
      out += args.map(String).join(' ');
    })
  );
  return {
    text: () => out,
    restore: () => {
      for (const s of [...spies, ...consoleSpies]) s.mockRestore();
    },
  };
};

const adminOf = (p: LocalProsody) => ProsodyProvisioner.at({ ...p, password: () => p.adminPassword, timeoutMs: 3000, tlsCaFile: p.caFile });

beforeAll(async () => {
  // Our own directory, so the server can stop and come back with its data.
  dir = mkdtempSync(join(tmpdir(), 'xmpp-invites-failures-'));
  prosody = await startProsody({ dir });
  store = new DynamoDBInviteStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
  admin = adminOf(prosody);
  inviter = `${uniqueName('inviter')}@localhost`;
  await admin.createAccount(inviter, 'inviter password 1');
});
afterAll(async () => {
  await admin?.close();
  await prosody?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('an XMPP server that goes away', () => {
  it('answers 503 xmpp-unavailable with Retry-After, keeps the invite usable, and recovers when the server is back', async () => {
    const handler = await freshRedeemHandler();
    // Warm: the container holds an admin connection.
    const warm = await issue({ inviter });
    expect((await invokeRedeem(handler, warm.token, { username: uniqueName(), password: PASSWORD })).status).toBe(201);

    // The server stops; the same container gets the next request.
    const invite = await issue({ inviter });
    const username = uniqueName('patient');
    const port = prosody.c2sPort;
    const adminPassword = prosody.adminPassword;
    await admin.close();
    await prosody.stop();
    const down = await invokeRedeem(handler, invite.token, { username, password: PASSWORD });
    expect(down.status).toBe(503);
    expect(down.body.error).toBe('xmpp-unavailable');
    expect(Number(down.headers['retry-after'])).toBeGreaterThan(0);
    const found = await store.get(invite.id);
    expect(found).toMatchObject({ uses: 0, pending: 0 });

    // The server comes back on the same port with the same data.
    prosody = await startProsody({ c2sPort: port, httpPort: prosody.httpPort, adminPassword, dir });
    admin = adminOf(prosody);
    const back = await invokeRedeem(handler, invite.token, { username, password: PASSWORD });
    expect(back.status).toBe(201);
    expect((await admin.getRoster(inviter)).find((i) => i.jid === `${username}@localhost`)?.subscription).toBe('both');
    expect(await store.get(invite.id)).toMatchObject({ uses: 1, pending: 0 });
  });
});

describe('a wrong admin password', () => {
  it('answers 503 and never shows the secret in the response or the logs', async () => {
    const secret = `wrong-${uniqueName('secret')}`;
    const handler = await freshRedeemHandler({ XMPP_ADMIN_PASSWORD: secret, POWERTOOLS_LOG_LEVEL: 'DEBUG' });
    const invite = await issue({});
    const username = uniqueName();
    const output = captureOutput();
    let res;
    try {
      res = await invokeRedeem(handler, invite.token, { username, password: PASSWORD });
    } finally {
      output.restore();
    }
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('xmpp-unavailable');
    expect(res.text).not.toContain(secret);
    expect(output.text()).toContain('xmpp-unavailable');
    expect(output.text()).not.toContain(secret);
    expect(output.text()).not.toContain(PASSWORD);
    expect(output.text()).not.toContain(invite.token);
    expect(await store.get(invite.id)).toMatchObject({ uses: 0, pending: 0 });
    expect(await admin.accountExists(`${username}@localhost`)).toBe(false);
  });
});

describe('a redemption cut off half-way', () => {
  it('resumes a claim whose Lambda died before creating the account, for the same request only', async () => {
    const handler = await freshRedeemHandler();
    const invite = await issue({ inviter });
    const username = uniqueName('resume');
    const jid = `${username}@localhost`;
    // The attempt that made this claim died a minute ago: its lease has run out.
    await claimLeftBehind(invite.id, jid, 60);
    expect(await store.get(invite.id)).toMatchObject({ uses: 1, pending: 1 });

    const other = await invokeRedeem(handler, invite.token, { username, password: 'another password' });
    expect(other.status).toBe(409);
    expect(other.body.error).toBe('redemption-in-progress');
    expect(await admin.accountExists(jid)).toBe(false);

    const retry = await invokeRedeem(handler, invite.token, { username, password: PASSWORD });
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual({ jid });
    expect((await admin.getRoster(jid)).find((i) => i.jid === inviter)?.subscription).toBe('both');
    expect(await store.get(invite.id)).toMatchObject({ uses: 1, pending: 0 });
  });

  it('answers redemption-in-progress with Retry-After while the claim may still be running', async () => {
    const handler = await freshRedeemHandler();
    const invite = await issue({});
    const username = uniqueName('busy');
    await claimLeftBehind(invite.id, `${username}@localhost`, 0);
    const res = await invokeRedeem(handler, invite.token, { username, password: PASSWORD });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe('redemption-in-progress');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(20);
    expect(await admin.accountExists(`${username}@localhost`)).toBe(false);
  });

  it('never adopts an account made elsewhere with another password, and gives the use back', async () => {
    const handler = await freshRedeemHandler();
    const invite = await issue({ inviter });
    const username = uniqueName('elsewhere');
    const jid = `${username}@localhost`;
    await claimLeftBehind(invite.id, jid, 60);
    await admin.createAccount(jid, 'the owner password');
    const res = await invokeRedeem(handler, invite.token, { username, password: PASSWORD });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe('username-taken');
    expect(await admin.verifyPassword(jid, 'the owner password')).toBe(true);
    expect(await store.get(invite.id)).toMatchObject({ uses: 0, pending: 0 });
    expect((await admin.getRoster(inviter)).find((i) => i.jid === jid)).toBeUndefined();
  });

  it('resumes after the account was created but before the rosters were linked', async () => {
    const handler = await freshRedeemHandler();
    const invite = await issue({ inviter, groups: ['Team'] });
    const username = uniqueName('halfway');
    const jid = `${username}@localhost`;
    await claimLeftBehind(invite.id, jid, 60);
    // It died right after creating the account: the retry adopts it, since
    // the account accepts the very password of the claim.
    await admin.createAccount(jid, PASSWORD);

    const retry = await invokeRedeem(handler, invite.token, { username, password: PASSWORD });
    expect(retry.status).toBe(201);
    const item = (await admin.getRoster(inviter)).find((i) => i.jid === jid);
    expect(item).toMatchObject({ subscription: 'both', groups: ['Team'] });
    expect(await store.getWithRedemptions(invite.id)).toMatchObject({
      invite: { uses: 1, pending: 0 },
      redemptions: [{ jid, kind: 'account' }],
    });
  });
});

describe('a claim whose request died and is never retried', () => {
  it('gives its use back to the next person when nothing was created', async () => {
    const handler = await freshRedeemHandler();
    const invite = await issue({ inviter });
    const gone = `${uniqueName('gone')}@localhost`;
    await claimLeftBehind(invite.id, gone, 60);
    expect(await store.get(invite.id)).toMatchObject({ uses: 1, pending: 1, pendingJids: [gone] });

    const username = uniqueName('next');
    const res = await invokeRedeem(handler, invite.token, { username, password: PASSWORD });
    expect(res.status).toBe(201);
    expect(await store.getWithRedemptions(invite.id)).toMatchObject({
      invite: { uses: 1, pending: 0, pendingJids: [] },
      redemptions: [{ jid: `${username}@localhost` }],
    });
    expect(await store.getClaim('account', gone, invite.id)).toBeUndefined();
  });

  it('keeps the use when the account was created, for its owner to resume', async () => {
    const handler = await freshRedeemHandler();
    const invite = await issue({ inviter });
    const owner = uniqueName('owner');
    const jid = `${owner}@localhost`;
    await claimLeftBehind(invite.id, jid, 60);
    await admin.createAccount(jid, PASSWORD);

    const other = await invokeRedeem(handler, invite.token, { username: uniqueName('late'), password: PASSWORD });
    expect([other.status, other.body.error]).toEqual([410, 'token-used']);
    expect(await store.get(invite.id)).toMatchObject({ uses: 1, pending: 1 });

    // The recovery took the lease for a moment; once it ran out the owner resumes.
    const claim = (await store.getClaim('account', jid, invite.id))!;
    await store.renewLease({ ...claim }, 'account', (claim.leaseUntil as number) + 1, -60);
    const resumed = await invokeRedeem(handler, invite.token, { username: owner, password: PASSWORD });
    expect(resumed.status).toBe(201);
    expect((await admin.getRoster(inviter)).find((i) => i.jid === jid)?.subscription).toBe('both');
    expect(await store.get(invite.id)).toMatchObject({ uses: 1, pending: 0 });
  });
});

describe('POST /register with registrationInviteOnly = false', () => {
  it('creates accounts without an invite, with the same validation', async () => {
    const handler = await freshHandler('../../functions/register.js', envFor(prosody, { REGISTRATION_INVITE_ONLY: 'false' }));
    const call = (body: Record<string, unknown>) => invoke(handler, { method: 'POST', path: '/register', body });
    const username = uniqueName('open');
    const res = await call({ username, password: PASSWORD });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ jid: `${username}@localhost` });
    expect(await admin.accountExists(`${username}@localhost`)).toBe(true);
    expect((await call({ username, password: PASSWORD })).body.error).toBe('username-taken');
    expect((await call({ username: 'bad name', password: PASSWORD })).body.error).toBe('username-invalid');
    expect((await call({ username: uniqueName(), password: 'short' })).body.error).toBe('password-weak');
    expect((await call({ username: uniqueName(), password: PASSWORD, domain: 'evil.example' })).body.error).toBe('domain-not-served');
  });
});
