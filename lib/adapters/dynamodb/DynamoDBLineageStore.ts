import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type LineageRecord, type LineageStatus, OPEN_REGISTRATION, externalLineage, inviterOf } from '../../lineage/Lineage.js';
import type { Page } from '../../ports/InviteStore.js';
import type { LineageStore } from '../../ports/LineageStore.js';
import { documentClient } from './client.js';
import { EXISTING_ITEM, LIVE_ACCOUNT_RECORD, NEW_ITEM } from './conditions.js';
import { fromItem } from './inviteItems.js';
import { decodeCursor, encodeCursor, readItems } from './inviteQueries.js';
import { fromLineageItem, lineageItem } from './lineageItems.js';
import { IndexPrefix, TableSchema, accountLockKey, inviteKey, lineageKey } from './tableKeys.js';

const isConditionFailure = (e: unknown) => e instanceof ConditionalCheckFailedException;

export class DynamoDBLineageStore implements LineageStore {
  readonly #table: string;
  readonly #db: DynamoDBDocumentClient;

  public constructor(options: { tableName: string; client?: DynamoDBDocumentClient }) {
    this.#table = options.tableName;
    this.#db = options.client ?? documentClient();
  }

  public async get(jid: string, options: { recordOnly?: boolean } = {}): Promise<LineageRecord | undefined> {
    const { Item } = await this.#db.send(new GetCommand({ TableName: this.#table, Key: lineageKey(jid) }));
    if (Item) return fromLineageItem(Item);
    return options.recordOnly ? undefined : this.#fromClaim(jid);
  }

  /**
   * An account made before lineage records: its completed JID lock names the
   * invite (and when), and the invite, until TTL removes it, the inviter.
   */
  async #fromClaim(jid: string): Promise<LineageRecord | undefined> {
    const { Item: lock } = await this.#db.send(new GetCommand({ TableName: this.#table, Key: accountLockKey(jid) }));
    if (lock?.status !== 'completed') return undefined;
    const base = {
      jid,
      domain: jid.slice(jid.indexOf('@') + 1),
      joinedAt: Number(lock.completedAt ?? lock.createdAt ?? 0),
      via: null,
      status: 'active' as const,
      recorded: false,
    };
    if (lock.kind === 'registration') return { ...base, invitedBy: null, inviteId: null, source: OPEN_REGISTRATION };
    if (lock.kind !== 'redemption' || typeof lock.inviteId !== 'string') return undefined;
    const { Item } = await this.#db.send(new GetCommand({ TableName: this.#table, Key: inviteKey(lock.inviteId) }));
    const invite = Item ? fromItem(Item) : undefined;
    return {
      ...base,
      invitedBy: invite ? inviterOf(invite) : null,
      inviteId: lock.inviteId,
      source: invite?.source ?? 'unknown',
    };
  }

  public async invitees(parent: string, page: { limit: number; cursor?: string }): Promise<Page<LineageRecord>> {
    const index = TableSchema.byInviter;
    const partition = `${IndexPrefix.invitees}${parent}`;
    const out = await this.#db.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: index.name,
        KeyConditionExpression: `${index.pk} = :p`,
        ExpressionAttributeValues: { ':p': partition },
        Limit: page.limit,
        ExclusiveStartKey: page.cursor ? decodeCursor(page.cursor, index.pk, index.sk, partition) : undefined,
      })
    );
    const keys = (out.Items ?? []).map((i) => ({ pk: i.pk as string, sk: i.sk as string }));
    const items = (await readItems(this.#db, this.#table, keys)).map(fromLineageItem);
    return { items, cursor: out.LastEvaluatedKey ? encodeCursor(out.LastEvaluatedKey) : undefined };
  }

  public async setStatus(jid: string, status: LineageStatus, now: number): Promise<LineageRecord> {
    const set =
      status === 'deleted'
        ? 'SET #status = :status, deletedAt = if_not_exists(deletedAt, :now)'
        : status === 'suspended'
          ? 'SET #status = :status, suspendedAt = if_not_exists(suspendedAt, :now)'
          : 'SET #status = :status REMOVE suspendedAt';
    // A deleted account stays deleted: suspending or lifting changes nothing.
    const condition = status === 'deleted' ? EXISTING_ITEM : LIVE_ACCOUNT_RECORD;
    try {
      const { Attributes } = await this.#db.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: lineageKey(jid),
          UpdateExpression: set,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':status': status,
            ...(status === 'active' ? {} : { ':now': now }),
            ...(status === 'deleted' ? {} : { ':deleted': 'deleted' }),
          },
          ReturnValues: 'ALL_NEW',
        })
      );
      return fromLineageItem(Attributes ?? {});
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
    const current = await this.get(jid);
    if (current?.recorded && current.status === 'deleted') return current;
    // No record yet (made before lineage records, or outside this service): write one now.
    const record: LineageRecord = { ...(current ?? externalLineage(jid)), recorded: true };
    const stored: LineageRecord = {
      ...record,
      status,
      ...(status === 'deleted' ? { deletedAt: now } : {}),
      ...(status === 'suspended' ? { suspendedAt: now } : {}),
    };
    try {
      await this.#db.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...lineageItem(stored), deletedAt: stored.deletedAt, suspendedAt: stored.suspendedAt },
          ConditionExpression: NEW_ITEM,
        })
      );
      return stored;
    } catch (e) {
      // Written meanwhile (a parallel call, or the account's own completion): update that one.
      if (isConditionFailure(e)) return this.setStatus(jid, status, now);
      throw e;
    }
  }

  public async recordFirstSeen(jid: string, now: number): Promise<LineageRecord> {
    const legacy = await this.#fromClaim(jid);
    const record: LineageRecord = { ...(legacy ?? { ...externalLineage(jid), joinedAt: now }), recorded: true };
    try {
      await this.#db.send(new PutCommand({ TableName: this.#table, Item: lineageItem(record), ConditionExpression: NEW_ITEM }));
      return record;
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
    // Seen (or made) meanwhile: that record stands.
    return (await this.get(jid, { recordOnly: true })) ?? record;
  }
}
