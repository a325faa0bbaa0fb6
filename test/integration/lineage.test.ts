import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { DynamoDBLineageStore } from '../../lib/adapters/dynamodb/DynamoDBLineageStore.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { invoke } from '../support/lambda.js';
import { api, documentClientForStack, issue, prosodyAdmin, stack, uniqueName, useStackEnv } from '../support/stack.js';

/**
 * Lineage (issue 19): every account made through the service keeps who
 * brought it in, for the life of the account, whatever path made it.
 */
const PASSWORD = 'correct horse battery';

let lineage: DynamoDBLineageStore;
let serverKey: string;

const table = () => stack().env.INVITES_TABLE as string;

const redeem = (token: string, username: string) =>
  api('POST', `/invites/${token}/redeem`, { body: { username, password: PASSWORD }, auth: false });

const redeemOnWeb = (token: string, username: string) =>
  api('POST', `/i/${token}`, {
    raw: new URLSearchParams({ username, password: PASSWORD, confirm: PASSWORD }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    auth: false,
  });

const registerInApp = (token: string, username: string) =>
  api('POST', '/xmpp/register', { body: { token, domain: 'localhost', username, password: PASSWORD }, auth: serverKey });

/** An account on the test Prosody that may invite others. */
const newAccount = async (prefix: string) => {
  const jid = `${uniqueName(prefix)}@localhost`;
  const admin = prosodyAdmin();
  try {
    await admin.createAccount(jid, PASSWORD);
  } finally {
    await admin.close();
  }
  return jid;
};

beforeAll(async () => {
  useStackEnv();
  lineage = new DynamoDBLineageStore({ tableName: table(), client: documentClientForStack() });
  const keys = new DynamoDBApiKeyStore({ tableName: table(), client: documentClientForStack() });
  serverKey = (
    await createApiKey({ store: keys, clock: systemClock }, { name: uniqueName('prosody-'), domains: ['localhost'], kind: 'xmpp-server' })
  ).secret;
});

describe('Lineage records', () => {
  it('records who invited an account redeemed through the API: inviter, invite, source, when, how', async () => {
    const inviter = await newAccount('romeo');
    const invite = await issue({ inviter });
    const username = uniqueName('juliet');
    const before = Math.floor(Date.now() / 1000);

    expect((await redeem(invite.token, username)).status).toBe(201);

    const record = await lineage.get(`${username}@localhost`);
    expect(record).toMatchObject({
      jid: `${username}@localhost`,
      domain: 'localhost',
      invitedBy: inviter,
      inviteId: invite.id,
      via: 'api',
      status: 'active',
      recorded: true,
    });
    expect(record?.source).toMatch(/^api-key:/);
    expect(record?.joinedAt).toBeGreaterThanOrEqual(before);
    expect((await lineage.invitees(inviter, { limit: 10 })).items.map((r) => r.jid)).toEqual([`${username}@localhost`]);
  });

  it('records accounts made on the web form and in an app, and an invite without inviter under its source', async () => {
    const inviter = await newAccount('nurse');
    const web = uniqueName('web');
    const app = uniqueName('app');
    const webInvite = await issue({ inviter });
    const appInvite = await issue({ inviter });
    const keyInvite = await issue({});
    const byKey = uniqueName('bykey');

    expect((await redeemOnWeb(webInvite.token, web)).status).toBe(200);
    expect((await registerInApp(appInvite.token, app)).status).toBe(201);
    expect((await redeem(keyInvite.token, byKey)).status).toBe(201);

    expect(await lineage.get(`${web}@localhost`)).toMatchObject({ invitedBy: inviter, inviteId: webInvite.id, via: 'web' });
    expect(await lineage.get(`${app}@localhost`)).toMatchObject({ invitedBy: inviter, inviteId: appInvite.id, via: 'app' });
    const keyed = await lineage.get(`${byKey}@localhost`);
    expect(keyed).toMatchObject({ invitedBy: null, inviteId: keyInvite.id, via: 'api' });
    // "Whom did this key bring in" is the same Query, under the key's source.
    expect((await lineage.invitees(keyed!.source, { limit: 200 })).items.map((r) => r.jid)).toContain(`${byKey}@localhost`);
    const invitees = (await lineage.invitees(inviter, { limit: 10 })).items.map((r) => r.jid);
    expect(invitees.sort()).toEqual([`${web}@localhost`, `${app}@localhost`].sort());
  });

  it('records an open registration (no invite) as such', async () => {
    Object.assign(process.env, { REGISTRATION_INVITE_ONLY: 'false' });
    const { handler } = await import('../../functions/register.js');
    const username = uniqueName('open');

    const res = await invoke(handler, { method: 'POST', path: '/register', body: { username, password: PASSWORD } });

    expect(res.status).toBe(201);
    expect(await lineage.get(`${username}@localhost`)).toMatchObject({
      invitedBy: null,
      inviteId: null,
      source: 'open-registration',
      via: 'api',
      status: 'active',
      recorded: true,
    });
  });

  it('outlives the invite: an invite deleted as TTL would still leaves the account its inviter', async () => {
    const inviter = await newAccount('tybalt');
    const invite = await issue({ inviter, maxUses: 1 });
    const username = uniqueName('mercutio');
    expect((await redeem(invite.token, username)).status).toBe(201);

    await documentClientForStack().send(new DeleteCommand({ TableName: table(), Key: { pk: `INV#${invite.id}`, sk: 'INV' } }));

    expect(await lineage.get(`${username}@localhost`)).toMatchObject({ invitedBy: inviter, inviteId: invite.id, recorded: true });
    const shown = await api('GET', `/lineage/${encodeURIComponent(`${username}@localhost`)}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ jid: `${username}@localhost`, invitedBy: inviter, inviteId: invite.id, status: 'active' });
  });

  it('reads an account made before lineage records from its completed claim (the fallback)', async () => {
    const inviter = await newAccount('capulet');
    const invite = await issue({ inviter });
    const username = uniqueName('old');
    const jid = `${username}@localhost`;
    expect((await redeem(invite.token, username)).status).toBe(201);
    // As if made by a release without lineage records.
    await documentClientForStack().send(new DeleteCommand({ TableName: table(), Key: { pk: `ACCT#${jid}`, sk: 'LINEAGE' } }));

    expect(await lineage.get(jid)).toMatchObject({ jid, invitedBy: inviter, inviteId: invite.id, recorded: false });
  });
});

/** Three generations: root invites (API) a, a invites (web form) b, b invites (app) c. */
const threeGenerations = async () => {
  const root = await newAccount('root');
  const a = `${uniqueName('gen1')}@localhost`;
  const b = `${uniqueName('gen2')}@localhost`;
  const c = `${uniqueName('gen3')}@localhost`;
  const local = (jid: string) => jid.split('@')[0] as string;
  expect((await redeem((await issue({ inviter: root })).token, local(a))).status).toBe(201);
  expect((await redeemOnWeb((await issue({ inviter: a })).token, local(b))).status).toBe(200);
  const appInvite = await api('POST', '/xmpp/invites', { body: { domain: 'localhost', inviter: b, type: 'contact' }, auth: serverKey });
  expect(appInvite.status).toBe(201);
  const appToken = (appInvite.body.landingUrl as string).split('/i/')[1] as string;
  expect((await registerInApp(appToken, local(c))).status).toBe(201);
  return { root, a, b, c };
};

const lineageOf = (jid: string, query = '', auth?: string) =>
  api('GET', `/lineage/${encodeURIComponent(jid)}${query}`, auth === undefined ? {} : { auth });

describe('GET /lineage/{jid}', () => {
  it('reads three generations made through the API, the web form and an app back as one tree', async () => {
    const { root, a, b, c } = await threeGenerations();

    const tree = await lineageOf(root, '?depth=3');

    expect(tree.status).toBe(200);
    expect(tree.body).toMatchObject({
      jid: root,
      invitedBy: null,
      source: 'external',
      invitees: {
        cursor: null,
        items: [
          {
            jid: a,
            invitedBy: root,
            via: 'api',
            invitees: { items: [{ jid: b, invitedBy: a, via: 'web', invitees: { items: [{ jid: c, invitedBy: b, via: 'app' }] } }] },
          },
        ],
      },
    });
    // depth 1: the direct invitees only.
    const direct = await lineageOf(a);
    expect(direct.body.invitees.items.map((i: { jid: string }) => i.jid)).toEqual([b]);
    expect(direct.body.invitees.items[0].invitees).toBeUndefined();
    expect((await lineageOf(c)).body).toMatchObject({ jid: c, invitedBy: b, status: 'active', invitees: { items: [], cursor: null } });
  });

  it('pages invitees with a cursor (one Query a page)', async () => {
    const inviter = await newAccount('paged');
    const invite = await issue({ inviter, maxUses: 3 });
    const names = [uniqueName('p'), uniqueName('p'), uniqueName('p')];
    for (const name of names) expect((await redeem(invite.token, name)).status).toBe(201);

    const first = await lineageOf(inviter, '?limit=2');
    const second = await lineageOf(inviter, `?limit=2&cursor=${encodeURIComponent(first.body.invitees.cursor)}`);

    expect(first.body.invitees.items).toHaveLength(2);
    expect(second.body.invitees).toMatchObject({ cursor: null });
    const all = [...first.body.invitees.items, ...second.body.invitees.items].map((i: { jid: string }) => i.jid);
    expect(all.sort()).toEqual(names.map((n) => `${n}@localhost`).sort());
  });

  it("answers 404 for an account it never made, 400 for bad parameters, and 403 outside the key's domains or to a quota'd key", async () => {
    const keys = new DynamoDBApiKeyStore({ tableName: table(), client: documentClientForStack() });
    const other = (await createApiKey({ store: keys, clock: systemClock }, { name: uniqueName('other-'), domains: ['other.example'] }))
      .secret;
    const quotad = (
      await createApiKey({ store: keys, clock: systemClock }, { name: uniqueName('quota-'), domains: ['localhost'], maxLiveInvites: 5 })
    ).secret;
    const { a } = await threeGenerations();

    expect((await lineageOf(`${uniqueName('nobody')}@localhost`)).body.error).toBe('account-not-found');
    expect((await lineageOf(a, '?depth=6')).body.error).toBe('invalid-request');
    expect((await lineageOf(a, '?depth=0')).body.error).toBe('invalid-request');
    expect((await lineageOf(a, '?cursor=forged')).body.error).toBe('cursor-invalid');
    expect((await lineageOf(a, '?colour=red')).body.error).toBe('invalid-request');
    expect((await lineageOf('not a jid')).body.error).toBe('jid-invalid');
    expect((await lineageOf(a, '', other)).status).toBe(403);
    expect((await lineageOf(a, '', quotad)).status).toBe(403);
    expect((await lineageOf(a, '', serverKey)).status).toBe(403);
    expect((await api('GET', `/lineage/${encodeURIComponent(a)}`, { auth: false })).status).toBe(401);
  });

  it('prints the tree with invites-admin lineage JID --depth N', async () => {
    const { root, a, b, c } = await threeGenerations();
    const bin = fileURLToPath(new URL('../../bin/invites-admin.js', import.meta.url));

    const { stdout } = await promisify(execFile)(process.execPath, [bin, 'lineage', root, '--depth', '3'], {
      env: { ...process.env, ...stack().env },
    });

    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toContain(`${root}  invited by external`);
    expect(lines[1]).toMatch(new RegExp(`^└── ${a}  \\(api, `));
    expect(lines[2]).toMatch(new RegExp(`^    └── ${b}  \\(web, `));
    expect(lines[3]).toMatch(new RegExp(`^        └── ${c}  \\(app, `));
  });
});

describe('POST /xmpp/account-deleted (a module reports a local account deleted)', () => {
  const reportDeleted = (jid: string, auth = serverKey, domain = 'localhost') =>
    api('POST', '/xmpp/account-deleted', { body: { domain, jid }, auth });

  it("revokes the account's live invites at once and keeps its record, marked deleted; again changes nothing", async () => {
    const { a, b } = await threeGenerations();
    const live = await issue({ inviter: b, maxUses: 5 });
    const used = await issue({ inviter: b, maxUses: 1 });
    expect((await redeem(used.token, uniqueName('used'))).status).toBe(201);
    const ofA = await issue({ inviter: a });

    const res = await reportDeleted(b);
    const again = await reportDeleted(b);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ jid: b, status: 'deleted', revoked: 1 });
    expect(again.body).toEqual({ jid: b, status: 'deleted', revoked: 0 });
    expect((await api('GET', `/invites/${live.token}`, { auth: false })).body.error).toBe('token-revoked');
    expect((await api('GET', `/invites/${ofA.token}`, { auth: false })).status).toBe(200);
    const record = await lineageOf(b, '?depth=2');
    expect(record.body).toMatchObject({ jid: b, invitedBy: a, status: 'deleted', deletedAt: expect.any(String) });
    // The tree stays whole: b's invitee is still there, and b still under a.
    expect(record.body.invitees.items).toHaveLength(2);
    expect((await lineageOf(a)).body.invitees.items[0]).toMatchObject({ jid: b, status: 'deleted' });
  });

  it('answers 403 for an account of another domain or to an admin API key, 401 without a key, 400 for a bad JID; changes nothing', async () => {
    const inviter = await newAccount('safe');
    const invite = await issue({ inviter });

    expect((await reportDeleted('x@other.example')).status).toBe(403);
    expect((await reportDeleted(inviter, serverKey, 'other.example')).status).toBe(403);
    expect((await api('POST', '/xmpp/account-deleted', { body: { domain: 'localhost', jid: inviter } })).status).toBe(403);
    expect((await api('POST', '/xmpp/account-deleted', { body: { domain: 'localhost', jid: inviter }, auth: false })).status).toBe(401);
    expect((await reportDeleted('not a jid')).body.error).toBe('jid-invalid');
    expect((await api('POST', '/xmpp/account-deleted', { body: { domain: 'localhost' }, auth: serverKey })).status).toBe(400);

    expect((await api('GET', `/invites/${invite.token}`, { auth: false })).status).toBe(200);
    expect((await lineageOf(inviter)).status).toBe(404);
  });
});

const tokenStatus = async (token: string) => {
  const res = await api('GET', `/invites/${token}`, { auth: false });
  return res.status === 200 ? 'valid' : (res.body?.error as string);
};

const revokeBranch = (jid: string, body: Record<string, unknown>, auth?: string) =>
  api('POST', `/lineage/${encodeURIComponent(jid)}/revoke`, { body, ...(auth === undefined ? {} : { auth }) });

describe('POST /lineage/{jid}/revoke', () => {
  it('a dry run answers what a subtree revoke would revoke and changes nothing; the revoke turns every live invite below into token-revoked', async () => {
    const { root, a, b, c } = await threeGenerations();
    const below = [await issue({ inviter: a }), await issue({ inviter: b, maxUses: 3 }), await issue({ inviter: c, type: 'contact' })];
    const ofRoot = await issue({ inviter: root });
    const outside = await issue({ inviter: await newAccount('outside') });

    const dry = await revokeBranch(a, { subtree: true, dryRun: true });

    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ jid: a, subtree: true, dryRun: true, accounts: 3, cursor: null });
    expect(dry.body.inviteIds).toEqual(expect.arrayContaining(below.map((i) => i.id)));
    expect(dry.body.inviteIds).not.toContain(ofRoot.id);
    expect(dry.body.revoked).toBe(dry.body.inviteIds.length);
    for (const invite of [...below, ofRoot, outside]) expect(await tokenStatus(invite.token)).toBe('valid');

    const done = await revokeBranch(a, { subtree: true });

    expect(done.body).toMatchObject({ jid: a, subtree: true, dryRun: false, cursor: null });
    expect([...done.body.inviteIds].sort()).toEqual([...dry.body.inviteIds].sort());
    for (const invite of below) expect(await tokenStatus(invite.token)).toBe('token-revoked');
    expect(await tokenStatus(ofRoot.token)).toBe('valid');
    expect(await tokenStatus(outside.token)).toBe('valid');
    expect((await revokeBranch(a, { subtree: true })).body).toMatchObject({ revoked: 0, inviteIds: [], cursor: null });
  });

  it("without subtree revokes only the account's own live invites", async () => {
    const { a, b } = await threeGenerations();
    const own = await issue({ inviter: a });
    const ofInvitee = await issue({ inviter: b });

    const res = await revokeBranch(a, {});

    expect(res.body).toMatchObject({ jid: a, subtree: false, dryRun: false, revoked: 1, inviteIds: [own.id], accounts: 1, cursor: null });
    expect(await tokenStatus(own.token)).toBe('token-revoked');
    expect(await tokenStatus(ofInvitee.token)).toBe('valid');
  });

  it('does bounded work per request: a cursor continues, and the pages together revoke the whole subtree', async () => {
    const { DynamoDBInviteStore } = await import('../../lib/adapters/dynamodb/DynamoDBInviteStore.js');
    const { revokeLineage } = await import('../../lib/lineage/containment.js');
    const store = new DynamoDBInviteStore({ tableName: table(), client: documentClientForStack() });
    const { a, b, c } = await threeGenerations();
    const live = [];
    for (const inviter of [a, a, b, b, c, c]) live.push(await issue({ inviter }));
    const deps = { store, lineage, clock: systemClock, limits: { invites: 2, queries: 3 } };
    const admin = { source: 'test', domains: ['localhost'], admin: true };

    const pages = [];
    let cursor: string | undefined;
    do {
      const page = await revokeLineage(deps, admin, a, { subtree: true, cursor });
      pages.push(page);
      cursor = page.cursor ?? undefined;
    } while (cursor && pages.length < 50);

    expect(pages.length).toBeGreaterThan(3);
    for (const page of pages) expect(page.inviteIds.length).toBeLessThanOrEqual(2);
    expect(pages.flatMap((p) => p.inviteIds)).toEqual(expect.arrayContaining(live.map((i) => i.id)));
    for (const invite of live) expect(await tokenStatus(invite.token)).toBe('token-revoked');
  });

  it("refuses a forged or foreign cursor and bad input (400, nothing changed); 403 to quota'd keys and other domains", async () => {
    const { a, b } = await threeGenerations();
    const live = await issue({ inviter: a });
    const keys = new DynamoDBApiKeyStore({ tableName: table(), client: documentClientForStack() });
    const other = (await createApiKey({ store: keys, clock: systemClock }, { name: uniqueName('other-'), domains: ['other.example'] }))
      .secret;
    const quotad = (
      await createApiKey({ store: keys, clock: systemClock }, { name: uniqueName('quota-'), domains: ['localhost'], maxLiveInvites: 5 })
    ).secret;
    // An admin key of localhost only: a cursor must not take it to another domain.
    const local = (await createApiKey({ store: keys, clock: systemClock }, { name: uniqueName('local-'), domains: ['localhost'] })).secret;
    const forged = Buffer.from(JSON.stringify({ r: a, s: true, d: false, st: [{ j: 'x@other.example', p: 'i' }] })).toString('base64url');
    const ofB = Buffer.from(JSON.stringify({ r: b, s: true, d: false, st: [{ j: a, p: 'i' }] })).toString('base64url');

    expect((await revokeBranch(a, { subtree: true, cursor: 'not-a-cursor' })).body.error).toBe('cursor-invalid');
    expect((await revokeBranch(a, { subtree: true, cursor: forged }, local)).status).toBe(403);
    expect((await revokeBranch(a, { subtree: true, cursor: ofB })).body.error).toBe('cursor-invalid');
    expect((await revokeBranch(a, { subtree: 'yes' })).status).toBe(400);
    expect((await revokeBranch(a, { everything: true })).status).toBe(400);
    expect((await revokeBranch(a, {}, other)).status).toBe(403);
    expect((await revokeBranch(a, {}, quotad)).status).toBe(403);
    expect((await revokeBranch(a, {}, serverKey)).status).toBe(403);
    expect(await tokenStatus(live.token)).toBe('valid');
  });
});

describe('POST /lineage/{jid}/suspend and /unsuspend', () => {
  const act = (jid: string, action: 'suspend' | 'unsuspend') => api('POST', `/lineage/${encodeURIComponent(jid)}/${action}`);
  const appInvite = (inviter: string, body: Record<string, unknown>) =>
    api('POST', '/xmpp/invites', { body: { domain: 'localhost', inviter, ...body }, auth: serverKey });

  it('revokes the live invites and refuses future ones (API and in-app) until lifted', async () => {
    const inviter = await newAccount('suspect');
    const live = await issue({ inviter });

    const suspended = await act(inviter, 'suspend');

    expect(suspended.status).toBe(200);
    expect(suspended.body).toMatchObject({ jid: inviter, status: 'suspended', revoked: 1, inviteIds: [live.id] });
    expect(await tokenStatus(live.token)).toBe('token-revoked');
    const refused = [
      await api('POST', '/invites', { body: { inviter } }),
      await appInvite(inviter, { type: 'contact' }),
      await appInvite(inviter, { type: 'account', username: uniqueName('n') }),
    ];
    expect(refused.map((r) => [r.status, r.body.error])).toEqual([
      [403, 'inviter-suspended'],
      [403, 'inviter-suspended'],
      [403, 'inviter-suspended'],
    ]);
    expect((await lineageOf(inviter)).body).toMatchObject({ status: 'suspended', suspendedAt: expect.any(String) });

    const lifted = await act(inviter, 'unsuspend');

    expect(lifted.body).toEqual({ jid: inviter, status: 'active' });
    expect((await api('POST', '/invites', { body: { inviter } })).status).toBe(201);
    expect(await tokenStatus(live.token)).toBe('token-revoked');
  });

  it('keeps a deleted account deleted, and answers 403 to a key of another domain', async () => {
    const inviter = await newAccount('gone');
    expect((await api('POST', '/xmpp/account-deleted', { body: { domain: 'localhost', jid: inviter }, auth: serverKey })).status).toBe(200);

    expect((await act(inviter, 'suspend')).body).toMatchObject({ status: 'deleted' });
    expect((await act(inviter, 'unsuspend')).body).toMatchObject({ status: 'deleted' });
    expect((await api('POST', '/invites', { body: { inviter } })).body.error).toBe('inviter-suspended');
    const keys = new DynamoDBApiKeyStore({ tableName: table(), client: documentClientForStack() });
    const other = (await createApiKey({ store: keys, clock: systemClock }, { name: uniqueName('other-'), domains: ['other.example'] }))
      .secret;
    const foreign = await api('POST', `/lineage/${encodeURIComponent(inviter)}/suspend`, { auth: other });
    expect([foreign.status, foreign.body.error]).toEqual([403, 'forbidden']);
  });
});

describe('invites-admin keys revoke ID --revoke-invites', () => {
  it("revokes the key and every live invite it issued; other keys' invites stay valid", async () => {
    const keys = new DynamoDBApiKeyStore({ tableName: table(), client: documentClientForStack() });
    const { apiKey, secret } = await createApiKey(
      { store: keys, clock: systemClock },
      { name: uniqueName('leaked-'), domains: ['localhost'] }
    );
    const issueWith = async (body: Record<string, unknown>) => (await api('POST', '/invites', { body, auth: secret })).body;
    const mine = [await issueWith({}), await issueWith({ inviter: await newAccount('k'), maxUses: 3 })];
    const others = await issue({});
    const bin = fileURLToPath(new URL('../../bin/invites-admin.js', import.meta.url));

    const { stdout } = await promisify(execFile)(process.execPath, [bin, 'keys', 'revoke', apiKey.id, '--revoke-invites'], {
      env: { ...process.env, ...stack().env },
    });

    expect(stdout).toContain(`revoked ${apiKey.id}`);
    expect(stdout).toContain('revoked 2 live invite(s)');
    for (const invite of mine) expect(await tokenStatus(invite.token)).toBe('token-revoked');
    expect(await tokenStatus(others.token)).toBe('valid');
    expect((await api('POST', '/invites', { body: {}, auth: secret })).status).toBe(401);
  });
});

describe('invites created from an app without naming the user as inviter (create-account without roster subscription)', () => {
  const appAccountInvite = async (user: string) => {
    const res = await api('POST', '/xmpp/invites', {
      body: { domain: 'localhost', inviter: user, type: 'account', username: uniqueName('preset'), maxLiveInvites: 5 },
      auth: serverKey,
    });
    expect(res.status).toBe(201);
    return { id: res.body.id as string, token: (res.body.landingUrl as string).split('/i/')[1] as string };
  };

  it('are contained with their user: deleted on the server, suspended, or in a revoked subtree', async () => {
    const { a, b } = await threeGenerations();
    const deletedUser = await newAccount('appdel');
    const suspendedUser = await newAccount('appsus');
    const ofDeleted = await appAccountInvite(deletedUser);
    const ofSuspended = await appAccountInvite(suspendedUser);
    const ofB = await appAccountInvite(b);

    const deleted = await api('POST', '/xmpp/account-deleted', { body: { domain: 'localhost', jid: deletedUser }, auth: serverKey });
    const suspended = await api('POST', `/lineage/${encodeURIComponent(suspendedUser)}/suspend`);
    const dry = await revokeBranch(a, { subtree: true, dryRun: true });
    const branch = await revokeBranch(a, { subtree: true });

    expect(deleted.body.revoked).toBe(1);
    expect(suspended.body.inviteIds).toEqual([ofSuspended.id]);
    expect(dry.body.inviteIds).toContain(ofB.id);
    expect(branch.body.inviteIds).toContain(ofB.id);
    for (const invite of [ofDeleted, ofSuspended, ofB]) expect(await tokenStatus(invite.token)).toBe('token-revoked');
  });
});
