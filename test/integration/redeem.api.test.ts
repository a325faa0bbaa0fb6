import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProsodyProvisioner } from '../../lib/adapters/xmpp/ProsodyProvisioner.js';
import { api, canLogin, documentClientForStack, issue, prosodyAdmin, stack, uniqueName } from '../support/stack.js';

const PASSWORD = 'correct horse battery';
const redeem = (token: string, body: Record<string, unknown>) => api('POST', `/invites/${token}/redeem`, { auth: false, body });
const show = async (id: string) => (await api('GET', `/invites/by-id/${id}`)).body;

let admin: ProsodyProvisioner;
let inviter: string;

beforeAll(async () => {
  admin = prosodyAdmin();
  inviter = `${uniqueName('inviter')}@localhost`;
  await admin.createAccount(inviter, 'inviter password 1');
});
afterAll(async () => {
  await admin.close();
});

const rosterOf = async (jid: string) => admin.getRoster(jid);

describe('POST /invites/{token}/redeem', () => {
  it('creates the account, which logs in, and links inviter and new account both ways with groups', async () => {
    const invite = await issue({ inviter, groups: ['Friends', 'Family'] });
    const username = uniqueName();
    const res = await redeem(invite.token, { username, password: PASSWORD });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ jid: `${username}@localhost` });
    const jid = res.body.jid;
    expect(await canLogin(jid, PASSWORD)).toBe(true);
    expect(await canLogin(jid, 'wrong password!')).toBe(false);
    const mine = (await rosterOf(jid)).find((i) => i.jid === inviter);
    const theirs = (await rosterOf(inviter)).find((i) => i.jid === jid);
    expect(mine).toMatchObject({ subscription: 'both' });
    expect(theirs).toMatchObject({ subscription: 'both' });
    expect(new Set(mine?.groups)).toEqual(new Set(['Friends', 'Family']));
    const after = await show(invite.id);
    expect(after).toMatchObject({ status: 'used', uses: 1, pending: 0, completed: 1 });
    expect(after.redemptions).toEqual([{ jid, kind: 'account', at: expect.any(String) }]);
  });

  it('redeems a contact invite into a mutual subscription with the inviter', async () => {
    const invite = await issue({ type: 'contact', inviter });
    const username = uniqueName('friend');
    const res = await redeem(invite.token, { username, password: PASSWORD });
    expect(res.status).toBe(201);
    expect((await rosterOf(res.body.jid)).find((i) => i.jid === inviter)?.subscription).toBe('both');
    expect((await rosterOf(inviter)).find((i) => i.jid === res.body.jid)?.subscription).toBe('both');
  });

  it('creates an account without roster entries when the invite has no inviter', async () => {
    const invite = await issue({});
    const username = uniqueName();
    const res = await redeem(invite.token, { username, password: PASSWORD });
    expect(res.status).toBe(201);
    expect(await rosterOf(res.body.jid)).toEqual([]);
  });

  it('uses the preset username, which must match when given', async () => {
    const username = uniqueName('preset');
    const invite = await issue({ username, inviter });
    const wrong = await redeem(invite.token, { username: uniqueName(), password: PASSWORD });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('username-mismatch');
    const res = await redeem(invite.token, { password: PASSWORD });
    expect(res.status).toBe(201);
    expect(res.body.jid).toBe(`${username}@localhost`);
    expect(await canLogin(res.body.jid, PASSWORD)).toBe(true);
  });

  it('resets the password of an existing account with a reset invite', async () => {
    const username = uniqueName('forgetful');
    const jid = `${username}@localhost`;
    await admin.createAccount(jid, 'the old password');
    const invite = await issue({ type: 'reset', username });
    const res = await redeem(invite.token, { username, password: 'the new password' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ jid });
    expect(await canLogin(jid, 'the new password')).toBe(true);
    expect(await canLogin(jid, 'the old password')).toBe(false);
    // Only a retry with the same password is answered again; another one is told the invite is used.
    expect((await redeem(invite.token, { username, password: 'the new password' })).status).toBe(200);
    const other = await redeem(invite.token, { username, password: 'a third password' });
    expect([other.status, other.body.error]).toEqual([410, 'token-used']);
    expect(await canLogin(jid, 'the new password')).toBe(true);
  });

  it('answers 404 account-not-found for a reset of a missing account, and keeps the invite usable', async () => {
    const username = uniqueName('ghost');
    const invite = await issue({ type: 'reset', username });
    const res = await redeem(invite.token, { password: PASSWORD });
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('account-not-found');
    expect(await show(invite.id)).toMatchObject({ status: 'valid', uses: 0, pending: 0 });
  });

  it('answers 409 username-taken for an existing account and gives the use back', async () => {
    const taken = uniqueName('taken');
    await admin.createAccount(`${taken}@localhost`, 'somebody else pw');
    const invite = await issue({ inviter });
    const res = await redeem(invite.token, { username: taken.toUpperCase(), password: PASSWORD });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe('username-taken');
    expect(await canLogin(`${taken}@localhost`, 'somebody else pw')).toBe(true);
    expect(await show(invite.id)).toMatchObject({ status: 'valid', uses: 0, pending: 0 });
    const ok = await redeem(invite.token, { username: uniqueName(), password: PASSWORD });
    expect(ok.status).toBe(201);
  });

  it('answers 409 username-taken for a username reserved by another invite', async () => {
    const reserved = uniqueName('reserved');
    await issue({ username: reserved });
    const invite = await issue({});
    const res = await redeem(invite.token, { username: reserved, password: PASSWORD });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe('username-taken');
    expect(await admin.accountExists(`${reserved}@localhost`)).toBe(false);
  });

  it.each([
    ['a username with a space', { username: 'ro meo', password: PASSWORD }, 'username-invalid'],
    ['a username with a slash', { username: 'sl/ash', password: PASSWORD }, 'username-invalid'],
    ['a username with @', { username: 'a@localhost', password: PASSWORD }, 'username-invalid'],
    ['an invisible character', { username: 'ro\u200bmeo', password: PASSWORD }, 'username-invalid'],
    ['no username', { password: PASSWORD }, 'username-invalid'],
    ['a short password', { username: 'shorty', password: 'abc' }, 'password-weak'],
    ['a password containing the username', { username: 'juliet', password: 'juliet-is-great' }, 'password-weak'],
    ['a password of one repeated character', { username: 'repeat', password: 'aaaaaaaaaaaa' }, 'password-weak'],
    ['a password with NUL', { username: 'nully', password: 'abc\u0000defghij' }, 'password-weak'],
    ['no password', { username: 'nopass' }, 'invalid-request'],
    ['an unknown field', { username: 'extra', password: PASSWORD, admin: true }, 'invalid-request'],
  ])('answers 400 for %s and changes nothing', async (_name, body, code) => {
    const invite = await issue({});
    const res = await redeem(invite.token, body);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(code);
    expect(await show(invite.id)).toMatchObject({ status: 'valid', uses: 0, pending: 0 });
    const username = (body as { username?: string }).username;
    if (username && !/[\s/@\u200b]/.test(username)) expect(await admin.accountExists(`${username}@localhost`)).toBe(false);
  });

  it('answers 404/410 for unknown, used, revoked and expired invites without creating accounts', async () => {
    const unknown = await redeem('AAAAAAAAAAAAAAAAAAAAAAAA', { username: uniqueName(), password: PASSWORD });
    expect([unknown.status, unknown.body.error]).toEqual([404, 'token-invalid']);
    const malformed = await redeem('not-a-token', { username: uniqueName(), password: PASSWORD });
    expect([malformed.status, malformed.body.error]).toEqual([404, 'token-invalid']);

    const used = await issue({});
    expect((await redeem(used.token, { username: uniqueName(), password: PASSWORD })).status).toBe(201);
    const late = uniqueName();
    const second = await redeem(used.token, { username: late, password: PASSWORD });
    expect([second.status, second.body.error]).toEqual([410, 'token-used']);
    expect(await admin.accountExists(`${late}@localhost`)).toBe(false);

    const revoked = await issue({});
    await api('DELETE', `/invites/${revoked.id}`);
    const r = await redeem(revoked.token, { username: uniqueName(), password: PASSWORD });
    expect([r.status, r.body.error]).toEqual([410, 'token-revoked']);

    const expired = await issue({ ttlSeconds: 60 });
    const { UpdateCommand } = await import('@aws-sdk/lib-dynamodb');
    await documentClientForStack().send(
      new UpdateCommand({
        TableName: stack().env.INVITES_TABLE,
        Key: { pk: `INV#${expired.id}`, sk: 'INV' },
        UpdateExpression: 'SET expiresAt = :t',
        ExpressionAttributeValues: { ':t': Math.floor(Date.now() / 1000) - 1 },
      })
    );
    const e = await redeem(expired.token, { username: uniqueName(), password: PASSWORD });
    expect([e.status, e.body.error]).toEqual([410, 'token-expired']);
  });

  it('answers a retry of a completed redemption with the same result', async () => {
    const invite = await issue({ inviter });
    const username = uniqueName();
    const first = await redeem(invite.token, { username, password: PASSWORD });
    const again = await redeem(invite.token, { username, password: PASSWORD });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(await show(invite.id)).toMatchObject({ uses: 1, completed: 1 });
  });

  it('answers token-used to a retry of a completed redemption with another password, and records nothing again', async () => {
    const invite = await issue({ inviter });
    const username = uniqueName();
    const first = await redeem(invite.token, { username, password: PASSWORD });
    const other = await redeem(invite.token, { username, password: 'another horse battery' });
    expect(first.status).toBe(201);
    expect([other.status, other.body.error]).toEqual([410, 'token-used']);
    // One redemption (one audit item, so one invite.redeemed event); the first password still logs in.
    const after = await show(invite.id);
    expect(after).toMatchObject({ uses: 1, completed: 1 });
    expect(after.redemptions).toHaveLength(1);
    expect(await canLogin(first.body.jid, PASSWORD)).toBe(true);
    expect(await canLogin(first.body.jid, 'another horse battery')).toBe(false);
    // The rightful retry is still answered.
    expect((await redeem(invite.token, { username, password: PASSWORD })).status).toBe(201);
  });
});

describe('POST /register', () => {
  it('answers 403 registration-closed while registration is invite-only (the default)', async () => {
    const username = uniqueName('open');
    const res = await api('POST', '/register', { auth: false, body: { username, password: PASSWORD } });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('registration-closed');
    expect(await admin.accountExists(`${username}@localhost`)).toBe(false);
  });
});
