import { inviteStatus, usesLeft, type Invite } from './Invite.js';
import type { RedemptionRecord } from '../ports/InviteStore.js';
import { inviteUri, landingUrl } from './uris.js';

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

/**
 * A new invite as its issuer sees it, once: the only view with the token.
 * `POST /invites`, the signup webhook and invites made from an app all answer it.
 */
export const issuedView = (invite: Invite, token: string, baseUrl: string) => ({
  id: invite.id,
  token,
  type: invite.type,
  domain: invite.domain,
  inviter: invite.inviter ?? null,
  username: invite.username ?? null,
  uri: inviteUri({ type: invite.type, domain: invite.domain, inviter: invite.inviter, username: invite.username, token }),
  landingUrl: landingUrl(baseUrl, token),
  createdAt: iso(invite.createdAt) as string,
  expiresAt: iso(invite.expiresAt) as string,
  maxUses: invite.maxUses,
  uses: invite.uses,
  groups: invite.groups,
  roles: invite.roles,
  note: invite.note ?? null,
  source: invite.source,
});
export type IssuedView = ReturnType<typeof issuedView>;
