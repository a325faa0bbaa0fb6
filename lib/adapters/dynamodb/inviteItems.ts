/**
 * How an invite and the records around it are stored: item shapes only, no
 * I/O. Keys come from tableKeys.ts.
 */
import type { Invite } from '../../invites/Invite.js';
import type { ClaimKind, ClaimRecord } from '../../ports/InviteStore.js';
import { IndexPrefix, accountLockKey, auditKey, inviteKey, resetLockKey } from './tableKeys.js';

export type Item = Record<string, unknown>;

/** Audit records outlive the invite by this long, then TTL removes them. */
export const AUDIT_RETENTION_SECONDS = 400 * 24 * 3600;

/** Sort keys of the index partitions: newest first, ties by id. */
export const sortKey = (epochSeconds: number, id: string) => `${String(epochSeconds).padStart(12, '0')}#${id}`;

/** `account` claims lock the new JID; `reset` claims lock (JID, invite). */
export const lockKey = (kind: ClaimKind, jid: string, inviteId: string) =>
  kind === 'account' ? accountLockKey(jid) : resetLockKey(jid, inviteId);

export const toItem = (invite: Invite): Item => ({
  ...inviteKey(invite.id),
  kind: 'invite',
  id: invite.id,
  type: invite.type,
  domain: invite.domain,
  inviter: invite.inviter,
  username: invite.username,
  maxUses: invite.maxUses ?? undefined,
  uses: invite.uses,
  pending: invite.pending,
  expiresAt: invite.expiresAt,
  createdAt: invite.createdAt,
  revokedAt: invite.revokedAt,
  groups: invite.groups,
  roles: invite.roles,
  note: invite.note,
  source: invite.source,
  ...(invite.inviter ? { gsi1pk: `${IndexPrefix.inviter}${invite.inviter}`, gsi1sk: sortKey(invite.createdAt, invite.id) } : {}),
  gsi2pk: `${IndexPrefix.domain}${invite.domain}`,
  gsi2sk: sortKey(invite.createdAt, invite.id),
});

/** Quota'd sources' invites also go into the sparse bySource index, sorted by expiry. */
export const toItemCountedBySource = (invite: Invite): Item => ({
  ...toItem(invite),
  gsi3pk: `${IndexPrefix.source}${invite.source}`,
  gsi3sk: sortKey(invite.expiresAt, invite.id),
});

export const fromItem = (item: Item): Invite => ({
  id: item.id as string,
  type: item.type as Invite['type'],
  domain: item.domain as string,
  inviter: item.inviter as string | undefined,
  username: item.username as string | undefined,
  maxUses: typeof item.maxUses === 'number' ? item.maxUses : null,
  uses: Number(item.uses ?? 0),
  pending: Number(item.pending ?? 0),
  pendingJids: item.pendingJids instanceof Set ? [...(item.pendingJids as Set<string>)] : [],
  expiresAt: Number(item.expiresAt),
  createdAt: Number(item.createdAt),
  revokedAt: typeof item.revokedAt === 'number' ? item.revokedAt : undefined,
  groups: (item.groups as string[] | undefined) ?? [],
  roles: (item.roles as string[] | undefined) ?? [],
  note: item.note as string | undefined,
  source: (item.source as string | undefined) ?? 'unknown',
});

/** A preset username held for its invite until the invite expires (XEP-0401). */
export const reservationItem = (invite: Invite): Item => {
  const jid = `${invite.username}@${invite.domain}`;
  return {
    ...accountLockKey(jid),
    kind: 'reservation',
    inviteId: invite.id,
    jid,
    expiresAt: invite.expiresAt,
    createdAt: invite.createdAt,
  };
};

/** One redemption of an invite, for the admin view and the invite.redeemed event. */
export const auditItem = (inviteId: string, jid: string, kind: ClaimKind | 'contact', now: number): Item => ({
  ...auditKey(inviteId, jid),
  kind: 'audit',
  jid,
  at: now,
  claimKind: kind,
  expiresAt: now + AUDIT_RETENTION_SECONDS,
});

export const toClaim = (item: Item): ClaimRecord => ({
  inviteId: item.inviteId as string,
  jid: item.jid as string,
  status: item.status as ClaimRecord['status'],
  leaseUntil: typeof item.leaseUntil === 'number' ? item.leaseUntil : undefined,
  fingerprint: item.fingerprint as string | undefined,
  salt: item.salt as string | undefined,
  createdAt: Number(item.createdAt),
  completedAt: typeof item.completedAt === 'number' ? item.completedAt : undefined,
});
