import type { Invite } from '../invites/Invite.js';
import { inviteFields, iso } from '../invites/views.js';
import type { WebhookEventType } from './settings.js';
import type { ContainmentEvent, ContainmentEventType } from '../ports/ContainmentEvents.js';

/** A state change of an invite, as the table's stream saw it. */
export type InviteChange =
  | { type: 'invite.created' | 'invite.revoked' | 'invite.expired'; changeId: string; at: number; invite: Invite }
  | {
      type: 'invite.redeemed';
      changeId: string;
      at: number;
      inviteId: string;
      redemption: { jid: string; kind: 'account' | 'reset' | 'contact'; at: number };
    }
  /** A containment action (lineage.revoked, account.suspended, account.unsuspended). */
  | { type: ContainmentEventType; changeId: string; at: number; containment: ContainmentEvent };

export interface WebhookEvent {
  /** Stable across re-deliveries of the same change: receivers dedupe on it. */
  id: string;
  type: WebhookEventType;
  /** When the change happened (ISO 8601). */
  occurredAt: string;
  data: InviteEventData | ContainmentEventData;
}

export interface InviteEventData {
  invite: ReturnType<typeof inviteData> | { id: string };
  redemption?: { jid: string; kind: 'account' | 'reset' | 'contact'; at: string };
}

/** What a containment event tells: the account acted on, who acted, the invites it revoked. */
export interface ContainmentEventData {
  account: { jid: string; domain: string };
  actor: string;
  revokedInvites: string[];
  subtree?: boolean;
  /** False: a subtree revoke continues with a cursor; more events follow. */
  complete?: boolean;
}

/** What receivers learn of an invite: the shared fields, and whether it was revoked. */
const inviteData = (invite: Invite) => ({
  ...inviteFields(invite),
  revokedAt: iso(invite.revokedAt) ?? null,
});

/**
 * The event for a change. A redemption's stream record holds only the audit
 * item; `current` (the invite read when notifying) adds who invited and where.
 */
export const toWebhookEvent = (change: InviteChange, current?: Invite): WebhookEvent => {
  const base = { id: change.changeId, type: change.type, occurredAt: iso(change.at) as string };
  if ('containment' in change) {
    const { jid, actor, revoked, subtree, complete } = change.containment;
    return {
      ...base,
      data: { account: { jid, domain: jid.slice(jid.indexOf('@') + 1) }, actor, revokedInvites: revoked, subtree, complete },
    };
  }
  if (change.type === 'invite.redeemed') {
    const { jid, kind, at } = change.redemption;
    return {
      ...base,
      data: {
        invite: current ? inviteData(current) : { id: change.inviteId },
        redemption: { jid, kind, at: iso(at) as string },
      },
    };
  }
  return { ...base, data: { invite: inviteData(change.invite) } };
};

/** The domain an event is about, for endpoints that only want some domains. */
export const eventDomain = (event: WebhookEvent): string | undefined => {
  if ('account' in event.data) return event.data.account.domain;
  return 'domain' in event.data.invite ? event.data.invite.domain : event.data.redemption?.jid.split('@')[1];
};
