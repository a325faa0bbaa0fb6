import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBLineageStore } from '../../lib/adapters/dynamodb/DynamoDBLineageStore.js';
import { type InviteHandlers, inviteHandlersWith } from '../support/policyHandlers.js';
import { api, documentClientForStack, issue, stack, uniqueName } from '../support/stack.js';

/**
 * MIN_ACCOUNT_AGE_TO_INVITE (issue 19's policy), with the handlers in this
 * process (configuration read at import); accounts made through the shared stack.
 */
const AGE = 3600;
let issueAs: InviteHandlers['issueAs'];
let appInvite: InviteHandlers['appInvite'];

beforeAll(async () => {
  ({ issueAs, appInvite } = await inviteHandlersWith({ MIN_ACCOUNT_AGE_TO_INVITE: String(AGE) }));
});

const newMember = async () => {
  const username = uniqueName('young');
  const res = await api('POST', `/invites/${(await issue({})).token}/redeem`, {
    body: { username, password: 'correct horse battery' },
    auth: false,
  });
  expect(res.status).toBe(201);
  return `${username}@localhost`;
};

const joinedAgo = (jid: string, seconds: number) =>
  documentClientForStack().send(
    new UpdateCommand({
      TableName: stack().env.INVITES_TABLE as string,
      Key: { pk: `ACCT#${jid}`, sk: 'LINEAGE' },
      UpdateExpression: 'SET joinedAt = :t',
      ExpressionAttributeValues: { ':t': Math.floor(Date.now() / 1000) - seconds },
    })
  );

describe(`MIN_ACCOUNT_AGE_TO_INVITE=${AGE}`, () => {
  it('refuses a new account until it is old enough (saying when), on the API and in-app; allows it from then on', async () => {
    const jid = await newMember();

    const fresh = [await issueAs(jid), await appInvite(jid)];
    // An admin key is the operator: not held back by the age rule.
    const byAdmin = await issueAs(jid, stack().apiKey);
    await joinedAgo(jid, AGE - 10);
    const almost = await issueAs(jid);
    await joinedAgo(jid, AGE);
    const oldEnough = [await issueAs(jid), await appInvite(jid)];

    for (const r of [...fresh, almost])
      expect([r.status, r.body.error, r.body.details?.reason]).toEqual([403, 'quota-exceeded', 'account-age']);
    expect(Date.parse(fresh[0]?.body.details.nextAllowedAt)).toBeGreaterThan(Date.now() + (AGE - 60) * 1000);
    expect(oldEnough.map((r) => r.status)).toEqual([201, 201]);
    expect(byAdmin.status).toBe(201);
  });

  it('counts an account this service did not make from when it first saw it invite (source external), and keeps that first sighting', async () => {
    const elder = `${uniqueName('elder')}@localhost`;
    const before = Math.floor(Date.now() / 1000);

    const first = [await issueAs(elder), await appInvite(elder)];
    const seen = await api('GET', `/lineage/${encodeURIComponent(elder)}`);
    const again = await issueAs(elder);
    const after = await api('GET', `/lineage/${encodeURIComponent(elder)}`);
    await joinedAgo(elder, AGE - 10);
    const almost = await appInvite(elder);
    await joinedAgo(elder, AGE);
    const oldEnough = [await issueAs(elder), await appInvite(elder)];

    for (const r of [...first, again, almost])
      expect([r.status, r.body.error, r.body.details?.reason]).toEqual([403, 'quota-exceeded', 'account-age']);
    expect(Date.parse(first[0]?.body.details.nextAllowedAt)).toBeGreaterThanOrEqual((before + AGE) * 1000);
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ jid: elder, source: 'external', invitedBy: null, inviteId: null, status: 'active' });
    expect(Date.parse(seen.body.joinedAt)).toBeGreaterThanOrEqual(before * 1000);
    // The first sighting wins: a later refused attempt does not move it.
    expect(after.body.joinedAt).toBe(seen.body.joinedAt);
    expect(oldEnough.map((r) => r.status)).toEqual([201, 201]);
  });

  it('writes one record when the first sightings race (conditional put), whatever time each of them read', async () => {
    const lineage = new DynamoDBLineageStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
    const jid = `${uniqueName('racer')}@localhost`;
    const t = Math.floor(Date.now() / 1000);

    const records = await Promise.all([0, 1, 2, 3, 4].map((i) => lineage.recordFirstSeen(jid, t + i)));

    const stored = await lineage.get(jid, { recordOnly: true });
    expect(stored).toMatchObject({ source: 'external', recorded: true });
    for (const r of records) expect(r.joinedAt).toBe(stored?.joinedAt);
    expect(await lineage.recordFirstSeen(jid, t + 100)).toMatchObject({ joinedAt: stored?.joinedAt });
  });

  it('gives an account made before lineage records the join time and source its completed claim says, not the first sighting', async () => {
    const lineage = new DynamoDBLineageStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
    const jid = await newMember();
    const made = await lineage.get(jid, { recordOnly: true });
    await documentClientForStack().send(
      new DeleteCommand({ TableName: stack().env.INVITES_TABLE as string, Key: { pk: `ACCT#${jid}`, sk: 'LINEAGE' } })
    );

    const seen = await lineage.recordFirstSeen(jid, (made?.joinedAt ?? 0) + 1000);

    expect(seen.source).not.toBe('external');
    expect(seen).toMatchObject({ source: made?.source, inviteId: made?.inviteId, recorded: true });
    expect(seen.joinedAt).toBeGreaterThan(0);
    expect(seen.joinedAt).toBeLessThanOrEqual(made?.joinedAt ?? 0);
    expect(await lineage.get(jid, { recordOnly: true })).toMatchObject({ joinedAt: seen.joinedAt, source: made?.source });
  });

  it('keeps the join time of an account made here: its record is not replaced by a first sighting', async () => {
    const lineage = new DynamoDBLineageStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
    const jid = await newMember();
    const made = await lineage.get(jid, { recordOnly: true });

    expect(await lineage.recordFirstSeen(jid, (made?.joinedAt ?? 0) + 1000)).toMatchObject({
      joinedAt: made?.joinedAt,
      source: made?.source,
    });
  });
});
