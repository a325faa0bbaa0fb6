import { unmarshall } from '@aws-sdk/util-dynamodb';
import { JoinedVias, type JoinedVia } from '../../lineage/Lineage.js';
import { dayOf } from '../../ports/FunnelCounters.js';
import type { FunnelEvent } from '../../stats/funnelEvents.js';
import type { StreamRecord } from './inviteStreamRecords.js';
import { isInviteItem, KeyPrefix, SortKey } from './tableKeys.js';

const isLineageItem = (item: Record<string, unknown>): boolean =>
  typeof item.pk === 'string' && item.pk.startsWith(KeyPrefix.account) && item.sk === SortKey.lineage;

/**
 * What one stream record adds to the onboarding funnel (none, or one event,
 * keyed by the record's id so a retried batch counts it once):
 * - INSERT of an invite item (INV#<id>/INV): an invite issued, on its domain and creation day;
 * - INSERT of a lineage record (ACCT#<jid>/LINEAGE) with a channel (`via`):
 *   an account registered there, on its join day. It is written once, in the
 *   transaction that completes a redeem (or an open registration); records of
 *   accounts the service did not make (`external`) have no channel and count nothing.
 */
export const funnelEventFromStreamRecord = (record: StreamRecord): FunnelEvent | undefined => {
  const id = record.eventID;
  if (!id || record.eventName !== 'INSERT' || !record.dynamodb?.NewImage) return undefined;
  const item = unmarshall(record.dynamodb.NewImage as never) as Record<string, unknown>;
  if (typeof item.domain !== 'string' || item.domain === '') return undefined;
  if (isInviteItem(item)) {
    return {
      id,
      domain: item.domain,
      day: dayOf(Number(item.createdAt ?? record.dynamodb.ApproximateCreationDateTime ?? 0)),
      counts: { issued: 1 },
    };
  }
  if (isLineageItem(item) && JoinedVias.includes(item.via as JoinedVia)) {
    const via = item.via as JoinedVia;
    return { id, domain: item.domain, day: dayOf(Number(item.joinedAt ?? 0)), counts: { registered: { [via]: 1 } } };
  }
  return undefined;
};
