import { ConditionalCheckFailedException, TransactionCanceledException, type CancellationReason } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { InviteError } from '../../errors.js';
import { inviteStatus, statusError, type Invite, type InviteStatus } from '../../invites/Invite.js';
import type {
  ClaimKind,
  ClaimRecord,
  ClaimRequest,
  ClaimResult,
  ContactSpendRequest,
  InviteStore,
  ListQuery,
  Page,
  RedemptionRecord,
} from '../../ports/InviteStore.js';
import { documentClient } from './client.js';
import { IndexPrefix, SortKey, TableSchema, accountLockKey, auditKey, contactKey, inviteKey, resetLockKey } from './tableKeys.js';

const lockKey = (kind: ClaimKind, jid: string, inviteId: string) =>
  kind === 'account' ? accountLockKey(jid) : resetLockKey(jid, inviteId);

/** Audit records outlive the invite by this long, then TTL removes them. */
const AUDIT_RETENTION_SECONDS = 400 * 24 * 3600;
const MAX_TRANSACTION_ATTEMPTS = 12;

type Item = Record<string, unknown>;

const sortKey = (createdAt: number, id: string) => `${String(createdAt).padStart(12, '0')}#${id}`;

export const toItem = (invite: Invite): Item => ({
  ...inviteKey(invite.id),
  kind: 'invite',
  id: invite.id,
  type: invite.type,
  domain: invite.domain,
  inviter: invite.inviter,
  username: invite.username,
  maxUses: invite.maxUses ?? undefined,
  uses: invite.uses,
  pending: invite.pending,
  expiresAt: invite.expiresAt,
  createdAt: invite.createdAt,
  revokedAt: invite.revokedAt,
  groups: invite.groups,
  roles: invite.roles,
  note: invite.note,
  source: invite.source,
  ...(invite.inviter ? { gsi1pk: `${IndexPrefix.inviter}${invite.inviter}`, gsi1sk: sortKey(invite.createdAt, invite.id) } : {}),
  gsi2pk: `${IndexPrefix.domain}${invite.domain}`,
  gsi2sk: sortKey(invite.createdAt, invite.id),
});

export const fromItem = (item: Item): Invite => ({
  id: item.id as string,
  type: item.type as Invite['type'],
  domain: item.domain as string,
  inviter: item.inviter as string | undefined,
  username: item.username as string | undefined,
  maxUses: typeof item.maxUses === 'number' ? item.maxUses : null,
  uses: Number(item.uses ?? 0),
  pending: Number(item.pending ?? 0),
  pendingJids: item.pendingJids instanceof Set ? [...(item.pendingJids as Set<string>)] : [],
  expiresAt: Number(item.expiresAt),
  createdAt: Number(item.createdAt),
  revokedAt: typeof item.revokedAt === 'number' ? item.revokedAt : undefined,
  groups: (item.groups as string[] | undefined) ?? [],
  roles: (item.roles as string[] | undefined) ?? [],
  note: item.note as string | undefined,
  source: (item.source as string | undefined) ?? 'unknown',
});

const toClaim = (item: Item): ClaimRecord => ({
  inviteId: item.inviteId as string,
  jid: item.jid as string,
  status: item.status as ClaimRecord['status'],
  leaseUntil: typeof item.leaseUntil === 'number' ? item.leaseUntil : undefined,
  fingerprint: item.fingerprint as string | undefined,
  salt: item.salt as string | undefined,
  createdAt: Number(item.createdAt),
  completedAt: typeof item.completedAt === 'number' ? item.completedAt : undefined,
});

/** Status filters for list queries; they mirror inviteStatus(). */
const STATUS_FILTERS: Record<InviteStatus, string> = {
  revoked: 'attribute_exists(revokedAt)',
  expired: 'attribute_not_exists(revokedAt) AND expiresAt <= :now',
  used: 'attribute_not_exists(revokedAt) AND expiresAt > :now AND attribute_exists(maxUses) AND uses >= maxUses',
  valid: 'attribute_not_exists(revokedAt) AND expiresAt > :now AND (attribute_not_exists(maxUses) OR uses < maxUses)',
};

const encodeCursor = (key: Record<string, unknown>): string => Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');

/** Cursors are opaque to clients but checked here: a forged one must not reach DynamoDB. */
const decodeCursor = (cursor: string, pkName: string, skName: string, partition: string): Item => {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InviteError('cursor-invalid', 'cursor is not one this service returned');
  }
  const expected = ['pk', 'sk', pkName, skName].sort().join(',');
  if (
    typeof key !== 'object' ||
    key === null ||
    Object.keys(key).sort().join(',') !== expected ||
    !Object.values(key).every((v) => typeof v === 'string' && v.length < 2048) ||
    (key as Item)[pkName] !== partition
  ) {
    throw new InviteError('cursor-invalid', 'cursor is not one this service returned');
  }
  return key as Item;
};

const reasonItem = (reason: CancellationReason | undefined): Item | undefined =>
  reason?.Item ? unmarshall(reason.Item as never) : undefined;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface DynamoDBInviteStoreOptions {
  tableName: string;
  client?: DynamoDBDocumentClient;
}

export class DynamoDBInviteStore implements InviteStore {
  readonly #table: string;
  readonly #db: DynamoDBDocumentClient;

  public constructor(options: DynamoDBInviteStoreOptions) {
    this.#table = options.tableName;
    this.#db = options.client ?? documentClient();
  }

  public async create(invite: Invite, now: number, options: { countBySource?: boolean } = {}): Promise<void> {
    const put = {
      TableName: this.#table,
      Item: options.countBySource
        ? { ...toItem(invite), gsi3pk: `${IndexPrefix.source}${invite.source}`, gsi3sk: sortKey(invite.expiresAt, invite.id) }
        : toItem(invite),
      ConditionExpression: 'attribute_not_exists(pk)',
    };
    if (!invite.username || invite.type === 'reset') {
      await this.#db.send(new PutCommand(put));
      return;
    }
    // A preset username is reserved while the invite lives (XEP-0401 MUST).
    // The lock item may be absent, or an expired reservation of another invite;
    // a live reservation or a completed redemption means the name is taken.
    try {
      await this.#db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: put },
            {
              Put: {
                TableName: this.#table,
                Item: {
                  ...accountLockKey(`${invite.username}@${invite.domain}`),
                  kind: 'reservation',
                  inviteId: invite.id,
                  jid: `${invite.username}@${invite.domain}`,
                  expiresAt: invite.expiresAt,
                  createdAt: invite.createdAt,
                },
                // An abandoned open registration (its lease ran out) frees the name too.
                ConditionExpression: 'attribute_not_exists(pk) OR ((kind = :reservation OR kind = :registration) AND expiresAt <= :now)',
                ExpressionAttributeValues: { ':reservation': 'reservation', ':registration': 'registration', ':now': now },
              },
            },
          ],
        })
      );
    } catch (e) {
      if (e instanceof TransactionCanceledException && e.CancellationReasons?.[1]?.Code === 'ConditionalCheckFailed') {
        throw new InviteError('username-taken', `the username ${invite.username} is reserved or taken`);
      }
      throw e;
    }
  }

  public async get(id: string): Promise<Invite | undefined> {
    const { Item } = await this.#db.send(new GetCommand({ TableName: this.#table, Key: inviteKey(id) }));
    return Item ? fromItem(Item) : undefined;
  }

  public async getWithRedemptions(id: string): Promise<{ invite: Invite; redemptions: RedemptionRecord[] } | undefined> {
    const { Items = [] } = await this.#db.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': inviteKey(id).pk },
      })
    );
    const inviteItem = Items.find((i) => i.sk === SortKey.invite);
    if (!inviteItem) return undefined;
    const redemptions = Items.filter((i) => typeof i.sk === 'string' && i.sk.startsWith(SortKey.audit)).map((i) => ({
      jid: i.jid as string,
      at: Number(i.at),
      kind: i.claimKind as ClaimKind,
    }));
    return { invite: fromItem(inviteItem), redemptions };
  }

  public async list(query: ListQuery): Promise<Page<Invite>> {
    const index = query.inviter ? TableSchema.byInviter : TableSchema.byDomain;
    const partition = query.inviter ? `${IndexPrefix.inviter}${query.inviter}` : `${IndexPrefix.domain}${query.domain}`;
    let startKey = query.cursor ? decodeCursor(query.cursor, index.pk, index.sk, partition) : undefined;
    const items: Invite[] = [];
    const filters: string[] = [];
    const values: Item = { ':p': partition };
    if (query.status) {
      filters.push(STATUS_FILTERS[query.status]);
      if (query.status !== 'revoked') values[':now'] = query.now;
    }
    if (query.inviter && query.domain) {
      filters.push('#domain = :domain');
      values[':domain'] = query.domain;
    }
    // A filtered Query can return short pages; read on (bounded) to fill one.
    for (let round = 0; round < 5; round++) {
      const input: QueryCommandInput = {
        TableName: this.#table,
        IndexName: index.name,
        KeyConditionExpression: `${index.pk} = :p`,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        Limit: query.limit - items.length,
        ExclusiveStartKey: startKey,
      };
      if (filters.length > 0) input.FilterExpression = filters.map((f) => `(${f})`).join(' AND ');
      if (query.inviter && query.domain) input.ExpressionAttributeNames = { '#domain': 'domain' };
      const page = await this.#db.send(new QueryCommand(input));
      items.push(...(page.Items ?? []).map(fromItem));
      startKey = page.LastEvaluatedKey;
      if (!startKey || items.length >= query.limit) break;
    }
    return { items, cursor: startKey ? encodeCursor(startKey) : undefined };
  }

  public async revoke(id: string, now: number): Promise<Invite | undefined> {
    let invite: Invite;
    try {
      const { Attributes } = await this.#db.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: inviteKey(id),
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :now)',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':now': now },
          ReturnValues: 'ALL_NEW',
        })
      );
      invite = fromItem(Attributes as Item);
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return undefined;
      throw e;
    }
    if (invite.username && invite.type !== 'reset') {
      // Free the reserved name; a completed redemption of it stays.
      try {
        await this.#db.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: accountLockKey(`${invite.username}@${invite.domain}`),
            UpdateExpression: 'SET expiresAt = :now',
            ConditionExpression: 'kind = :reservation AND inviteId = :id',
            ExpressionAttributeValues: { ':reservation': 'reservation', ':id': id, ':now': now },
          })
        );
      } catch (e) {
        if (!(e instanceof ConditionalCheckFailedException)) throw e;
      }
    }
    return invite;
  }

  public async countLive(by: { inviter?: string; source?: string }, now: number, atMost: number): Promise<number> {
    if (!by.inviter && !by.source) return 0;
    let count = 0;
    let startKey: Item | undefined;
    do {
      const input: QueryCommandInput = by.inviter
        ? {
            TableName: this.#table,
            IndexName: TableSchema.byInviter.name,
            KeyConditionExpression: 'gsi1pk = :p',
            FilterExpression: STATUS_FILTERS.valid,
            ExpressionAttributeValues: { ':p': `${IndexPrefix.inviter}${by.inviter}`, ':now': now },
            Select: 'COUNT',
            ExclusiveStartKey: startKey,
          }
        : {
            // bySource is sorted by expiry: the key condition skips expired invites.
            TableName: this.#table,
            IndexName: TableSchema.bySource.name,
            KeyConditionExpression: 'gsi3pk = :p AND gsi3sk > :after',
            FilterExpression: STATUS_FILTERS.valid,
            ExpressionAttributeValues: { ':p': `${IndexPrefix.source}${by.source}`, ':after': sortKey(now, '~'), ':now': now },
            Select: 'COUNT',
            ExclusiveStartKey: startKey,
          };
      const page = await this.#db.send(new QueryCommand(input));
      count += page.Count ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey && count < atMost);
    return count;
  }

  public async claim({ invite, jid, kind, now, leaseSeconds, fingerprint }: ClaimRequest): Promise<ClaimResult> {
    const [salt, hash] = fingerprint.split(':');
    const claim: ClaimRecord = {
      inviteId: invite.id,
      jid,
      status: 'pending',
      leaseUntil: now + leaseSeconds,
      fingerprint: hash,
      salt,
      createdAt: now,
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#db.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                // Take one use: the invite exists, is not revoked, has not
                // expired (TTL deletes late) and has uses left (no maxUses =
                // unlimited).
                Update: {
                  TableName: this.#table,
                  Key: inviteKey(invite.id),
                  // pendingJids names the claims in flight, so a stale one can be found.
                  UpdateExpression: 'SET uses = uses + :one, pending = pending + :one ADD pendingJids :jid',
                  ConditionExpression:
                    'attribute_exists(pk) AND attribute_not_exists(revokedAt) AND expiresAt > :now AND (attribute_not_exists(maxUses) OR uses < maxUses)',
                  ExpressionAttributeValues: { ':one': 1, ':now': now, ':jid': new Set([jid]) },
                  ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
                },
              },
              {
                // Lock the JID. Allowed over: nothing, or a reservation made
                // by this very invite, or an expired reservation of another.
                Put: {
                  TableName: this.#table,
                  Item: { ...lockKey(kind, jid, invite.id), kind: 'redemption', ...claim },
                  ConditionExpression:
                    'attribute_not_exists(pk) OR (kind = :reservation AND (inviteId = :id OR expiresAt <= :now)) OR (kind = :registration AND expiresAt <= :now)',
                  ExpressionAttributeValues: {
                    ':reservation': 'reservation',
                    ':registration': 'registration',
                    ':id': invite.id,
                    ':now': now,
                  },
                  ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
                },
              },
            ],
          })
        );
        return { outcome: 'claimed', claim };
      } catch (e) {
        if (!(e instanceof TransactionCanceledException)) throw e;
        const [inviteReason, lockReason] = e.CancellationReasons ?? [];
        const conflict = [inviteReason, lockReason].some((r) => r?.Code === 'TransactionConflict');
        if (lockReason?.Code === 'ConditionalCheckFailed') {
          const lock = reasonItem(lockReason);
          if (lock?.kind === 'redemption' && lock.inviteId === invite.id) {
            return { outcome: 'existing', claim: toClaim(lock) };
          }
          throw new InviteError('username-taken', `${jid} is already taken`);
        }
        if (inviteReason?.Code === 'ConditionalCheckFailed') {
          const current = reasonItem(inviteReason);
          if (!current) throw new InviteError('token-invalid', 'no such invite');
          const status = inviteStatus(fromItem(current), now);
          throw statusError(status === 'valid' ? 'used' : status);
        }
        if (conflict && attempt < MAX_TRANSACTION_ATTEMPTS) {
          // Parallel claims on one invite conflict in DynamoDB; back off with jitter.
          await sleep(Math.random() * 8 * attempt);
          continue;
        }
        throw e;
      }
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
          // Still pending for this invite, and its lease has run out (or it
          // predates leases); of parallel retries only one gets past this.
          ConditionExpression: 'inviteId = :id AND #status = :pending AND (attribute_not_exists(leaseUntil) OR leaseUntil <= :now)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':id': claim.inviteId, ':pending': 'pending', ':now': now, ':until': now + leaseSeconds },
          ReturnValues: 'ALL_NEW',
        })
      );
      return toClaim(Attributes as Item);
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return undefined;
      throw e;
    }
  }

  public async complete(claim: ClaimRecord, kind: ClaimKind, now: number): Promise<void> {
    try {
      await this.#transact([
        {
          Update: {
            TableName: this.#table,
            Key: lockKey(kind, claim.jid, claim.inviteId),
            UpdateExpression: 'SET #status = :completed, completedAt = :now REMOVE fingerprint, salt, leaseUntil',
            ConditionExpression: 'inviteId = :id AND #status = :pending',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':completed': 'completed',
              ':pending': 'pending',
              ':now': now,
              ':id': claim.inviteId,
            },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        {
          Update: {
            TableName: this.#table,
            Key: inviteKey(claim.inviteId),
            UpdateExpression: 'SET pending = pending - :one DELETE pendingJids :jid',
            ConditionExpression: 'attribute_exists(pk) AND pending > :zero',
            ExpressionAttributeValues: { ':one': 1, ':zero': 0, ':jid': new Set([claim.jid]) },
          },
        },
        {
          Put: {
            TableName: this.#table,
            Item: {
              ...auditKey(claim.inviteId, claim.jid),
              kind: 'audit',
              jid: claim.jid,
              at: now,
              claimKind: kind,
              expiresAt: now + AUDIT_RETENTION_SECONDS,
            },
          },
        },
      ]);
    } catch (e) {
      const lockReason = e instanceof TransactionCanceledException ? e.CancellationReasons?.[0] : undefined;
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
    const restoreReservation = kind === 'account' && invite.username !== undefined;
    // Still this invite's pending claim; and, for an abandoned claim, still
    // under the lease that was seen expired (a retry that took it over wins).
    const sameLease = claim.leaseUntil === undefined ? 'attribute_not_exists(leaseUntil)' : 'leaseUntil = :lease';
    const ownClaim = {
      ConditionExpression: `inviteId = :id AND #status = :pending${options.onlyIfLeaseUnchanged ? ` AND ${sameLease}` : ''}`,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':id': claim.inviteId,
        ':pending': 'pending',
        ...(options.onlyIfLeaseUnchanged && claim.leaseUntil !== undefined ? { ':lease': claim.leaseUntil } : {}),
      },
    };
    try {
      await this.#transact([
        restoreReservation
          ? {
              // Give the preset username back to its invite.
              Put: {
                TableName: this.#table,
                Item: {
                  ...key,
                  kind: 'reservation',
                  inviteId: invite.id,
                  jid: claim.jid,
                  expiresAt: invite.expiresAt,
                  createdAt: invite.createdAt,
                },
                ...ownClaim,
              },
            }
          : { Delete: { TableName: this.#table, Key: key, ...ownClaim } },
        {
          Update: {
            TableName: this.#table,
            Key: inviteKey(claim.inviteId),
            UpdateExpression: 'SET uses = uses - :one, pending = pending - :one DELETE pendingJids :jid',
            ConditionExpression: 'attribute_exists(pk) AND pending > :zero',
            ExpressionAttributeValues: { ':one': 1, ':zero': 0, ':jid': new Set([claim.jid]) },
          },
        },
      ]);
      return true;
    } catch (e) {
      // Already released, completed or taken over by a parallel request.
      if (e instanceof TransactionCanceledException && e.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') {
        return false;
      }
      throw e;
    }
  }

  async #transact(items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#db.send(new TransactWriteCommand({ TransactItems: items }));
      } catch (e) {
        const conflict =
          e instanceof TransactionCanceledException && (e.CancellationReasons ?? []).some((r) => r.Code === 'TransactionConflict');
        if (!conflict || attempt >= MAX_TRANSACTION_ATTEMPTS) throw e;
        await sleep(Math.random() * 8 * attempt);
      }
    }
  }

  public async spendContactInvite({ invite, subscriber, now }: ContactSpendRequest): Promise<{ outcome: 'spent' | 'existing' }> {
    const record = contactKey(subscriber, invite.id);
    // A repeated subscription (apps resend them) must not cost a second use,
    // even once the invite is used up: look first, consistently.
    const { Item: seen } = await this.#db.send(new GetCommand({ TableName: this.#table, Key: record, ConsistentRead: true }));
    if (seen) return { outcome: 'existing' };
    try {
      await this.#transact([
        {
          // The same live-invite condition as claim().
          Update: {
            TableName: this.#table,
            Key: inviteKey(invite.id),
            UpdateExpression: 'SET uses = uses + :one',
            ConditionExpression:
              'attribute_exists(pk) AND attribute_not_exists(revokedAt) AND expiresAt > :now AND (attribute_not_exists(maxUses) OR uses < maxUses)',
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
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        {
          // The audit record that makes the invite.redeemed event.
          Put: {
            TableName: this.#table,
            Item: {
              ...auditKey(invite.id, subscriber),
              kind: 'audit',
              jid: subscriber,
              at: now,
              claimKind: 'contact',
              expiresAt: now + AUDIT_RETENTION_SECONDS,
            },
          },
        },
      ]);
      return { outcome: 'spent' };
    } catch (e) {
      if (!(e instanceof TransactionCanceledException)) throw e;
      const [inviteReason, recordReason] = e.CancellationReasons ?? [];
      // A parallel request of the same subscriber won: the same answer.
      if (recordReason?.Code === 'ConditionalCheckFailed') return { outcome: 'existing' };
      if (inviteReason?.Code === 'ConditionalCheckFailed') {
        const current = reasonItem(inviteReason);
        if (!current) throw new InviteError('token-invalid', 'no such invite');
        const status = inviteStatus(fromItem(current), now);
        throw statusError(status === 'valid' ? 'used' : status);
      }
      throw e;
    }
  }
}
