/**
 * Reads of many invites: paginated lists on the byInviter/byDomain indexes
 * and live-invite counts for quotas. Queries, never Scans.
 *
 * The indexes hold only what their queries filter on (infra/table.yml), so
 * that a redeem's completion, which changes `pending`, writes no index: a list
 * picks its page on the index, then reads those invites from the table.
 */
import { BatchGetCommand, type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { InviteError } from '../../errors.js';
import type { Invite } from '../../invites/Invite.js';
import type { ListQuery, Page } from '../../ports/InviteStore.js';
import { STATUS_FILTERS } from './conditions.js';
import { type Item, fromItem, sortKey } from './inviteItems.js';
import { IndexPrefix, TableSchema, type TableKey } from './tableKeys.js';

/** BatchGetItem takes at most 100 keys. */
const BATCH_GET_MAX = 100;

/** The table's items for these keys, in the keys' order; one that is gone meanwhile (TTL) is left out. */
export const readItems = async (db: DynamoDBDocumentClient, table: string, keys: TableKey[]): Promise<Item[]> => {
  const found = new Map<string, Item>();
  const id = (k: { pk?: unknown; sk?: unknown }) => `${k.pk as string}\u0000${k.sk as string}`;
  for (let i = 0; i < keys.length; i += BATCH_GET_MAX) {
    let request: Record<string, { Keys: TableKey[] }> | undefined = { [table]: { Keys: keys.slice(i, i + BATCH_GET_MAX) } };
    for (let attempt = 0; request && attempt < 8; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt));
      const out = await db.send(new BatchGetCommand({ RequestItems: request }));
      for (const item of out.Responses?.[table] ?? []) found.set(id(item), item);
      const left = out.UnprocessedKeys?.[table]?.Keys as TableKey[] | undefined;
      request = left && left.length > 0 ? { [table]: { Keys: left } } : undefined;
    }
    if (request) throw new Error('DynamoDB left keys of a list unprocessed');
  }
  return keys.map((k) => found.get(id(k))).filter((item): item is Item => item !== undefined);
};

export const encodeCursor = (key: Record<string, unknown>): string => Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');

/** Cursors are opaque to clients but checked here: a forged one must not reach DynamoDB. */
export const decodeCursor = (cursor: string, pkName: string, skName: string, partition: string): Item => {
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

export const listInvites = async (db: DynamoDBDocumentClient, table: string, query: ListQuery): Promise<Page<Invite>> => {
  if (query.source) return listBySource(db, table, query as ListQuery & { source: string });
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
      TableName: table,
      IndexName: index.name,
      KeyConditionExpression: `${index.pk} = :p`,
      ExpressionAttributeValues: values,
      ScanIndexForward: false,
      Limit: query.limit - items.length,
      ExclusiveStartKey: startKey,
    };
    if (filters.length > 0) input.FilterExpression = filters.map((f) => `(${f})`).join(' AND ');
    if (query.inviter && query.domain) input.ExpressionAttributeNames = { '#domain': 'domain' };
    const page = await db.send(new QueryCommand(input));
    const keys = (page.Items ?? []).map((i) => ({ pk: i.pk as string, sk: i.sk as string }));
    items.push(...(await readItems(db, table, keys)).map(fromItem));
    startKey = page.LastEvaluatedKey;
    if (!startKey || items.length >= query.limit) break;
  }
  return { items, cursor: startKey ? encodeCursor(startKey) : undefined };
};

/**
 * A source's own invites, from the sparse bySource index (every invite of a
 * quota-limited key is in it), latest expiry first. The index projects no
 * domain or inviter: those narrow the page after the invites are read.
 */
const listBySource = async (db: DynamoDBDocumentClient, table: string, query: ListQuery & { source: string }): Promise<Page<Invite>> => {
  const index = TableSchema.bySource;
  const partition = `${IndexPrefix.source}${query.source}`;
  let startKey = query.cursor ? decodeCursor(query.cursor, index.pk, index.sk, partition) : undefined;
  const items: Invite[] = [];
  const values: Item = { ':p': partition };
  if (query.status && query.status !== 'revoked') values[':now'] = query.now;
  const wanted = (i: Invite) => (!query.domain || i.domain === query.domain) && (!query.inviter || i.inviter === query.inviter);
  for (let round = 0; round < 5; round++) {
    const input: QueryCommandInput = {
      TableName: table,
      IndexName: index.name,
      KeyConditionExpression: `${index.pk} = :p`,
      ExpressionAttributeValues: values,
      ScanIndexForward: false,
      Limit: query.limit - items.length,
      ExclusiveStartKey: startKey,
    };
    if (query.status) input.FilterExpression = STATUS_FILTERS[query.status];
    const page = await db.send(new QueryCommand(input));
    const keys = (page.Items ?? []).map((i) => ({ pk: i.pk as string, sk: i.sk as string }));
    items.push(...(await readItems(db, table, keys)).map(fromItem).filter(wanted));
    startKey = page.LastEvaluatedKey;
    if (!startKey || items.length >= query.limit) break;
  }
  return { items, cursor: startKey ? encodeCursor(startKey) : undefined };
};

export const countLiveInvites = async (
  db: DynamoDBDocumentClient,
  table: string,
  by: { inviter?: string; source?: string },
  now: number,
  atMost: number
): Promise<number> => {
  if (!by.inviter && !by.source) return 0;
  let count = 0;
  let startKey: Item | undefined;
  do {
    const input: QueryCommandInput = by.inviter
      ? {
          TableName: table,
          IndexName: TableSchema.byInviter.name,
          KeyConditionExpression: `${TableSchema.byInviter.pk} = :p`,
          FilterExpression: STATUS_FILTERS.valid,
          ExpressionAttributeValues: { ':p': `${IndexPrefix.inviter}${by.inviter}`, ':now': now },
          Select: 'COUNT',
          ExclusiveStartKey: startKey,
        }
      : {
          // bySource is sorted by expiry: the key condition skips expired invites.
          TableName: table,
          IndexName: TableSchema.bySource.name,
          KeyConditionExpression: `${TableSchema.bySource.pk} = :p AND ${TableSchema.bySource.sk} > :after`,
          FilterExpression: STATUS_FILTERS.valid,
          ExpressionAttributeValues: { ':p': `${IndexPrefix.source}${by.source}`, ':after': sortKey(now, '~'), ':now': now },
          Select: 'COUNT',
          ExclusiveStartKey: startKey,
        };
    const page = await db.send(new QueryCommand(input));
    count += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey && count < atMost);
  return count;
};
