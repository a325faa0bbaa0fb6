/**
 * The condition expressions of the invite store, named once. Each takes its
 * values from the same placeholders: `:now`, `:id` (an invite id),
 * `:reservation`, `:registration`, `:pending`, and `#status` for `status`.
 */
import type { InviteStatus } from '../../invites/Invite.js';

const NOT_REVOKED = 'attribute_not_exists(revokedAt)';
const NOT_EXPIRED = 'expiresAt > :now';
const HAS_USES_LEFT = '(attribute_not_exists(maxUses) OR uses < maxUses)';

/** An invite that can still be used: it exists, not revoked, not expired (TTL deletes late), uses left (no maxUses = unlimited). */
export const LIVE_INVITE = `attribute_exists(pk) AND ${NOT_REVOKED} AND ${NOT_EXPIRED} AND ${HAS_USES_LEFT}`;

/** Status filters for index queries; they mirror inviteStatus(). */
export const STATUS_FILTERS: Record<InviteStatus, string> = {
  revoked: 'attribute_exists(revokedAt)',
  expired: `${NOT_REVOKED} AND expiresAt <= :now`,
  used: `${NOT_REVOKED} AND ${NOT_EXPIRED} AND attribute_exists(maxUses) AND uses >= maxUses`,
  valid: `${NOT_REVOKED} AND ${NOT_EXPIRED} AND ${HAS_USES_LEFT}`,
};

/** A name that an abandoned open registration (its lease ran out) held is free again. */
const ABANDONED_REGISTRATION = '(kind = :registration AND expiresAt <= :now)';

/** A JID lock a new reservation may take: nothing there, an expired reservation, an abandoned registration. */
export const NAME_FREE = `attribute_not_exists(pk) OR (kind = :reservation AND expiresAt <= :now) OR ${ABANDONED_REGISTRATION}`;

/** A JID lock a claim may take: as NAME_FREE, or the reservation made by this very invite (`:id`). */
export const NAME_FREE_FOR_INVITE = `attribute_not_exists(pk) OR (kind = :reservation AND (inviteId = :id OR expiresAt <= :now)) OR ${ABANDONED_REGISTRATION}`;

/** The claim of this invite (`:id`) that is still pending. */
export const PENDING_CLAIM_OF_INVITE = 'inviteId = :id AND #status = :pending';

/** The values every name condition above refers to. */
export const lockValues = (now: number) => ({ ':reservation': 'reservation', ':registration': 'registration', ':now': now });
