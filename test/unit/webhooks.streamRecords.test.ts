import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { toItem } from '../../lib/adapters/dynamodb/inviteItems.js';
import { changesFromStreamRecord, type StreamRecord } from '../../lib/adapters/dynamodb/inviteStreamRecords.js';
import type { Invite } from '../../lib/invites/Invite.js';
import { eventDomain, toWebhookEvent } from '../../lib/webhooks/events.js';

const invite: Invite = {
  id: 'A'.repeat(43),
  type: 'account',
  domain: 'example.com',
  inviter: 'romeo@example.com',
  maxUses: 1,
  uses: 0,
  pending: 0,
  expiresAt: 1_800_000_000,
  createdAt: 1_799_000_000,
  groups: ['Friends'],
  roles: [],
  note: 'hi',
  source: 'api-key:k1',
};
/** The audit item a completed redemption writes, as the stream carries it. */
const auditItem = (jid: string, claimKind: 'account' | 'contact') => ({
  pk: `INV#${invite.id}`,
  sk: `RED#${jid}`,
  kind: 'audit',
  jid,
  at: 1_799_600_000,
  claimKind,
  expiresAt: 1_900_000_000,
});
/** The change that audit item is. */
const redeemed = (jid: string, kind: 'account' | 'contact') => ({
  type: 'invite.redeemed',
  changeId: 'e1',
  at: 1_799_600_000,
  inviteId: invite.id,
  redemption: { jid, kind, at: 1_799_600_000 },
});
const image = (item: Record<string, unknown>) => marshall(item, { removeUndefinedValues: true });
const record = (
  eventName: StreamRecord['eventName'],
  images: { old?: Record<string, unknown>; new?: Record<string, unknown> },
  extra: Partial<StreamRecord> = {}
): StreamRecord => ({
  eventID: 'e1',
  eventName,
  dynamodb: {
    ApproximateCreationDateTime: 1_799_500_000,
    SequenceNumber: '1',
    NewImage: images.new && image(images.new),
    OldImage: images.old && image(images.old),
  },
  ...extra,
});
const TTL = { userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } };

describe('Function: changesFromStreamRecord', () => {
  it('INSERT of an invite item is invite.created', () => {
    const [change] = changesFromStreamRecord(record('INSERT', { new: toItem(invite) }));
    expect(change).toMatchObject({
      type: 'invite.created',
      changeId: 'e1',
      at: invite.createdAt,
      invite: { id: invite.id, inviter: invite.inviter },
    });
  });

  it('MODIFY that sets revokedAt is invite.revoked; other modifications say nothing', () => {
    const revoked = { ...toItem(invite), revokedAt: 1_799_400_000 };
    expect(changesFromStreamRecord(record('MODIFY', { old: toItem(invite), new: revoked }))).toMatchObject([
      { type: 'invite.revoked', at: 1_799_400_000 },
    ]);
    expect(changesFromStreamRecord(record('MODIFY', { old: revoked, new: revoked }))).toEqual([]);
    expect(changesFromStreamRecord(record('MODIFY', { old: toItem(invite), new: { ...toItem(invite), uses: 1, pending: 1 } }))).toEqual([]);
  });

  it('INSERT of the redemption audit item is invite.redeemed', () => {
    expect(changesFromStreamRecord(record('INSERT', { new: auditItem('juliet@example.com', 'account') }))).toEqual([
      redeemed('juliet@example.com', 'account'),
    ]);
  });

  it('a contact invite spent by an existing account (XEP-0379) is invite.redeemed of kind contact; its subscriber record says nothing', () => {
    expect(changesFromStreamRecord(record('INSERT', { new: auditItem('juliet@other.org', 'contact') }))).toEqual([
      redeemed('juliet@other.org', 'contact'),
    ]);
    const spend = {
      pk: 'JID#juliet@other.org',
      sk: `CONTACT#${invite.id}`,
      kind: 'contact-spend',
      inviteId: invite.id,
      jid: 'juliet@other.org',
      createdAt: 1_799_600_000,
    };
    expect(changesFromStreamRecord(record('INSERT', { new: spend }))).toEqual([]);
  });

  it("REMOVE by the TTL service is invite.expired, at the invite's expiry", () => {
    expect(changesFromStreamRecord(record('REMOVE', { old: toItem(invite) }, TTL))).toMatchObject([
      { type: 'invite.expired', at: invite.expiresAt, invite: { id: invite.id } },
    ]);
  });

  it('says nothing for deletes by anyone else, locks, keys, dedupe records or records without an id', () => {
    expect(changesFromStreamRecord(record('REMOVE', { old: toItem(invite) }))).toEqual([]);
    expect(
      changesFromStreamRecord(record('REMOVE', { old: toItem(invite) }, { userIdentity: { type: 'Service', principalId: 'someone.else' } }))
    ).toEqual([]);
    expect(
      changesFromStreamRecord(
        record('INSERT', {
          new: { pk: 'JID#juliet@example.com', sk: 'ACCOUNT', kind: 'redemption', status: 'pending', fingerprint: 'x', salt: 'y' },
        })
      )
    ).toEqual([]);
    expect(changesFromStreamRecord(record('INSERT', { new: { pk: 'HOOK#form#abc', sk: 'EVENT', inviteId: invite.id } }))).toEqual([]);
    expect(changesFromStreamRecord(record('INSERT', { new: { pk: 'KEY#abc', sk: 'KEY' } }))).toEqual([]);
    expect(changesFromStreamRecord({ ...record('INSERT', { new: toItem(invite) }), eventID: undefined })).toEqual([]);
  });
});

describe('Function: toWebhookEvent', () => {
  it('carries the listed invite fields only, with ISO times', () => {
    const [change] = changesFromStreamRecord(record('INSERT', { new: { ...toItem(invite), fingerprint: 'x', salt: 'y', password: 'p' } }));
    const event = toWebhookEvent(change!);
    expect(event).toEqual({
      id: 'e1',
      type: 'invite.created',
      occurredAt: new Date(invite.createdAt * 1000).toISOString(),
      data: {
        invite: {
          id: invite.id,
          type: 'account',
          domain: 'example.com',
          inviter: 'romeo@example.com',
          username: null,
          maxUses: 1,
          uses: 0,
          groups: ['Friends'],
          roles: [],
          note: 'hi',
          source: 'api-key:k1',
          createdAt: new Date(invite.createdAt * 1000).toISOString(),
          expiresAt: new Date(invite.expiresAt * 1000).toISOString(),
          revokedAt: null,
        },
      },
    });
  });

  it('a redemption without its invite (gone) still says which invite and which JID', () => {
    const event = toWebhookEvent({
      type: 'invite.redeemed',
      changeId: 'e2',
      at: 1,
      inviteId: invite.id,
      redemption: { jid: 'j@example.com', kind: 'reset', at: 1 },
    });
    expect(event.data).toEqual({
      invite: { id: invite.id },
      redemption: { jid: 'j@example.com', kind: 'reset', at: '1970-01-01T00:00:01.000Z' },
    });
  });
});

describe('containment notices (lineage, issue 19)', () => {
  it('turns the INSERT of a NOTE# item into its event, with the account, the actor and the revoked invites', () => {
    const containment = {
      type: 'lineage.revoked' as const,
      at: 1_800_000_000,
      jid: 'romeo@example.com',
      actor: 'api-key:abc',
      revoked: ['id1', 'id2'],
      subtree: true,
      complete: false,
    };
    const record = {
      eventID: 'ev-1',
      eventName: 'INSERT' as const,
      dynamodb: {
        NewImage: marshall({ pk: 'NOTE#x', sk: 'NOTICE', kind: 'notice', event: containment, expiresAt: 1_800_600_000 }) as Record<
          string,
          unknown
        >,
      },
    };

    const changes = changesFromStreamRecord(record);

    expect(changes).toEqual([{ type: 'lineage.revoked', changeId: 'ev-1', at: 1_800_000_000, containment }]);
    const event = toWebhookEvent(changes[0]!);
    expect(event).toEqual({
      id: 'ev-1',
      type: 'lineage.revoked',
      occurredAt: new Date(1_800_000_000 * 1000).toISOString(),
      data: {
        account: { jid: 'romeo@example.com', domain: 'example.com' },
        actor: 'api-key:abc',
        revokedInvites: ['id1', 'id2'],
        subtree: true,
        complete: false,
      },
    });
    expect(eventDomain(event)).toBe('example.com');
    // Its REMOVE (TTL) says nothing.
    expect(changesFromStreamRecord({ ...record, eventName: 'REMOVE', dynamodb: { OldImage: record.dynamodb.NewImage } })).toEqual([]);
  });
});
