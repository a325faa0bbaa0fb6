/**
 * Common passwords (`password`, `12345678`, `Password1`) are refused with
 * `password-weak` on every route that sets a password, before anything is
 * spent or created: redeem (API), reset, the web form, the module's in-band
 * registration (with a token and without) and open registration. The
 * handlers run in this process against the stack's DynamoDB and Prosody,
 * with open registration on (set before their first import).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProsodyProvisioner } from '../../lib/adapters/xmpp/ProsodyProvisioner.js';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { httpEvent, invoke, lambdaContext } from '../support/lambda.js';
import { api, canLogin, documentClientForStack, issue, prosodyAdmin, uniqueName, useStackEnv } from '../support/stack.js';

const COMMON = ['password', '12345678', 'Password1', 'qwertyuiop', 'dragon2024!'];
const GOOD = 'correct horse battery';

type Handler = Parameters<typeof invoke>[0];
let redeem: Handler;
let landingSubmit: Handler;
let register: Handler;
let xmppRegister: Handler;
let serverKey: string;
let admin: ProsodyProvisioner;

const address = () => `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}::1`;

beforeAll(async () => {
  useStackEnv();
  Object.assign(process.env, { REGISTRATION_INVITE_ONLY: 'false' });
  ({ handler: redeem } = await import('../../functions/redeemInvite.js'));
  ({ handler: landingSubmit } = await import('../../functions/landingSubmit.js'));
  ({ handler: register } = await import('../../functions/register.js'));
  ({ handler: xmppRegister } = await import('../../functions/xmppRegister.js'));
  const keys = new DynamoDBApiKeyStore({ tableName: process.env.INVITES_TABLE as string, client: documentClientForStack() });
  ({ secret: serverKey } = await createApiKey(
    { store: keys, clock: systemClock },
    { name: uniqueName('module'), domains: ['localhost'], kind: 'xmpp-server' }
  ));
  admin = prosodyAdmin();
});

afterAll(async () => {
  await admin.close();
});

const showInvite = async (id: string) => (await api('GET', `/invites/by-id/${id}`)).body;

const apiRedeem = (token: string, body: Record<string, unknown>) =>
  invoke(redeem, {
    method: 'POST',
    path: `/invites/${token}/redeem`,
    routeKey: 'POST /invites/{token}/redeem',
    pathParameters: { token },
    body,
    sourceIp: address(),
  });

const moduleRegister = (body: Record<string, unknown>) =>
  invoke(xmppRegister, {
    method: 'POST',
    path: '/xmpp/register',
    headers: { authorization: `Bearer ${serverKey}` },
    body: { domain: 'localhost', address: address(), ...body },
  });

describe('Common passwords are refused with password-weak on every route that sets one', () => {
  it.each(COMMON)('POST /invites/{token}/redeem refuses %s and spends nothing', async (password) => {
    const invite = await issue({});
    const username = uniqueName('weak');
    const res = await apiRedeem(invite.token, { username, password });
    expect([res.status, res.body.error]).toEqual([400, 'password-weak']);
    expect(await showInvite(invite.id)).toMatchObject({ uses: 0, pending: 0 });
    expect(await admin.accountExists(`${username}@localhost`)).toBe(false);
    // The same request with a good password goes through.
    expect((await apiRedeem(invite.token, { username, password: GOOD })).status).toBe(201);
  });

  it('a reset invite refuses a common password and keeps the old one', async () => {
    const username = uniqueName('forgetful');
    const jid = `${username}@localhost`;
    await admin.createAccount(jid, 'the old password');
    const invite = await issue({ type: 'reset', username });
    const res = await apiRedeem(invite.token, { username, password: '12345678' });
    expect([res.status, res.body.error]).toEqual([400, 'password-weak']);
    expect(await canLogin(jid, 'the old password')).toBe(true);
    expect(await showInvite(invite.id)).toMatchObject({ uses: 0 });
  });

  it('the web form shows the password error next to the field and creates nothing', async () => {
    const invite = await issue({});
    const username = uniqueName('web');
    const form = new URLSearchParams({ username, password: 'Password1', confirm: 'Password1' }).toString();
    // An HTML answer: the handler is called directly (invoke() reads JSON).
    const page = (await (landingSubmit as (e: unknown, c: unknown) => Promise<{ statusCode: number; body: string }>)(
      httpEvent({
        method: 'POST',
        path: `/i/${invite.token}`,
        routeKey: 'POST /i/{token}',
        pathParameters: { token: invite.token },
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        raw: form,
        sourceIp: address(),
      }),
      lambdaContext()
    )) as { statusCode: number; body: string };
    expect(page.statusCode).toBe(400);
    expect(page.body).toContain('not a commonly used password');
    expect(await admin.accountExists(`${username}@localhost`)).toBe(false);
    expect(await showInvite(invite.id)).toMatchObject({ uses: 0 });
  });

  it('POST /xmpp/register refuses a common password, with an invite and without (open registration)', async () => {
    const invite = await issue({});
    const withToken = await moduleRegister({ token: invite.token, username: uniqueName('app'), password: 'password' });
    const openName = uniqueName('open');
    const open = await moduleRegister({ username: openName, password: 'qwertyuiop' });
    expect([withToken.status, withToken.body.error]).toEqual([400, 'password-weak']);
    expect([open.status, open.body.error]).toEqual([400, 'password-weak']);
    expect(await showInvite(invite.id)).toMatchObject({ uses: 0 });
    expect(await admin.accountExists(`${openName}@localhost`)).toBe(false);
  });

  it('POST /register (open registration) refuses a common password', async () => {
    const username = uniqueName('open');
    const res = await invoke(register, {
      method: 'POST',
      path: '/register',
      body: { username, password: 'dragon2024!' },
      sourceIp: address(),
    });
    expect([res.status, res.body.error]).toEqual([400, 'password-weak']);
    expect(await admin.accountExists(`${username}@localhost`)).toBe(false);
    const ok = await invoke(register, { method: 'POST', path: '/register', body: { username, password: GOOD }, sourceIp: address() });
    expect(ok.status).toBe(201);
  });
});
