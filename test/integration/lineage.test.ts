import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { DynamoDBLineageStore } from '../../lib/adapters/dynamodb/DynamoDBLineageStore.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { systemClock } from '../../lib/ports/Clock.js';
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
