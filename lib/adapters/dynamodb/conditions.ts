/**
 * The condition expressions of the invite store, named once. Each takes its
 * values from the same placeholders: `:now`, `:id` (an invite id),
 * `:reservation`, `:registration`, `:pending`, and `#status` for `status`
 * (those that take others name them). The in-memory double of the table
 * (test/support/memoryInviteStore.ts) has the invite store's under the same names.
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

/**
 * What a claim made without reading the invite assumes of it: of the caller's
 * domain (`:domain`), an account or contact invite (a reset invite locks
 * another key; `:reset`), and no preset username or this very one (`:username`).
 * Names `#domain` and `#type`.
 */
export const ASSUMED_ACCOUNT_INVITE = '#domain = :domain AND #type <> :reset AND (attribute_not_exists(username) OR username = :username)';

/** renewLease: the claim's lease has run out (or the claim predates leases). */
export const LEASE_RUN_OUT = '(attribute_not_exists(leaseUntil) OR leaseUntil <= :now)';

/** release of an abandoned claim: still under the lease that was seen expired (`:lease`), so a retry that took it over wins. */
export const SAME_LEASE = (seen: { leaseUntil?: number }) =>
  seen.leaseUntil === undefined ? 'attribute_not_exists(leaseUntil)' : 'leaseUntil = :lease';

/** complete and release: the invite's counter of claims in flight (`:zero`) can go down. */
export const HAS_PENDING = 'attribute_exists(pk) AND pending > :zero';

/** The reservation lock this invite (`:id`) made, when the invite is revoked. */
export const RESERVATION_OF_INVITE = 'kind = :reservation AND inviteId = :id';

/** An item written once: nothing is there yet (a new invite, API key, audit item). */
export const NEW_ITEM = 'attribute_not_exists(pk)';

/** An item that must be there (revoking an invite or an API key). */
export const EXISTING_ITEM = 'attribute_exists(pk)';

/** A signup event id seen once: new, or its record expired (TTL deletes late). */
export const NEW_OR_EXPIRED = 'attribute_not_exists(pk) OR expiresAt <= :now';

/** An open registration's lock still held by this request (`:token`). */
export const REGISTRATION_HELD = 'kind = :registration AND lockToken = :token';

/** A lineage record of an account not deleted (`:deleted`, `#status`): suspending or lifting changes nothing on a deleted one. */
export const LIVE_ACCOUNT_RECORD = 'attribute_exists(pk) AND #status <> :deleted';

/** The values every name condition above refers to. */
export const lockValues = (now: number) => ({ ':reservation': 'reservation', ':registration': 'registration', ':now': now });
