import type { LineageRecord, LineageStatus } from '../lineage/Lineage.js';
import type { Page } from './InviteStore.js';

/**
 * Lineage records: who brought each account in. Written by the store that
 * completes a redemption or a registration (in the same transaction, see
 * InviteStore.complete and RegistrationLocks.complete); read and marked here.
 */
export interface LineageStore {
  /**
   * The account's record: one read. For an account made before lineage
   * records existed, what the completed claim and its invite (if still there)
   * say (`recorded: false`), unless `recordOnly`. Undefined if this service never made it.
   */
  get(jid: string, options?: { recordOnly?: boolean }): Promise<LineageRecord | undefined>;
  /** The records of the accounts `parent` (a JID, or a source such as `api-key:<id>`) brought in, oldest first: one Query. */
  invitees(parent: string, page: { limit: number; cursor?: string }): Promise<Page<LineageRecord>>;
  /**
   * Sets the account's status (`deleted` keeps the record, so the tree stays
   * whole; `suspended`/`active` for containment). An account this service
   * did not make gets a record with source `external`. Returns the record as stored.
   */
  setStatus(jid: string, status: LineageStatus, now: number): Promise<LineageRecord>;
  /**
   * The record of an inviter that has none (MIN_ACCOUNT_AGE_TO_INVITE): for
   * an account made before lineage records, what its completed claim says;
   * for one this service did not make, source `external` and `joinedAt: now`
   * (when the service first saw it). A conditional put: the first sighting
   * wins, and an existing record is returned unchanged.
   */
  recordFirstSeen(jid: string, now: number): Promise<LineageRecord>;
}
