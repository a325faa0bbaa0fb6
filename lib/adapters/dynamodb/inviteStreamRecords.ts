import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { ClaimKind } from '../../ports/InviteStore.js';
import type { InviteChange } from '../../webhooks/events.js';
import { fromItem } from './inviteItems.js';
import { inviteIdOf, isAuditItem, isBrakeTripItem, isInviteItem, isNoticeItem } from './tableKeys.js';
import type { ContainmentEvent } from '../../ports/ContainmentEvents.js';

/**
 * The parts of a DynamoDB Streams record we read; the Lambda event's records
 * (aws-lambda's DynamoDBRecord) and the local poller's both fit.
 */
export interface StreamRecord {
  eventID?: string;
  eventName?: 'INSERT' | 'MODIFY' | 'REMOVE';
  userIdentity?: { type?: string; principalId?: string };
  dynamodb?: {
    ApproximateCreationDateTime?: number;
    NewImage?: Record<string, unknown>;
    OldImage?: Record<string, unknown>;
    SequenceNumber?: string;
  };
}

type Item = Record<string, unknown>;
const image = (raw: Record<string, unknown> | undefined): Item | undefined => (raw ? unmarshall(raw as never) : undefined);

const isInvite = isInviteItem;
const isRedemptionAudit = isAuditItem;

/** DynamoDB's TTL deletes are the only REMOVEs done by the service itself. */
const isTtlRemoval = (record: StreamRecord): boolean =>
  record.userIdentity?.type === 'Service' && record.userIdentity.principalId === 'dynamodb.amazonaws.com';

/**
 * The invite changes one stream record stands for (none, or one):
 * - INSERT of an invite item: created;
 * - MODIFY of an invite item where revokedAt appears: revoked (revoke keeps
 *   the first revokedAt, so a second revoke changes nothing and says nothing);
 * - INSERT of a redemption audit item (INV#id/RED#jid): redeemed. It is
 *   written once, in the transaction that completes a claim, so a released
 *   or still pending claim is never announced;
 * - REMOVE of an invite item by TTL: expired;
 * - INSERT of a brake trip record (BRAKE#domain/TRIP#hour): registration.brake.
 * - INSERT of a containment notice (NOTE#id/NOTICE): its event.
 * Everything else (use counters, JID locks, API keys, dedupe records) is silent.
 */
export const changesFromStreamRecord = (record: StreamRecord): InviteChange[] => {
  const changeId = record.eventID;
  if (!changeId) return [];
  const newItem = image(record.dynamodb?.NewImage);
  const oldItem = image(record.dynamodb?.OldImage);
  const recordedAt = record.dynamodb?.ApproximateCreationDateTime ?? Math.floor(Date.now() / 1000);
  switch (record.eventName) {
    case 'INSERT':
      if (isInvite(newItem)) {
        const invite = fromItem(newItem as Item);
        return [{ type: 'invite.created', changeId, at: invite.createdAt, invite }];
      }
      if (isRedemptionAudit(newItem)) {
        const audit = newItem as Item;
        const at = Number(audit.at);
        return [
          {
            type: 'invite.redeemed',
            changeId,
            at,
            inviteId: inviteIdOf(audit.pk as string),
            redemption: { jid: audit.jid as string, kind: (audit.claimKind as ClaimKind | 'contact' | undefined) ?? 'account', at },
          },
        ];
      }
      if (isBrakeTripItem(newItem)) {
        // A registration brake's trip record (lib/invites/policy.ts), written once per domain and window.
        const trip = newItem as Item;
        const brake = {
          domain: String(trip.domain),
          limit: Number(trip.limit),
          windowStart: Number(trip.windowStart),
          windowSeconds: Number(trip.windowSeconds),
        };
        return [{ type: 'registration.brake', changeId, at: Number(trip.at), brake }];
      }
      if (isNoticeItem(newItem)) {
        // A containment action (lib/adapters/dynamodb/DynamoDBContainmentEvents.ts).
        const containment = (newItem as Item).event as ContainmentEvent;
        return [{ type: containment.type, changeId, at: containment.at, containment }];
      }
      return [];
    case 'MODIFY':
      if (isInvite(newItem) && newItem?.revokedAt !== undefined && oldItem?.revokedAt === undefined) {
        const invite = fromItem(newItem as Item);
        return [{ type: 'invite.revoked', changeId, at: invite.revokedAt ?? recordedAt, invite }];
      }
      return [];
    case 'REMOVE':
      if (isInvite(oldItem) && isTtlRemoval(record)) {
        // It expired at expiresAt; TTL only removes it later (up to days).
        const invite = fromItem(oldItem as Item);
        return [{ type: 'invite.expired', changeId, at: invite.expiresAt, invite }];
      }
      return [];
    default:
      return [];
  }
};
