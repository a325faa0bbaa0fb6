import { InviteError } from '../errors.js';

export const InviteTypes = ['account', 'contact', 'reset'] as const;
export type InviteType = (typeof InviteTypes)[number];

export type InviteStatus = 'valid' | 'expired' | 'used' | 'revoked';
export const InviteStatuses: readonly InviteStatus[] = ['valid', 'expired', 'used', 'revoked'];

export interface Invite {
  /** SHA-256 of the token, base64url: the public handle. */
  id: string;
  type: InviteType;
  domain: string;
  /** Bare JID of the user or admin that issued it; source of roster pre-approval. */
  inviter?: string;
  /** Preset localpart, reserved while the invite is live; for `reset`, the account. */
  username?: string;
  /** `null` means unlimited until expiry. */
  maxUses: number | null;
  /** Claimed uses: completed + pending. */
  uses: number;
  /** Claims whose provisioning has not finished yet. */
  pending: number;
  /** The JIDs of those claims. */
  pendingJids?: string[];
  /** Epoch seconds; also the table's TTL attribute. */
  expiresAt: number;
  createdAt: number;
  revokedAt?: number;
  groups: string[];
  roles: string[];
  note?: string;
  /** Who or what created it: `api-key:<id>`, `webhook:<source>`, `cli`. */
  source: string;
}

/**
 * Status as of `now`. DynamoDB deletes expired items late (up to days), so
 * every read goes through this and never trusts the item's mere presence.
 */
export const inviteStatus = (invite: Invite, now: number): InviteStatus => {
  if (invite.revokedAt !== undefined) return 'revoked';
  if (invite.expiresAt <= now) return 'expired';
  if (invite.maxUses !== null && invite.uses >= invite.maxUses) return 'used';
  return 'valid';
};

export const usesLeft = (invite: Invite): number | null => (invite.maxUses === null ? null : Math.max(0, invite.maxUses - invite.uses));

export const statusError = (status: Exclude<InviteStatus, 'valid'>): InviteError => {
  switch (status) {
    case 'expired':
      return new InviteError('token-expired', 'this invite has expired');
    case 'used':
      return new InviteError('token-used', 'this invite has been used up');
    case 'revoked':
      return new InviteError('token-revoked', 'this invite has been revoked');
  }
};
