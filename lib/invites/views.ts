import { inviteStatus, usesLeft, type Invite } from './Invite.js';
import type { RedemptionRecord } from '../ports/InviteStore.js';

const iso = (epochSeconds: number | undefined) => (epochSeconds === undefined ? undefined : new Date(epochSeconds * 1000).toISOString());

/** What admins see of an invite (never the token: the store does not have it). */
export const adminView = (invite: Invite, now: number, redemptions?: RedemptionRecord[]) => ({
  id: invite.id,
  type: invite.type,
  status: inviteStatus(invite, now),
  domain: invite.domain,
  inviter: invite.inviter ?? null,
  username: invite.username ?? null,
  maxUses: invite.maxUses,
  uses: invite.uses,
  pending: invite.pending,
  completed: invite.uses - invite.pending,
  usesLeft: usesLeft(invite),
  groups: invite.groups,
  roles: invite.roles,
  note: invite.note ?? null,
  source: invite.source,
  createdAt: iso(invite.createdAt),
  expiresAt: iso(invite.expiresAt),
  revokedAt: iso(invite.revokedAt) ?? null,
  ...(redemptions ? { redemptions: redemptions.map((r) => ({ jid: r.jid, kind: r.kind, at: iso(r.at) })) } : {}),
});

/** What anyone holding the token may learn. */
export const publicView = (invite: Invite) => ({
  valid: true as const,
  type: invite.type,
  domain: invite.domain,
  inviter: invite.inviter ?? null,
  username: invite.username ?? null,
  expiresAt: iso(invite.expiresAt),
  usesLeft: usesLeft(invite),
});

export { iso };
