import type { Invite, InviteStatus, InviteType } from '../invites/Invite.js';
import type { LineageRecord } from '../lineage/Lineage.js';

export interface ListQuery {
  /** One of domain or inviter selects the index partition. */
  domain?: string;
  inviter?: string;
  /**
   * Only the invites of this source (a quota-limited key's own, all of which
   * are counted by source); domain and inviter then narrow it down.
   * The app-created invites of one user are one such source:
   * `xmpp-server:<key>:<user>`.
   */
  source?: string;
  status?: InviteStatus;
  /** Only invites of this type. */
  type?: InviteType;
  /**
   * Only invites whose source is this one or below it (`xmpp-server:<key>`
   * covers `xmpp-server:<key>:<user>`): any invite, unlike `source`, which
   * reads only those counted by source. No index holds it: it narrows what
   * the partition's page read, so a page may come back short, with a cursor.
   */
  issuedBy?: string;
  limit: number;
  cursor?: string;
  now: number;
}

export interface Page<T> {
  items: T[];
  /** Opaque; absent on the last page. */
  cursor?: string;
}

/** `account` claims lock the new JID; `reset` claims lock (invite, JID). */
export type ClaimKind = 'account' | 'reset';

export interface ClaimRequest {
  invite: Invite;
  jid: string;
  kind: ClaimKind;
  now: number;
  /** How long the claim belongs to this request before a retry may take it over. */
  leaseSeconds: number;
  /** Fingerprint of the request's password, kept only while the claim is pending. */
  fingerprint: string;
}

/**
 * A claim made before the invite is read (the caller knows its domain and the
 * username): the same transaction as `claim`, on the condition that the
 * invite is live, of this domain, not a reset invite, and presets no other
 * username. Anything else is left untouched, for `claim` to answer.
 */
export interface UnreadClaimRequest {
  inviteId: string;
  domain: string;
  username: string;
  jid: string;
  now: number;
  leaseSeconds: number;
  fingerprint: string;
}

export interface ClaimRecord {
  inviteId: string;
  jid: string;
  status: 'pending' | 'completed';
  /** Epoch seconds until which the request that holds the claim may still be running. */
  leaseUntil?: number;
  fingerprint?: string;
  salt?: string;
  createdAt: number;
  completedAt?: number;
}

export type ClaimResult =
  | { outcome: 'claimed'; claim: ClaimRecord }
  /** The same invite already claimed this JID: a retry of the same redemption. */
  | { outcome: 'existing'; claim: ClaimRecord };

export interface RedemptionRecord {
  jid: string;
  at: number;
  /** `contact`: an existing account subscribed to the inviter with the token (XEP-0379). */
  kind: ClaimKind | 'contact';
}

export interface ContactSpendRequest {
  invite: Invite;
  /** Bare JID of the existing account (any server) that subscribed with the token. */
  subscriber: string;
  now: number;
}

/**
 * Persistence of invites and their redemption claims. Adapters turn vendor
 * errors into InviteErrors (`username-taken`, `token-*`) at this boundary.
 */
export interface InviteStore {
  /**
   * Stores a new invite; reserves its preset username (throws `username-taken`).
   * `countBySource`: make it visible to `countLive({ source })` (quota'd actors).
   */
  create(invite: Invite, now: number, options?: { countBySource?: boolean }): Promise<void>;
  /** Eventually consistent read by id (unless `consistent`); undefined if absent. */
  get(id: string, options?: { consistent?: boolean }): Promise<Invite | undefined>;
  /** The invite and its redemption audit records. */
  getWithRedemptions(id: string): Promise<{ invite: Invite; redemptions: RedemptionRecord[] } | undefined>;
  list(query: ListQuery): Promise<Page<Invite>>;
  /** Idempotent; keeps the first revocation time. Undefined if no such invite. */
  revoke(id: string, now: number): Promise<Invite | undefined>;
  /**
   * Live (valid) invites issued by this inviter or this source, counting up to
   * about `atMost`; for quotas. By source, only invites created with `countBySource`.
   */
  countLive(by: { inviter?: string; source?: string }, now: number, atMost: number): Promise<number>;

  /**
   * Atomically takes one use of the invite and locks the JID. Throws
   * `token-invalid|expired|used|revoked` or `username-taken`.
   */
  claim(request: ClaimRequest): Promise<ClaimResult>;
  /**
   * The claim of an account on an invite not read yet (UnreadClaimRequest):
   * the claim, or undefined when it was not taken (the invite is not what
   * was assumed, or the name is not free); then nothing was written. Optional:
   * a store without it is always read first.
   */
  claimUnread?(request: UnreadClaimRequest): Promise<ClaimRecord | undefined>;
  /** A claim of this invite on this JID, read consistently. */
  getClaim(kind: ClaimKind, jid: string, inviteId: string): Promise<ClaimRecord | undefined>;
  /**
   * Takes over a pending claim whose lease has run out (a retry of a request
   * that died); undefined if it is not pending any more or another retry won.
   */
  renewLease(claim: ClaimRecord, kind: ClaimKind, now: number, leaseSeconds: number): Promise<ClaimRecord | undefined>;
  /** Makes the use final and writes the audit record and, for a new account, its lineage record (one transaction). */
  complete(claim: ClaimRecord, kind: ClaimKind, now: number, lineage?: LineageRecord): Promise<void>;
  /**
   * Gives the use back (and the preset username's reservation) after a
   * failure. `onlyIfLeaseUnchanged`: only if nobody took the claim over since
   * it was read (releasing someone else's abandoned claim). False if the
   * claim was not pending any more (or was taken over).
   */
  release(claim: ClaimRecord, kind: ClaimKind, invite: Invite, options?: { onlyIfLeaseUnchanged?: boolean }): Promise<boolean>;

  /**
   * XEP-0379 for an existing account: in one transaction takes one use of a
   * live invite and records (invite, subscriber). `existing` when this
   * subscriber already spent this invite (no second use). Throws `token-*`.
   */
  spendContactInvite(request: ContactSpendRequest): Promise<{ outcome: 'spent' | 'existing' }>;
}
