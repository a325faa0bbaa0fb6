import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { InviteError } from '../../errors.js';
import type { Invite } from '../../invites/Invite.js';
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
  UnreadClaimRequest,
} from '../../ports/InviteStore.js';
import type { LineageRecord } from '../../lineage/Lineage.js';
import { DynamoDBClaims } from './DynamoDBClaims.js';
import { documentClient } from './client.js';
import { EXISTING_ITEM, NAME_FREE, NEW_ITEM, RESERVATION_OF_INVITE, lockValues } from './conditions.js';
import { type Item, fromItem, reservationItem, toItem, toItemCountedBySource } from './inviteItems.js';
import { countLiveInvites, listInvites } from './inviteQueries.js';
import { SortKey, accountLockKey, inviteKey } from './tableKeys.js';
import { cancellationReasons, transact } from './transactions.js';

export interface DynamoDBInviteStoreOptions {
  tableName: string;
  client?: DynamoDBDocumentClient;
}

/**
 * The InviteStore port on one DynamoDB table, cut by role like Powertools'
 * persistence layer: keys (tableKeys.ts), item shapes (inviteItems.ts), named
 * conditions (conditions.ts), one transaction helper (transactions.ts),
 * queries (inviteQueries.ts) and the claim lifecycle (DynamoDBClaims.ts).
 * This class holds the invite's own life: create, read, revoke.
 */
export class DynamoDBInviteStore implements InviteStore {
  readonly #table: string;
  readonly #db: DynamoDBDocumentClient;
  readonly #claims: DynamoDBClaims;

  public constructor(options: DynamoDBInviteStoreOptions) {
    this.#table = options.tableName;
    this.#db = options.client ?? documentClient();
    this.#claims = new DynamoDBClaims(this.#table, this.#db);
  }

  public async create(invite: Invite, now: number, options: { countBySource?: boolean } = {}): Promise<void> {
    const put = {
      TableName: this.#table,
      Item: options.countBySource ? toItemCountedBySource(invite) : toItem(invite),
      ConditionExpression: NEW_ITEM,
    };
    if (!invite.username || invite.type === 'reset') {
      await this.#db.send(new PutCommand(put));
      return;
    }
    // A preset username is reserved while the invite lives (XEP-0401 MUST):
    // a live reservation, a redemption or a registration means it is taken.
    try {
      await transact(this.#db, [
        { Put: put },
        {
          Put: {
            TableName: this.#table,
            Item: reservationItem(invite),
            ConditionExpression: NAME_FREE,
            ExpressionAttributeValues: lockValues(now),
          },
        },
      ]);
    } catch (e) {
      if (cancellationReasons(e)[1]?.Code === 'ConditionalCheckFailed') {
        throw new InviteError('username-taken', `the username ${invite.username} is reserved or taken`);
      }
      throw e;
    }
  }

  public async get(id: string, options: { consistent?: boolean } = {}): Promise<Invite | undefined> {
    const { Item } = await this.#db.send(
      new GetCommand({ TableName: this.#table, Key: inviteKey(id), ...(options.consistent ? { ConsistentRead: true } : {}) })
    );
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

  public list(query: ListQuery): Promise<Page<Invite>> {
    return listInvites(this.#db, this.#table, query);
  }

  public countLive(by: { inviter?: string; source?: string }, now: number, atMost: number): Promise<number> {
    return countLiveInvites(this.#db, this.#table, by, now, atMost);
  }

  public async revoke(id: string, now: number): Promise<Invite | undefined> {
    let invite: Invite;
    try {
      const { Attributes } = await this.#db.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: inviteKey(id),
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :now)',
          ConditionExpression: EXISTING_ITEM,
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
            ConditionExpression: RESERVATION_OF_INVITE,
            ExpressionAttributeValues: { ':reservation': 'reservation', ':id': id, ':now': now },
          })
        );
      } catch (e) {
        if (!(e instanceof ConditionalCheckFailedException)) throw e;
      }
    }
    return invite;
  }

  public claim(request: ClaimRequest): Promise<ClaimResult> {
    return this.#claims.claim(request);
  }

  public claimUnread(request: UnreadClaimRequest): Promise<ClaimRecord | undefined> {
    return this.#claims.claimUnread(request);
  }

  public getClaim(kind: ClaimKind, jid: string, inviteId: string): Promise<ClaimRecord | undefined> {
    return this.#claims.getClaim(kind, jid, inviteId);
  }

  public renewLease(claim: ClaimRecord, kind: ClaimKind, now: number, leaseSeconds: number): Promise<ClaimRecord | undefined> {
    return this.#claims.renewLease(claim, kind, now, leaseSeconds);
  }

  public complete(claim: ClaimRecord, kind: ClaimKind, now: number, lineage?: LineageRecord): Promise<void> {
    return this.#claims.complete(claim, kind, now, lineage);
  }

  public release(claim: ClaimRecord, kind: ClaimKind, invite: Invite, options?: { onlyIfLeaseUnchanged?: boolean }): Promise<boolean> {
    return this.#claims.release(claim, kind, invite, options);
  }

  public spendContactInvite(request: ContactSpendRequest): Promise<{ outcome: 'spent' | 'existing' }> {
    return this.#claims.spendContactInvite(request);
  }
}
