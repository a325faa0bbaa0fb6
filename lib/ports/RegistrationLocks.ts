import type { LineageRecord } from '../lineage/Lineage.js';

/**
 * Open registration (no invite) takes the same JID lock a redemption takes,
 * so it can never create an account whose username an invite reserved, and
 * a redemption can never reserve a name being registered.
 */
export interface RegistrationLocks {
  /** Locks the JID for `leaseSeconds`; `username-taken` if it is reserved, locked or taken. Returns the lock's token. */
  lock(jid: string, now: number, leaseSeconds: number): Promise<string>;
  /** The account exists: the lock stays for good, like a completed redemption's; with its lineage record, in one transaction. */
  complete(jid: string, lockToken: string, now: number, lineage?: LineageRecord): Promise<void>;
  /** Nothing was created: frees the name (only this lock, never someone else's). */
  release(jid: string, lockToken: string): Promise<void>;
}
