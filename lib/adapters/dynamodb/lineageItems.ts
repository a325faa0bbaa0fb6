/**
 * The lineage record's item: ACCT#<jid> / LINEAGE, never with an expiresAt
 * (it lives as long as the account). Its byInviter entry (INVITEES#<parent>,
 * sorted by join time) makes "whom did X invite" one Query; the index holds
 * only keys and `domain`, so a status change writes no index.
 */
import { type LineageRecord, parentOf } from '../../lineage/Lineage.js';
import { type Item, sortKey } from './inviteItems.js';
import { IndexPrefix, lineageKey } from './tableKeys.js';

export const lineageItem = (record: LineageRecord): Item => ({
  ...lineageKey(record.jid),
  kind: 'lineage',
  jid: record.jid,
  domain: record.domain,
  invitedBy: record.invitedBy ?? undefined,
  inviteId: record.inviteId ?? undefined,
  source: record.source,
  joinedAt: record.joinedAt,
  via: record.via ?? undefined,
  status: record.status,
  gsi1pk: `${IndexPrefix.invitees}${parentOf(record)}`,
  gsi1sk: sortKey(record.joinedAt, record.jid),
});

export const fromLineageItem = (item: Item): LineageRecord => ({
  jid: item.jid as string,
  domain: item.domain as string,
  invitedBy: (item.invitedBy as string | undefined) ?? null,
  inviteId: (item.inviteId as string | undefined) ?? null,
  source: item.source as string,
  joinedAt: Number(item.joinedAt ?? 0),
  via: (item.via as LineageRecord['via'] | undefined) ?? null,
  status: (item.status as LineageRecord['status'] | undefined) ?? 'active',
  deletedAt: typeof item.deletedAt === 'number' ? item.deletedAt : undefined,
  suspendedAt: typeof item.suspendedAt === 'number' ? item.suspendedAt : undefined,
  recorded: true,
});

/** The Put that goes into a completion's transaction. */
export const lineagePut = (table: string, record: LineageRecord) => ({ Put: { TableName: table, Item: lineageItem(record) } });
