/**
 * Reads of many invites: paginated lists on the byInviter/byDomain/bySource
 * indexes (one page loop) and live-invite counts for quotas. Queries, never Scans.
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

/** Where one list reads: an index partition, what its Query filters on, and what narrows the invites once read. */
interface ListRead {
  index: { name: string; pk: string; sk: string };
  partition: string;
  /** Filter expressions on the index's projected attributes (ANDed). */
  filters: string[];
  values: Item;
  names?: Record<string, string>;
  /** What the index does not project, checked on the invites read from the table. */
  wanted: (invite: Invite) => boolean;
}

/**
 * Invites newest first (bySource: latest expiry first), paginated. By source
 * (a quota-limited key's own, all in the sparse bySource index), by inviter,
 * or by domain; the indexes project only what their filters need, so type,
 * issuer and (on bySource) domain and inviter narrow the page after the
 * invites are read.
 */
export const listInvites = (db: DynamoDBDocumentClient, table: string, query: ListQuery): Promise<Page<Invite>> => {
  const values: Item = {};
  const filters: string[] = [];
  if (query.status) {
    filters.push(STATUS_FILTERS[query.status]);
    if (query.status !== 'revoked') values[':now'] = query.now;
  }
  const ofQuery = (i: Invite) => (!query.type || i.type === query.type) && (!query.issuedBy || issuedBy(i.source, query.issuedBy));
  if (query.source) {
    return readPages(db, table, query, {
      index: TableSchema.bySource,
      partition: `${IndexPrefix.source}${query.source}`,
      filters,
      values,
      wanted: (i) => ofQuery(i) && (!query.domain || i.domain === query.domain) && (!query.inviter || i.inviter === query.inviter),
    });
  }
  if (query.inviter) {
    // byInviter projects the domain: an inviter's invites on one domain are filtered on the index.
    const names = query.domain ? { '#domain': 'domain' } : undefined;
    if (query.domain) {
      filters.push('#domain = :domain');
      values[':domain'] = query.domain;
    }
    return readPages(db, table, query, {
      index: TableSchema.byInviter,
      partition: `${IndexPrefix.inviter}${query.inviter}`,
      filters,
      values,
      names,
      wanted: ofQuery,
    });
  }
  return readPages(db, table, query, {
    index: TableSchema.byDomain,
    partition: `${IndexPrefix.domain}${query.domain}`,
    filters,
    values,
    wanted: ofQuery,
  });
};

/** `api-key:<id>` issued it, or a source below one (`xmpp-server:<key>` covers `xmpp-server:<key>:<user>`). */
const issuedBy = (source: string, by: string): boolean => source === by || source.startsWith(`${by}:`);

/** The one page loop of every list: Query the index, read those invites, narrow; a filtered Query can return short pages, so read on (bounded) to fill one. */
const readPages = async (db: DynamoDBDocumentClient, table: string, query: ListQuery, read: ListRead): Promise<Page<Invite>> => {
  const { index, partition } = read;
  let startKey = query.cursor ? decodeCursor(query.cursor, index.pk, index.sk, partition) : undefined;
  const items: Invite[] = [];
  for (let round = 0; round < 5; round++) {
    const input: QueryCommandInput = {
      TableName: table,
      IndexName: index.name,
      KeyConditionExpression: `${index.pk} = :p`,
      ExpressionAttributeValues: { ...read.values, ':p': partition },
      ScanIndexForward: false,
      Limit: query.limit - items.length,
      ExclusiveStartKey: startKey,
    };
    if (read.filters.length > 0) input.FilterExpression = read.filters.map((f) => `(${f})`).join(' AND ');
    if (read.names) input.ExpressionAttributeNames = read.names;
    const page = await db.send(new QueryCommand(input));
    const keys = (page.Items ?? []).map((i) => ({ pk: i.pk as string, sk: i.sk as string }));
    items.push(...(await readItems(db, table, keys)).map(fromItem).filter(read.wanted));
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
