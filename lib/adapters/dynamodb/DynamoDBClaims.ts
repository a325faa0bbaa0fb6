/**
 * The claim lifecycle of the invite store: claim (take a use and lock the
 * JID, in one transaction), take over an abandoned claim, complete it (the
 * use is final, the audit record written) or release it (the use given back),
 * and spend a contact invite for an existing account (XEP-0379).
 *
 *   claim ──► pending ──► complete ──► completed (audit item, event)
 *                │  └───► release  ──► gone (use back; a preset name re-reserved)
 *                └──► renewLease (a retry of a request that died takes it over)
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { InviteError } from '../../errors.js';
import { type Invite, inviteStatus, statusError } from '../../invites/Invite.js';
import type {
  ClaimKind,
  ClaimRecord,
  ClaimRequest,
  ClaimResult,
  ContactSpendRequest,
  UnreadClaimRequest,
} from '../../ports/InviteStore.js';
import {
  ASSUMED_ACCOUNT_INVITE,
  HAS_PENDING,
  LEASE_RUN_OUT,
  LIVE_INVITE,
  NAME_FREE_FOR_INVITE,
  NEW_ITEM,
  PENDING_CLAIM_OF_INVITE,
  SAME_LEASE,
  lockValues,
} from './conditions.js';
import { AUDIT_RETENTION_SECONDS, type Item, auditItem, fromItem, lockKey, reservationItem, toClaim } from './inviteItems.js';
import { contactKey, inviteKey } from './tableKeys.js';
import type { LineageRecord } from '../../lineage/Lineage.js';
import { lineagePut } from './lineageItems.js';
import { cancellationReasons, reasonItem, transact } from './transactions.js';

/** The error a failed "live invite" condition stands for, from the item it saw. */
const inviteRefusal = (seen: Item | undefined, now: number): InviteError => {
  if (!seen) return new InviteError('token-invalid', 'no such invite');
  const status = inviteStatus(fromItem(seen), now);
  return statusError(status === 'valid' ? 'used' : status);
};

const isConditionFailure = (e: unknown) => e instanceof ConditionalCheckFailedException;

const newClaim = (inviteId: string, jid: string, now: number, leaseSeconds: number, fingerprint: string): ClaimRecord => {
  const [salt, hash] = fingerprint.split(':');
  return { inviteId, jid, status: 'pending', leaseUntil: now + leaseSeconds, fingerprint: hash, salt, createdAt: now };
};

export class DynamoDBClaims {
  readonly #table: string;
  readonly #db: DynamoDBDocumentClient;

  public constructor(table: string, db: DynamoDBDocumentClient) {
    this.#table = table;
    this.#db = db;
  }

  /**
   * The claim transaction: take one use of a live invite and lock the JID.
   * `assumed`: the invite was not read, so its condition also checks what the
   * caller assumed of it (ASSUMED_ACCOUNT_INVITE).
   */
  #claimItems(
    inviteId: string,
    jid: string,
    kind: ClaimKind,
    claim: ClaimRecord,
    now: number,
    assumed?: { domain: string; username: string }
  ) {
    return [
      {
        // Take one use; pendingJids names the claims in flight, so a stale one can be found.
        Update: {
          TableName: this.#table,
          Key: inviteKey(inviteId),
          UpdateExpression: 'SET uses = uses + :one, pending = pending + :one ADD pendingJids :jid',
          ConditionExpression: assumed ? `${LIVE_INVITE} AND ${ASSUMED_ACCOUNT_INVITE}` : LIVE_INVITE,
          ...(assumed ? { ExpressionAttributeNames: { '#domain': 'domain', '#type': 'type' } } : {}),
          ExpressionAttributeValues: {
            ':one': 1,
            ':now': now,
            ':jid': new Set([jid]),
            ...(assumed ? { ':domain': assumed.domain, ':reset': 'reset', ':username': assumed.username } : {}),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
        },
      },
      {
        // Lock the JID.
        Put: {
          TableName: this.#table,
          Item: { ...lockKey(kind, jid, inviteId), kind: 'redemption', ...claim },
          ConditionExpression: NAME_FREE_FOR_INVITE,
          ExpressionAttributeValues: { ...lockValues(now), ':id': inviteId },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
        },
      },
    ];
  }

  public async claimUnread({
    inviteId,
    domain,
    username,
    jid,
    now,
    leaseSeconds,
    fingerprint,
  }: UnreadClaimRequest): Promise<ClaimRecord | undefined> {
    const claim = newClaim(inviteId, jid, now, leaseSeconds, fingerprint);
    try {
      await transact(this.#db, this.#claimItems(inviteId, jid, 'account', claim, now, { domain, username }));
      return claim;
    } catch (e) {
      // Cancelled by a condition: nothing was written; `claim` gives the answer.
      if (cancellationReasons(e).some((r) => r?.Code === 'ConditionalCheckFailed')) return undefined;
      throw e;
    }
  }

  public async claim({ invite, jid, kind, now, leaseSeconds, fingerprint }: ClaimRequest): Promise<ClaimResult> {
    const claim = newClaim(invite.id, jid, now, leaseSeconds, fingerprint);
    try {
      await transact(this.#db, this.#claimItems(invite.id, jid, kind, claim, now));
      return { outcome: 'claimed', claim };
    } catch (e) {
      const [inviteReason, lockReason] = cancellationReasons(e);
      if (lockReason?.Code === 'ConditionalCheckFailed') {
        const lock = reasonItem(lockReason);
        // The same invite already claimed this JID: a retry of the same redemption.
        if (lock?.kind === 'redemption' && lock.inviteId === invite.id) return { outcome: 'existing', claim: toClaim(lock) };
        throw new InviteError('username-taken', `${jid} is already taken`);
      }
      if (inviteReason?.Code === 'ConditionalCheckFailed') throw inviteRefusal(reasonItem(inviteReason), now);
      throw e;
    }
  }

  public async getClaim(kind: ClaimKind, jid: string, inviteId: string): Promise<ClaimRecord | undefined> {
    const { Item } = await this.#db.send(
      new GetCommand({ TableName: this.#table, Key: lockKey(kind, jid, inviteId), ConsistentRead: true })
    );
    return Item && Item.kind === 'redemption' && Item.inviteId === inviteId ? toClaim(Item) : undefined;
  }

  public async renewLease(claim: ClaimRecord, kind: ClaimKind, now: number, leaseSeconds: number): Promise<ClaimRecord | undefined> {
    try {
      const { Attributes } = await this.#db.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: lockKey(kind, claim.jid, claim.inviteId),
          UpdateExpression: 'SET leaseUntil = :until',
          // Still pending, and its lease has run out (or it predates leases):
          // of parallel retries only one gets past this.
          ConditionExpression: `${PENDING_CLAIM_OF_INVITE} AND ${LEASE_RUN_OUT}`,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':id': claim.inviteId, ':pending': 'pending', ':now': now, ':until': now + leaseSeconds },
          ReturnValues: 'ALL_NEW',
        })
      );
      return toClaim(Attributes as Item);
    } catch (e) {
      if (isConditionFailure(e)) return undefined;
      throw e;
    }
  }

  public async complete(claim: ClaimRecord, kind: ClaimKind, now: number, lineage?: LineageRecord): Promise<void> {
    try {
      await transact(this.#db, [
        {
          Update: {
            TableName: this.#table,
            Key: lockKey(kind, claim.jid, claim.inviteId),
            // The fingerprint stays: a replay is answered only to the same password (lib/invites/redeem.ts).
            UpdateExpression: 'SET #status = :completed, completedAt = :now REMOVE leaseUntil',
            ConditionExpression: PENDING_CLAIM_OF_INVITE,
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':completed': 'completed', ':pending': 'pending', ':now': now, ':id': claim.inviteId },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        {
          Update: {
            TableName: this.#table,
            Key: inviteKey(claim.inviteId),
            UpdateExpression: 'SET pending = pending - :one DELETE pendingJids :jid',
            ConditionExpression: HAS_PENDING,
            ExpressionAttributeValues: { ':one': 1, ':zero': 0, ':jid': new Set([claim.jid]) },
          },
        },
        { Put: { TableName: this.#table, Item: auditItem(claim.inviteId, claim.jid, kind, now) } },
        // The new account's lineage record: it exists exactly when the account's claim completed.
        ...(lineage ? [lineagePut(this.#table, lineage)] : []),
      ]);
    } catch (e) {
      const [lockReason] = cancellationReasons(e);
      if (lockReason?.Code === 'ConditionalCheckFailed') {
        // Already completed (a retry answered first): nothing left to do. A
        // lock that is gone or belongs to another invite is a broken claim.
        const lock = reasonItem(lockReason);
        if (lock?.inviteId === claim.inviteId && lock.status === 'completed') return;
        throw new Error(`claim on ${claim.jid} was lost before completion`, { cause: e });
      }
      throw e;
    }
  }

  public async release(
    claim: ClaimRecord,
    kind: ClaimKind,
    invite: Invite,
    options: { onlyIfLeaseUnchanged?: boolean } = {}
  ): Promise<boolean> {
    const key = lockKey(kind, claim.jid, claim.inviteId);
    // Still this invite's pending claim; and, for an abandoned claim, still
    // under the lease that was seen expired (a retry that took it over wins).
    const ownClaim = {
      ConditionExpression: options.onlyIfLeaseUnchanged ? `${PENDING_CLAIM_OF_INVITE} AND ${SAME_LEASE(claim)}` : PENDING_CLAIM_OF_INVITE,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':id': claim.inviteId,
        ':pending': 'pending',
        ...(options.onlyIfLeaseUnchanged && claim.leaseUntil !== undefined ? { ':lease': claim.leaseUntil } : {}),
      },
    };
    // A preset username goes back to its invite's reservation.
    const restoreReservation = kind === 'account' && invite.username !== undefined;
    try {
      await transact(this.#db, [
        restoreReservation
          ? { Put: { TableName: this.#table, Item: { ...reservationItem(invite), ...key }, ...ownClaim } }
          : { Delete: { TableName: this.#table, Key: key, ...ownClaim } },
        {
          Update: {
            TableName: this.#table,
            Key: inviteKey(claim.inviteId),
            UpdateExpression: 'SET uses = uses - :one, pending = pending - :one DELETE pendingJids :jid',
            ConditionExpression: HAS_PENDING,
            ExpressionAttributeValues: { ':one': 1, ':zero': 0, ':jid': new Set([claim.jid]) },
          },
        },
      ]);
      return true;
    } catch (e) {
      // Already released, completed or taken over by a parallel request.
      if (cancellationReasons(e)[0]?.Code === 'ConditionalCheckFailed') return false;
      throw e;
    }
  }

  public async spendContactInvite({ invite, subscriber, now }: ContactSpendRequest): Promise<{ outcome: 'spent' | 'existing' }> {
    const record = contactKey(subscriber, invite.id);
    // A repeated subscription (apps resend them) must not cost a second use,
    // even once the invite is used up: look first, consistently.
    const { Item: seen } = await this.#db.send(new GetCommand({ TableName: this.#table, Key: record, ConsistentRead: true }));
    if (seen) return { outcome: 'existing' };
    try {
      await transact(this.#db, [
        {
          Update: {
            TableName: this.#table,
            Key: inviteKey(invite.id),
            UpdateExpression: 'SET uses = uses + :one',
            ConditionExpression: LIVE_INVITE,
            ExpressionAttributeValues: { ':one': 1, ':now': now },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        {
          Put: {
            TableName: this.#table,
            Item: {
              ...record,
              kind: 'contact-spend',
              inviteId: invite.id,
              jid: subscriber,
              createdAt: now,
              expiresAt: now + AUDIT_RETENTION_SECONDS,
            },
            ConditionExpression: NEW_ITEM,
          },
        },
        // The audit record that makes the invite.redeemed event.
        { Put: { TableName: this.#table, Item: auditItem(invite.id, subscriber, 'contact', now) } },
      ]);
      return { outcome: 'spent' };
    } catch (e) {
      const [inviteReason, recordReason] = cancellationReasons(e);
      // A parallel request of the same subscriber won: the same answer.
      if (recordReason?.Code === 'ConditionalCheckFailed') return { outcome: 'existing' };
      if (inviteReason?.Code === 'ConditionalCheckFailed') throw inviteRefusal(reasonItem(inviteReason), now);
      throw e;
    }
  }
}
