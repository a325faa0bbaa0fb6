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
  | BrakeChange
  /** A containment action (lineage.revoked, account.suspended, account.unsuspended). */
  | { type: ContainmentEventType; changeId: string; at: number; containment: ContainmentEvent };

/** The registration brake of a domain tripped (lib/invites/policy.ts): its trip record, once per window. */
export interface BrakeChange {
  type: 'registration.brake';
  changeId: string;
  at: number;
  brake: { domain: string; limit: number; windowStart: number; windowSeconds: number };
}

/** `registration.brake`: a domain refused registrations this window (MAX_REGISTRATIONS_PER_HOUR). */
export interface BrakeWebhookEvent {
  id: string;
  type: 'registration.brake';
  occurredAt: string;
  data: { brake: { domain: string; limit: number; windowSeconds: number; windowStart: string; windowEnd: string } };
}

/** Every event the notifier sends. */
export type OutboundEvent = WebhookEvent | BrakeWebhookEvent;

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
export const toWebhookEvent = (change: InviteChange, current?: Invite): OutboundEvent => {
  if (change.type === 'registration.brake') {
    const { domain, limit, windowStart, windowSeconds } = change.brake;
    return {
      id: change.changeId,
      type: change.type,
      occurredAt: iso(change.at) as string,
      data: {
        brake: {
          domain,
          limit,
          windowSeconds,
          windowStart: iso(windowStart) as string,
          windowEnd: iso(windowStart + windowSeconds) as string,
        },
      },
    };
  }
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
export const eventDomain = (event: OutboundEvent): string | undefined => {
  if ('brake' in event.data) return event.data.brake.domain;
  if ('account' in event.data) return event.data.account.domain;
  return 'domain' in event.data.invite ? event.data.invite.domain : event.data.redemption?.jid.split('@')[1];
};
