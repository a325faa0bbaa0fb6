import { inviteStatus, usesLeft, type Invite } from './Invite.js';
import type { RedemptionRecord } from '../ports/InviteStore.js';
import { inviteUri, landingUrl } from './uris.js';

/** Epoch seconds as ISO 8601; undefined stays undefined. */
export const iso = (epochSeconds: number | undefined) =>
  epochSeconds === undefined ? undefined : new Date(epochSeconds * 1000).toISOString();

/**
 * The fields every view of a whole invite shares, in the order the webhook
 * payload documents. Built field by field, never by spreading an item: the
 * token is not in the table at all, and a password (or its fingerprint on a
 * pending claim) must never leave through here.
 */
export const inviteFields = (invite: Invite) => ({
  id: invite.id,
  type: invite.type,
  domain: invite.domain,
  inviter: invite.inviter ?? null,
  username: invite.username ?? null,
  maxUses: invite.maxUses,
  uses: invite.uses,
  groups: invite.groups,
  roles: invite.roles,
  note: invite.note ?? null,
  source: invite.source,
  createdAt: iso(invite.createdAt) as string,
  expiresAt: iso(invite.expiresAt) as string,
});

/** What admins see of an invite (never the token: the store does not have it). */
export const adminView = (invite: Invite, now: number, redemptions?: RedemptionRecord[]) => ({
  ...inviteFields(invite),
  status: inviteStatus(invite, now),
  pending: invite.pending,
  completed: invite.uses - invite.pending,
  usesLeft: usesLeft(invite),
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

/**
 * A new invite as its issuer sees it, once: the only view with the token.
 * `POST /invites`, the signup webhook and invites made from an app all answer it.
 */
export const issuedView = (invite: Invite, token: string, baseUrl: string) => {
  const { id, ...fields } = inviteFields(invite);
  return {
    id,
    token,
    uri: inviteUri(invite, token),
    landingUrl: landingUrl(baseUrl, token),
    ...fields,
  };
};
export type IssuedView = ReturnType<typeof issuedView>;
