/**
 * Exactly once under concurrency. The requests go through the real redeem
 * handler (its whole middy chain, DynamoDB Local, the real Prosody) in this
 * process: serverless-offline starts one worker per concurrent request, which
 * on a 2-core machine measures worker start-up rather than our protocol.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProsodyProvisioner } from '../../lib/adapters/xmpp/ProsodyProvisioner.js';
import { invokeRedeem } from '../support/lambda.js';
import { DynamoDBInviteStore } from '../../lib/adapters/dynamodb/DynamoDBInviteStore.js';
import type { IssueInput } from '../../lib/invites/issue.js';
import { adminView } from '../../lib/invites/views.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { canLogin, documentClientForStack, issueInStore, prosodyAdmin, stack, uniqueName, useStackEnv } from '../support/stack.js';

const PASSWORD = 'correct horse battery';
let store: DynamoDBInviteStore;
const issue = (input: IssueInput) => issueInStore(store, input);
const show = async (id: string) => {
  const found = await store.getWithRedemptions(id);
  return adminView(found!.invite, systemClock.now(), found!.redemptions);
};

let handler: unknown;
let admin: ProsodyProvisioner;
let inviter: string;
const redeem = (token: string, body: Record<string, unknown>) => invokeRedeem(handler, token, body);

beforeAll(async () => {
  useStackEnv();
  store = new DynamoDBInviteStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
  ({ handler } = await import('../../functions/redeemInvite.js'));
  admin = prosodyAdmin();
  inviter = `${uniqueName('inviter')}@localhost`;
  await admin.createAccount(inviter, 'inviter password 1');
});
afterAll(async () => {
  await admin.close();
  const { xmpp } = await import('../../functions/wiring/xmpp.js');
  await xmpp.close();
});

describe('exactly once, under concurrency', () => {
  const N = 50;

  it(`${N} parallel redeems of a single-use invite create exactly one account`, async () => {
    const invite = await issue({ inviter });
    const names = Array.from({ length: N }, () => uniqueName('race'));
    const results = await Promise.all(names.map((username) => redeem(invite.token, { username, password: PASSWORD })));
    const created = results.filter((r) => r.status === 201);
    expect(created).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 201)) {
      expect([409, 410]).toContain(r.status);
      expect(['token-used', 'username-taken']).toContain(r.body.error);
    }
    const exists = await Promise.all(names.map((n) => admin.accountExists(`${n}@localhost`)));
    expect(exists.filter(Boolean)).toHaveLength(1);
    expect(await show(invite.id)).toMatchObject({ uses: 1, pending: 0, completed: 1 });
  });

  it(`${N} parallel redeems of a 5-use invite create exactly five accounts`, async () => {
    const invite = await issue({ maxUses: 5 });
    const names = Array.from({ length: N }, () => uniqueName('multi'));
    const results = await Promise.all(names.map((username) => redeem(invite.token, { username, password: PASSWORD })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(5);
    expect(results.filter((r) => r.status === 410).every((r) => r.body.error === 'token-used')).toBe(true);
    expect(results.filter((r) => r.status !== 201 && r.status !== 410)).toEqual([]);
    const exists = await Promise.all(names.map((n) => admin.accountExists(`${n}@localhost`)));
    expect(exists.filter(Boolean)).toHaveLength(5);
    expect(await show(invite.id)).toMatchObject({ uses: 5, pending: 0, completed: 5, status: 'used' });
  });

  it(`${N} parallel redeems of ${N} invites for the same username create one account`, async () => {
    const username = uniqueName('same');
    const invites = await Promise.all(Array.from({ length: N }, () => issue({})));
    const results = await Promise.all(invites.map((i) => redeem(i.token, { username, password: PASSWORD })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.error === 'username-taken')).toBe(true);
    expect(results.filter((r) => r.status !== 201 && r.status !== 409)).toEqual([]);
    const states = await Promise.all(invites.map((i) => show(i.id)));
    expect(states.filter((s) => s.uses === 1)).toHaveLength(1);
    expect(states.filter((s) => s.uses === 0 && s.pending === 0)).toHaveLength(N - 1);
  });

  it('parallel copies of the same request create one account and count one use', async () => {
    const invite = await issue({ inviter });
    const username = uniqueName('retry');
    const results = await Promise.all(Array.from({ length: 10 }, () => redeem(invite.token, { username, password: PASSWORD })));
    // One of them creates the account; the copies answer its result (if they
    // arrive after it completed) or 409 redemption-in-progress (while it runs).
    expect(results.filter((r) => r.status === 201).length).toBeGreaterThanOrEqual(1);
    for (const r of results) {
      if (r.status === 201) expect(r.body).toEqual({ jid: `${username}@localhost` });
      else expect([r.status, r.body.error]).toEqual([409, 'redemption-in-progress']);
    }
    const again = await redeem(invite.token, { username, password: PASSWORD });
    expect([again.status, again.body]).toEqual([201, { jid: `${username}@localhost` }]);
    expect(await canLogin(`${username}@localhost`, PASSWORD)).toBe(true);
    expect(await show(invite.id)).toMatchObject({ uses: 1, pending: 0, completed: 1 });
    const lock = await documentClientForStack().send(
      new GetCommand({ TableName: stack().env.INVITES_TABLE, Key: { pk: `JID#${username}@localhost`, sk: 'ACCOUNT' } })
    );
    expect(lock.Item).toMatchObject({ status: 'completed', inviteId: invite.id });
    // The fingerprint (an HMAC under CLAIM_KEY) stays: a replay is answered only to the same password.
    expect(lock.Item).toMatchObject({ fingerprint: expect.any(String), salt: expect.any(String) });
    expect(JSON.stringify(lock.Item)).not.toContain(PASSWORD);
  });
});
