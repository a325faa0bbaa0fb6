/**
 * The floor of a warm redeem: the round trips it cannot avoid, each measured
 * bare in the same run, next to the use case itself (interleaved, so load from
 * elsewhere on the machine hits both alike).
 *
 *   claim      one TransactWriteItems of the claim's shape (take a use, lock the JID)
 *   account    one XEP-0133 add-user command over a warm admin c2s connection
 *   rosters    the two roster sets (XEP-0356), in parallel, over that connection
 *   complete   one TransactWriteItems of the completion's shape (lock, invite, audit)
 *
 * The floor is their sum: those four must follow one another (the claim
 * before any account exists, the account before its roster, the completion
 * only once the promise is kept). The ratio is the use case's median over
 * the floor's median.
 */
import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { LIVE_INVITE, NAME_FREE_FOR_INVITE, PENDING_CLAIM_OF_INVITE, lockValues } from '../../lib/adapters/dynamodb/conditions.js';
import { auditItem } from '../../lib/adapters/dynamodb/inviteItems.js';
import { accountLockKey, inviteKey } from '../../lib/adapters/dynamodb/tableKeys.js';
import { XmppConnection, x } from '../../lib/adapters/xmpp/XmppConnection.js';
import { summarize, time, type Summary } from './stats.js';

const NS_COMMANDS = 'http://jabber.org/protocol/commands';
const ADMIN = 'http://jabber.org/protocol/admin';
const NS_ROSTER = 'jabber:iq:roster';

export interface FloorTarget {
  db: DynamoDBDocumentClient;
  table: string;
  domain: string;
  service: string;
  adminJid: string;
  adminPassword: string;
  caFile: string;
  inviter: string;
}

export interface FloorSample {
  claim: number;
  account: number;
  rosters: number;
  complete: number;
  sum: number;
}

export interface FloorReport {
  claim: Summary;
  account: Summary;
  rosters: Summary;
  complete: Summary;
  /** Per-sample sums of the four. */
  sum: Summary;
}

const field = (name: string, value: string, type?: string) => x('field', { var: name, type }, x('value', {}, value));

/** A warm admin connection of its own, sending the bare stanzas. */
export const floorProbe = (t: FloorTarget) => {
  const admin = new XmppConnection({
    service: t.service,
    jid: t.adminJid,
    password: () => t.adminPassword,
    timeoutMs: 5000,
    tlsCaFile: t.caFile,
  });

  const claimTx = (inviteId: string, jid: string, now: number) =>
    t.db.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: t.table,
              Key: inviteKey(inviteId),
              UpdateExpression: 'SET uses = uses + :one, pending = pending + :one ADD pendingJids :jid',
              // As the claim made before the invite is read (DynamoDBClaims.claimUnread).
              ConditionExpression: `${LIVE_INVITE} AND #domain = :domain AND #type <> :reset AND (attribute_not_exists(username) OR username = :username)`,
              ExpressionAttributeNames: { '#domain': 'domain', '#type': 'type' },
              ExpressionAttributeValues: {
                ':one': 1,
                ':now': now,
                ':jid': new Set([jid]),
                ':domain': t.domain,
                ':reset': 'reset',
                ':username': jid.split('@')[0],
              },
            },
          },
          {
            Put: {
              TableName: t.table,
              Item: {
                ...accountLockKey(jid),
                kind: 'redemption',
                inviteId,
                jid,
                status: 'pending',
                leaseUntil: now + 30,
                fingerprint: 'f'.repeat(43),
                salt: 's'.repeat(22),
                createdAt: now,
              },
              ConditionExpression: NAME_FREE_FOR_INVITE,
              ExpressionAttributeValues: { ...lockValues(now), ':id': inviteId },
            },
          },
        ],
      })
    );

  const completeTx = (inviteId: string, jid: string, now: number) =>
    t.db.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: t.table,
              Key: accountLockKey(jid),
              UpdateExpression: 'SET #status = :completed, completedAt = :now REMOVE fingerprint, salt, leaseUntil',
              ConditionExpression: PENDING_CLAIM_OF_INVITE,
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':completed': 'completed', ':pending': 'pending', ':now': now, ':id': inviteId },
            },
          },
          {
            Update: {
              TableName: t.table,
              Key: inviteKey(inviteId),
              UpdateExpression: 'SET pending = pending - :one DELETE pendingJids :jid',
              ConditionExpression: 'attribute_exists(pk) AND pending > :zero',
              ExpressionAttributeValues: { ':one': 1, ':zero': 0, ':jid': new Set([jid]) },
            },
          },
          { Put: { TableName: t.table, Item: auditItem(inviteId, jid, 'account', now) } },
        ],
      })
    );

  const addUser = (jid: string, password: string) =>
    admin.iq(
      x(
        'iq',
        { type: 'set', to: t.domain },
        x(
          'command',
          { xmlns: NS_COMMANDS, node: `${ADMIN}#add-user`, action: 'complete' },
          x(
            'x',
            { xmlns: 'jabber:x:data', type: 'submit' },
            field('FORM_TYPE', ADMIN, 'hidden'),
            field('accountjid', jid, 'jid-single'),
            field('password', password, 'text-private'),
            field('password-verify', password, 'text-private')
          )
        )
      )
    );

  const rosterSet = (owner: string, other: string) =>
    admin.iq(x('iq', { type: 'set', to: owner }, x('query', { xmlns: NS_ROSTER }, x('item', { jid: other, subscription: 'both' }))));

  return {
    connect: () => admin.connect(),
    close: () => admin.close(),
    /** One floor sample on a fresh invite (`inviteId`) and a fresh JID. */
    sample: async (inviteId: string, jid: string, password: string): Promise<FloorSample> => {
      const now = Math.floor(Date.now() / 1000);
      const [claim] = await time(() => claimTx(inviteId, jid, now));
      const [account] = await time(() => addUser(jid, password));
      const [rosters] = await time(() => Promise.all([rosterSet(t.inviter, jid), rosterSet(jid, t.inviter)]));
      const [complete] = await time(() => completeTx(inviteId, jid, now));
      return { claim, account, rosters, complete, sum: claim + account + rosters + complete };
    },
  };
};

export const summarizeFloor = (samples: FloorSample[]): FloorReport => ({
  claim: summarize(samples.map((s) => s.claim)),
  account: summarize(samples.map((s) => s.account)),
  rosters: summarize(samples.map((s) => s.rosters)),
  complete: summarize(samples.map((s) => s.complete)),
  sum: summarize(samples.map((s) => s.sum)),
});
