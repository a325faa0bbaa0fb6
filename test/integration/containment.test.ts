import { randomBytes, randomUUID } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { signatureHeader } from '../../lib/webhooks/signature.js';
import type { HttpEvent, HttpResult } from '../../functions/http/route.js';
import { httpEvent, lambdaContext } from '../support/lambda.js';
import { api, canLogin, documentClientForStack, issue, prosodyAdmin, stack, uniqueName, useStackEnv } from '../support/stack.js';
import { sourceSecret } from '../support/webhooks.js';
import { appPassword, registerWithApp, type XmppTarget } from '../support/xmppApp.js';

/**
 * Issue #18, containment: what a module key, a quota'd API key and a signup
 * source can issue, see and revoke. Over HTTP against the shared stack
 * (QUOTA_LIVE_INVITES_PER_INVITER and RESERVED_USERNAMES unset: the
 * defaults), and in-process where a setting must be low.
 */
const PASSWORD = 'correct horse battery';

const keyStore = () => new DynamoDBApiKeyStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });

const newKey = async (input: { domains: string[]; kind?: 'api' | 'xmpp-server'; maxLiveInvites?: number; inviters?: string[] }) =>
  (await createApiKey({ store: keyStore(), clock: systemClock }, { name: uniqueName('key-'), ...input })).secret;

const asServer = (key: string, body: Record<string, unknown>) => api('POST', '/xmpp/invites', { body, auth: key });

const showInvite = async (id: string) => (await api('GET', `/invites/by-id/${id}`)).body;

const redeem = (token: string, body: Record<string, unknown>) => api('POST', `/invites/${token}/redeem`, { body, auth: false });

const postSignup = (source: string, payload: Record<string, unknown>) => {
  const raw = JSON.stringify(payload);
  return api('POST', `/hooks/signup/${source}`, {
    raw,
    headers: {
      'content-type': 'application/json',
      'x-signature': signatureHeader(sourceSecret(source), Math.floor(Date.now() / 1000), raw),
    },
    auth: false,
  });
};

type Handler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

let serverKey: string;

beforeAll(async () => {
  useStackEnv();
  serverKey = await newKey({ domains: ['localhost'], kind: 'xmpp-server' });
});

describe('POST /xmpp/invites: the module key is bounded by the service', () => {
  it('caps each user at the default 10 live invites when the body names no limit, or a higher one', async () => {
    const user = `${uniqueName('romeo')}@localhost`;
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await asServer(serverKey, { domain: 'localhost', inviter: user, type: 'contact' })).status);
    const eleventh = await asServer(serverKey, { domain: 'localhost', inviter: user, type: 'contact' });
    const raised = await asServer(serverKey, { domain: 'localhost', inviter: user, type: 'contact', maxLiveInvites: 50 });

    expect(statuses).toEqual(Array(10).fill(201));
    expect([eleventh.status, eleventh.body.error]).toEqual([403, 'quota-exceeded']);
    expect([raised.status, raised.body.error]).toEqual([403, 'quota-exceeded']);
  });

  it('refuses the provisioning admin JID as inviter (403) and issues nothing', async () => {
    const admin = stack().prosody.adminJid;
    const contact = await asServer(serverKey, { domain: 'localhost', inviter: admin, type: 'contact' });
    const account = await asServer(serverKey, {
      domain: 'localhost',
      inviter: admin,
      type: 'account',
      username: uniqueName(),
      rosterSubscription: true,
    });

    expect([contact.status, contact.body.error]).toEqual([403, 'forbidden']);
    expect([account.status, account.body.error]).toEqual([403, 'forbidden']);
    const listed = await api('GET', `/invites?inviter=${encodeURIComponent(admin)}&status=valid`);
    expect(listed.body.items.filter((i: { source: string }) => i.source.startsWith('xmpp-server:'))).toEqual([]);
  });

  it.each(['support', 'postmaster', 'root', 'Admin'])(
    'refuses create-account of the reserved name %s (409 username-reserved)',
    async (name) => {
      const res = await asServer(serverKey, {
        domain: 'localhost',
        inviter: `${uniqueName('romeo')}@localhost`,
        type: 'account',
        username: name,
      });

      expect([res.status, res.body.error]).toEqual([409, 'username-reserved']);
    }
  );

  it('refuses create-account of a name that already exists on the server (409 username-taken)', async () => {
    const name = uniqueName('existing');
    const admin = await prosodyAdmin();
    try {
      await admin.createAccount(`${name}@localhost`, PASSWORD);
    } finally {
      await admin.close();
    }

    const res = await asServer(serverKey, {
      domain: 'localhost',
      inviter: `${uniqueName('romeo')}@localhost`,
      type: 'account',
      username: name,
    });

    expect([res.status, res.body.error]).toEqual([409, 'username-taken']);
  });
});

describe('POST /xmpp/invites in-process: per-key window and PROTECTED_JIDS', () => {
  let handler: Handler;
  const call = (key: string, body: Record<string, unknown>) =>
    handler(httpEvent({ method: 'POST', path: '/xmpp/invites', body, headers: { authorization: `Bearer ${key}` } }), lambdaContext()).then(
      (r) => ({ status: r.statusCode as number, body: JSON.parse(r.body as string) })
    );

  beforeAll(async () => {
    useStackEnv();
    process.env.MODULE_INVITES_PER_HOUR = '3';
    process.env.PROTECTED_JIDS = 'boss@localhost';
    ({ handler } = (await import('../../functions/xmppInvites.js')) as unknown as { handler: Handler });
  });

  it('answers 429 rate-limited once one key made MODULE_INVITES_PER_HOUR invites, whichever users it names', async () => {
    const key = await newKey({ domains: ['localhost'], kind: 'xmpp-server' });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await call(key, { domain: 'localhost', inviter: `${uniqueName('u')}@localhost`, type: 'contact' })).status);
    }
    const fourth = await call(key, { domain: 'localhost', inviter: `${uniqueName('u')}@localhost`, type: 'contact' });
    const otherKey = await call(await newKey({ domains: ['localhost'], kind: 'xmpp-server' }), {
      domain: 'localhost',
      inviter: `${uniqueName('u')}@localhost`,
      type: 'contact',
    });

    expect(statuses).toEqual([201, 201, 201]);
    expect([fourth.status, fourth.body.error]).toEqual([429, 'rate-limited']);
    expect(otherKey.status).toBe(201);
  });

  it('refuses a JID of PROTECTED_JIDS as inviter (403)', async () => {
    const key = await newKey({ domains: ['localhost'], kind: 'xmpp-server' });
    const res = await call(key, { domain: 'localhost', inviter: 'boss@localhost', type: 'contact' });

    expect([res.status, res.body.error]).toEqual([403, 'forbidden']);
  });
});

describe('RESERVED_USERNAMES on every issuing and redeeming route', () => {
  it('refuses a reserved preset to a quota-limited API key, and lets an admin key issue it; that invite redeems', async () => {
    const limited = await newKey({ domains: ['localhost'], maxLiveInvites: 5 });
    const byLimited = await api('POST', '/invites', { body: { username: 'webmaster' }, auth: limited });
    expect([byLimited.status, byLimited.body.error]).toEqual([409, 'username-reserved']);

    const byAdmin = await issue({ username: 'webmaster' });
    const redeemed = await redeem(byAdmin.token, { password: PASSWORD });

    expect(redeemed.status).toBe(201);
    expect(redeemed.body.jid).toBe('webmaster@localhost');
    expect(await canLogin('webmaster@localhost', PASSWORD)).toBe(true);
  });

  it('refuses a reserved name chosen at redeem (web API and in-app register) and spends nothing', async () => {
    const invite = await issue({});
    const web = await redeem(invite.token, { username: 'postmaster', password: PASSWORD });
    const inApp = await api('POST', '/xmpp/register', {
      body: { token: invite.token, domain: 'localhost', username: 'Hostmaster', password: PASSWORD },
      auth: serverKey,
    });

    expect([web.status, web.body.error]).toEqual([409, 'username-reserved']);
    expect([inApp.status, inApp.body.error]).toEqual([409, 'username-reserved']);
    expect((await showInvite(invite.id)).uses).toBe(0);
  });

  it("answers an app's in-band registration of a reserved name on Prosody with conflict, and spends nothing", async () => {
    const p = stack().prosody;
    const target: XmppTarget = {
      domain: p.domain,
      host: '127.0.0.1',
      port: Number(new URL(p.service.replace(/^xmpp:/, 'http:')).port),
      caFile: p.caFile,
    };
    const invite = await issue({});

    const result = await registerWithApp('conversations', target, { token: invite.token, username: 'security', password: appPassword() });

    expect(result.verdict).toBe('conflict');
    expect((await showInvite(invite.id)).uses).toBe(0);
  });

  it('refuses a reserved name from a signup form', async () => {
    const res = await postSignup('test-form', { id: randomUUID(), username: 'abuse' });

    expect([res.status, res.body.error]).toEqual([409, 'username-reserved']);
  });
});

describe('Issuing an invite for a name that exists on the server', () => {
  const existing = async () => {
    const name = uniqueName('taken');
    const admin = await prosodyAdmin();
    try {
      await admin.createAccount(`${name}@localhost`, PASSWORD);
    } finally {
      await admin.close();
    }
    return name;
  };

  it('answers 409 username-taken on POST /invites and on a signup delivery, and stores nothing', async () => {
    const name = await existing();
    const byApi = await api('POST', '/invites', { body: { username: name } });
    const bySignup = await postSignup('test-form', { id: randomUUID(), username: name });

    expect([byApi.status, byApi.body.error]).toEqual([409, 'username-taken']);
    expect([bySignup.status, bySignup.body.error]).toEqual([409, 'username-taken']);
    // The name is not held by an invite: an invite can still reset it.
    const listed = await api('GET', '/invites?domain=localhost&status=valid&limit=200');
    expect(listed.body.items.some((i: { username: string | null }) => i.username === name)).toBe(false);
  });

  it('still issues when the domain has no reachable server', async () => {
    const res = await api('POST', '/invites', { body: { domain: 'other.example', username: uniqueName('far') } });

    expect(res.status).toBe(201);
  });
});

describe('Quota-limited API keys see and revoke only their own invites', () => {
  it('lists, shows and revokes its own; another key of the same domain gets 404 and an empty list', async () => {
    const alice = await newKey({ domains: ['localhost'], maxLiveInvites: 5 });
    const bob = await newKey({ domains: ['localhost'], maxLiveInvites: 5 });
    const mine = await api('POST', '/invites', { body: { note: 'secret note of alice' }, auth: alice });
    expect(mine.status).toBe(201);
    const id = mine.body.id as string;

    const bobList = await api('GET', '/invites?domain=localhost&limit=200', { auth: bob });
    const bobShow = await api('GET', `/invites/by-id/${id}`, { auth: bob });
    const bobRevoke = await api('DELETE', `/invites/${id}`, { auth: bob });
    const aliceList = await api('GET', '/invites?limit=200', { auth: alice });
    const aliceShow = await api('GET', `/invites/by-id/${id}`, { auth: alice });
    const adminList = await api('GET', '/invites?domain=localhost&limit=200');

    expect(bobList.status).toBe(200);
    expect(bobList.body.items).toEqual([]);
    expect([bobShow.status, bobShow.body.error]).toEqual([404, 'invite-not-found']);
    expect([bobRevoke.status, bobRevoke.body.error]).toEqual([404, 'invite-not-found']);
    expect(aliceList.body.items.map((i: { id: string }) => i.id)).toEqual([id]);
    expect(aliceShow.body).toMatchObject({ id, note: 'secret note of alice', status: 'valid' });
    expect(adminList.body.items.some((i: { id: string }) => i.id === id)).toBe(true);
    expect((await api('DELETE', `/invites/${id}`, { auth: alice })).status).toBe(204);
  });
});

describe('POST /xmpp/preauth: a dead token of another domain', () => {
  it('answers 404 token-invalid, not its status, for a used or revoked token of another domain', async () => {
    const bothKey = await newKey({ domains: ['localhost', 'other.example'], kind: 'xmpp-server' });
    // other.example has no server to redeem on: its use is spent the way a redemption's completion spends it.
    const used = await issue({ domain: 'other.example' });
    await documentClientForStack().send(
      new UpdateCommand({
        TableName: stack().env.INVITES_TABLE,
        Key: { pk: `INV#${used.id}`, sk: 'INV' },
        UpdateExpression: 'SET uses = :one',
        ExpressionAttributeValues: { ':one': 1 },
      })
    );
    expect((await showInvite(used.id)).status).toBe('used');
    const revoked = await issue({ domain: 'other.example' });
    expect((await api('DELETE', `/invites/${revoked.id}`)).status).toBe(204);
    const unknown = randomBytes(18).toString('base64url');

    const answers = [];
    for (const token of [used.token, revoked.token, unknown]) {
      answers.push(await api('POST', '/xmpp/preauth', { body: { token, domain: 'localhost' }, auth: bothKey }));
    }

    expect(answers.map((a) => [a.status, a.body.error])).toEqual([
      [404, 'token-invalid'],
      [404, 'token-invalid'],
      [404, 'token-invalid'],
    ]);
  });
});
