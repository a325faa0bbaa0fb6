/**
 * An in-memory double of the invite table, for unit tests of the use cases
 * (like Powertools' idempotency persistence-layer test class). It is a test
 * double, not an adapter: nothing in production may use it.
 *
 * It keeps the DynamoDB adapter's item model (lib/adapters/dynamodb/): one map
 * of items keyed as tableKeys.ts keys them (invites, JID locks, audit and
 * contact records, the lineage records a completion writes), and each condition of conditions.ts and DynamoDBClaims.ts
 * written once, under the same name, in `Conditions` below. Every write runs
 * as the adapter's transaction does: all conditions are checked against the
 * items as they are, then all writes are applied, with no await in between,
 * so parallel calls interleave between operations, never inside one.
 *
 * test/support/inviteStoreContract.ts holds this double and DynamoDBInviteStore
 * to the same behaviour; a change of a condition in one fails the contract of
 * the other. What it does not model is listed at the end of this file.
 *
 * To extend it when the adapter grows: a new item kind gets a map in
 * MemoryTable (keyed through tableKeys.ts); a new condition gets an entry in
 * `Conditions` under the adapter's name; the method that mirrors the adapter's
 * transaction checks every condition first and writes after (as in
 * `complete`); and the contract gets the case that pins it, so the adapter
 * runs it too.
 */
import { InviteError } from '../../lib/errors.js';
import { type Invite, type InviteStatus, inviteStatus, statusError } from '../../lib/invites/Invite.js';
import type {
  ClaimKind,
  ClaimRecord,
  ClaimRequest,
  ClaimResult,
  ContactSpendRequest,
  InviteStore,
  ListQuery,
  Page,
  RedemptionRecord,
  UnreadClaimRequest,
} from '../../lib/ports/InviteStore.js';
import type { RegistrationLocks } from '../../lib/ports/RegistrationLocks.js';
import type { LineageRecord } from '../../lib/lineage/Lineage.js';
import { randomBytes } from 'node:crypto';
import { AUDIT_RETENTION_SECONDS, sortKey } from '../../lib/adapters/dynamodb/inviteItems.js';
import {
  type TableKey,
  IndexPrefix,
  accountLockKey,
  auditKey,
  contactKey,
  inviteKey,
  lineageKey,
  resetLockKey,
} from '../../lib/adapters/dynamodb/tableKeys.js';

/** An invite as the table holds it (inviteItems.ts toItem): `pendingJids` a set, `countedBySource` the sparse bySource index. */
export interface InviteItem extends Omit<Invite, 'pendingJids'> {
  pendingJids: Set<string>;
  countedBySource: boolean;
}

/** The JID#<jid> items: a preset name's reservation, a redemption claim, an open registration's lock. */
export type RedemptionLock = { kind: 'redemption' } & ClaimRecord;
export type LockItem =
  | { kind: 'reservation'; inviteId: string; jid: string; expiresAt: number; createdAt: number }
  | RedemptionLock
  | {
      kind: 'registration';
      jid: string;
      lockToken?: string;
      createdAt: number;
      /** Absent once completed: the name is held for good. */
      expiresAt?: number;
      status?: 'completed';
      completedAt?: number;
    };

export interface AuditItem {
  inviteId: string;
  jid: string;
  at: number;
  claimKind: ClaimKind | 'contact';
  expiresAt: number;
}

export interface ContactSpendItem {
  inviteId: string;
  jid: string;
  createdAt: number;
  expiresAt: number;
}

/** The table's keys, built by tableKeys.ts itself, flattened to one string (pk, sk). */
const flat = ({ pk, sk }: TableKey) => `${pk}\u0000${sk}`;
export const Keys = {
  invite: (id: string) => flat(inviteKey(id)),
  audit: (inviteId: string, jid: string) => flat(auditKey(inviteId, jid)),
  accountLock: (jid: string) => flat(accountLockKey(jid)),
  contact: (subscriber: string, inviteId: string) => flat(contactKey(subscriber, inviteId)),
  lineage: (jid: string) => flat(lineageKey(jid)),
  /** `account` claims lock the new JID; `reset` claims lock (JID, invite). */
  lock: (kind: ClaimKind, jid: string, inviteId: string) => flat(kind === 'account' ? accountLockKey(jid) : resetLockKey(jid, inviteId)),
};

/**
 * The invite store's conditions of lib/adapters/dynamodb/conditions.ts, one
 * predicate each under the adapter's name. An absent
 * item fails every condition but those that allow `attribute_not_exists(pk)`;
 * a comparison with an absent attribute is false, as in DynamoDB.
 */
const NOT_REVOKED = (i: InviteItem): boolean => i.revokedAt === undefined;
const NOT_EXPIRED = (i: InviteItem, now: number): boolean => i.expiresAt > now;
const HAS_USES_LEFT = (i: InviteItem): boolean => i.maxUses === null || i.uses < i.maxUses;
/** A name an abandoned open registration (its lease ran out) held is free again. */
const ABANDONED_REGISTRATION = (l: LockItem, now: number): boolean =>
  l.kind === 'registration' && l.expiresAt !== undefined && l.expiresAt <= now;

export const Conditions = {
  NOT_REVOKED,
  NOT_EXPIRED,
  HAS_USES_LEFT,
  ABANDONED_REGISTRATION,
  /** It exists, not revoked, not expired (TTL deletes late), uses left. */
  LIVE_INVITE: (i: InviteItem | undefined, now: number): i is InviteItem =>
    i !== undefined && NOT_REVOKED(i) && NOT_EXPIRED(i, now) && HAS_USES_LEFT(i),
  /** What a claim made without reading the invite assumes of it. */
  ASSUMED_ACCOUNT_INVITE: (i: InviteItem, assumed: { domain: string; username: string }): boolean =>
    i.domain === assumed.domain && i.type !== 'reset' && (i.username === undefined || i.username === assumed.username),
  /** Status filters of the index queries; they mirror inviteStatus(). */
  STATUS_FILTERS: {
    revoked: (i: InviteItem) => !NOT_REVOKED(i),
    expired: (i: InviteItem, now: number) => NOT_REVOKED(i) && !NOT_EXPIRED(i, now),
    used: (i: InviteItem, now: number) => NOT_REVOKED(i) && NOT_EXPIRED(i, now) && i.maxUses !== null && i.uses >= i.maxUses,
    valid: (i: InviteItem, now: number) => NOT_REVOKED(i) && NOT_EXPIRED(i, now) && HAS_USES_LEFT(i),
  } satisfies Record<InviteStatus, (i: InviteItem, now: number) => boolean>,
  /** A JID lock a new reservation may take: nothing there, an expired reservation, an abandoned registration. */
  NAME_FREE: (l: LockItem | undefined, now: number): boolean =>
    l === undefined || (l.kind === 'reservation' && l.expiresAt <= now) || ABANDONED_REGISTRATION(l, now),
  /** A JID lock a claim may take: as NAME_FREE, or the reservation made by this very invite. */
  NAME_FREE_FOR_INVITE: (l: LockItem | undefined, inviteId: string, now: number): boolean =>
    l === undefined || (l.kind === 'reservation' && (l.inviteId === inviteId || l.expiresAt <= now)) || ABANDONED_REGISTRATION(l, now),
  /** The claim of this invite that is still pending. */
  PENDING_CLAIM_OF_INVITE: (l: LockItem | undefined, inviteId: string): l is RedemptionLock =>
    l?.kind === 'redemption' && l.inviteId === inviteId && l.status === 'pending',
  /** renewLease: the lease has run out (or the claim predates leases). */
  LEASE_RUN_OUT: (l: ClaimRecord, now: number): boolean => l.leaseUntil === undefined || l.leaseUntil <= now,
  /** release with onlyIfLeaseUnchanged: still under the lease that was seen expired. */
  SAME_LEASE: (l: ClaimRecord, seen: ClaimRecord): boolean => l.leaseUntil === seen.leaseUntil,
  /** complete and release: the invite's counter of claims in flight can go down. */
  HAS_PENDING: (i: InviteItem | undefined): i is InviteItem => i !== undefined && i.pending > 0,
};

/** The error a failed LIVE_INVITE stands for, from the item it saw (DynamoDBClaims.ts inviteRefusal). */
const inviteRefusal = (seen: InviteItem | undefined, now: number): InviteError => {
  if (!seen) return new InviteError('token-invalid', 'no such invite');
  const status = inviteStatus(toInvite(seen), now);
  return statusError(status === 'valid' ? 'used' : status);
};

/** A failed write condition where the adapter lets the vendor error through (ConditionalCheckFailedException). */
export class ConditionFailed extends Error {
  public constructor(what: string) {
    super(`The conditional request failed: ${what}`);
    this.name = 'ConditionalCheckFailedException';
  }
}

const copy = <T>(value: T): T => structuredClone(value);

const toInvite = (item: InviteItem): Invite => {
  const { pendingJids, countedBySource: _, ...invite } = copy(item);
  return { ...invite, pendingJids: [...pendingJids] };
};

const toItem = (invite: Invite, countedBySource: boolean): InviteItem => {
  // toItem stores no pendingJids; uses and pending as given.
  const { pendingJids: _, ...fields } = copy(invite);
  return { ...fields, maxUses: invite.maxUses ?? null, pendingJids: new Set(), countedBySource };
};

const toClaim = (l: ClaimRecord): ClaimRecord => {
  const { inviteId, jid, status, leaseUntil, fingerprint, salt, createdAt, completedAt } = l;
  return { inviteId, jid, status, leaseUntil, fingerprint, salt, createdAt, completedAt };
};

const reservationItem = (invite: Invite): LockItem => ({
  kind: 'reservation',
  inviteId: invite.id,
  jid: `${invite.username}@${invite.domain}`,
  expiresAt: invite.expiresAt,
  createdAt: invite.createdAt,
});

const newClaim = (inviteId: string, jid: string, now: number, leaseSeconds: number, fingerprint: string): ClaimRecord => {
  const [salt, hash] = fingerprint.split(':');
  return { inviteId, jid, status: 'pending', leaseUntil: now + leaseSeconds, fingerprint: hash, salt, createdAt: now };
};

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * The items of one table, shared by the invite store and the registration
 * locks as the DynamoDB adapters share theirs. Public so a test can look at,
 * or set up, what the table holds; tests of the use cases should not need to.
 */
export class MemoryTable {
  public readonly invites = new Map<string, InviteItem>();
  public readonly locks = new Map<string, LockItem>();
  public readonly audits = new Map<string, AuditItem>();
  public readonly contacts = new Map<string, ContactSpendItem>();
  /**
   * ACCT#<jid>/LINEAGE, as `complete` writes them (a redemption's, an open
   * registration's); what else writes them (lib/lineage: suspend, deleted,
   * first seen) goes through the LineageStore port, which this double is not.
   */
  public readonly lineage = new Map<string, LineageRecord>();
}

export interface MemoryStoreOptions {
  table?: MemoryTable;
  /**
   * Awaited before every operation: where parallel calls interleave (a
   * network round trip). Defaults to one macrotask; a test may add jitter.
   */
  latency?: () => Promise<void>;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class MemoryInviteStore implements InviteStore {
  public readonly table: MemoryTable;
  readonly #latency: () => Promise<void>;

  public constructor(options: MemoryStoreOptions = {}) {
    this.table = options.table ?? new MemoryTable();
    this.#latency = options.latency ?? nextTurn;
  }

  /** Open registration's locks on the same JID items. */
  public registrationLocks(): MemoryRegistrationLocks {
    return new MemoryRegistrationLocks({ table: this.table, latency: this.#latency });
  }

  public async create(invite: Invite, now: number, options: { countBySource?: boolean } = {}): Promise<void> {
    await this.#latency();
    const { invites, locks } = this.table;
    const key = Keys.invite(invite.id);
    const reserves = invite.username !== undefined && invite.username !== '' && invite.type !== 'reset';
    const lockKey = Keys.accountLock(`${invite.username}@${invite.domain}`);
    // attribute_not_exists(pk) on the invite; NAME_FREE on the reservation, in one transaction.
    const inviteFree = !invites.has(key);
    if (reserves && !Conditions.NAME_FREE(locks.get(lockKey), now)) {
      throw new InviteError('username-taken', `the username ${invite.username} is reserved or taken`);
    }
    if (!inviteFree) throw new ConditionFailed(`invite ${invite.id} exists`);
    invites.set(key, toItem(invite, options.countBySource === true));
    if (reserves) locks.set(lockKey, reservationItem(invite));
  }

  /** Always consistent: `consistent` changes nothing here (see the end of this file). */
  public async get(id: string, _options?: { consistent?: boolean }): Promise<Invite | undefined> {
    await this.#latency();
    const item = this.table.invites.get(Keys.invite(id));
    return item ? toInvite(item) : undefined;
  }

  public async getWithRedemptions(id: string): Promise<{ invite: Invite; redemptions: RedemptionRecord[] } | undefined> {
    await this.#latency();
    const item = this.table.invites.get(Keys.invite(id));
    if (!item) return undefined;
    // One Query of the invite's partition: audit records in sort-key order.
    const redemptions = [...this.table.audits.entries()]
      .filter(([, a]) => a.inviteId === id)
      .sort(([a], [b]) => byteOrder(a, b))
      .map(([, a]) => ({ jid: a.jid, at: a.at, kind: a.claimKind }));
    return { invite: toInvite(item), redemptions };
  }

  public async list(query: ListQuery): Promise<Page<Invite>> {
    await this.#latency();
    // By source: the sparse bySource index, only invites created with countBySource (domain and inviter narrow it).
    const partition = query.source
      ? `${IndexPrefix.source}${query.source}`
      : query.inviter
        ? `${IndexPrefix.inviter}${query.inviter}`
        : `${IndexPrefix.domain}${query.domain}`;
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, partition);
    const matching = [...this.table.invites.values()]
      .filter((i) =>
        query.source
          ? i.countedBySource === true && i.source === query.source && (!query.inviter || i.inviter === query.inviter)
          : query.inviter
            ? i.inviter === query.inviter
            : i.domain === query.domain
      )
      .filter((i) => !query.status || Conditions.STATUS_FILTERS[query.status](i, query.now))
      .filter((i) => !((query.inviter || query.source) && query.domain) || i.domain === query.domain)
      .filter(
        (i) =>
          (!query.type || i.type === query.type) &&
          (!query.issuedBy || i.source === query.issuedBy || i.source.startsWith(`${query.issuedBy}:`))
      )
      // bySource is sorted by expiry, the other indexes by creation.
      .map((i) => ({ item: i, sk: sortKey(query.source ? i.expiresAt : i.createdAt, i.id) }))
      .sort((a, b) => byteOrder(b.sk, a.sk))
      .filter((e) => after === undefined || byteOrder(e.sk, after) < 0);
    const page = matching.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map((e) => toInvite(e.item)),
      cursor: matching.length > page.length && last ? encodeCursor(partition, last.sk) : undefined,
    };
  }

  public async countLive(by: { inviter?: string; source?: string }, now: number, _atMost: number): Promise<number> {
    await this.#latency();
    if (!by.inviter && !by.source) return 0;
    return [...this.table.invites.values()].filter(
      (i) =>
        (by.inviter ? i.inviter === by.inviter : i.countedBySource && i.source === by.source) && Conditions.STATUS_FILTERS.valid(i, now)
    ).length;
  }

  public async revoke(id: string, now: number): Promise<Invite | undefined> {
    await this.#latency();
    const item = this.table.invites.get(Keys.invite(id));
    if (!item) return undefined;
    // Keeps the first revocation time.
    item.revokedAt ??= now;
    if (item.username && item.type !== 'reset') {
      // Free the reserved name; a completed redemption of it stays.
      const lock = this.table.locks.get(Keys.accountLock(`${item.username}@${item.domain}`));
      if (lock?.kind === 'reservation' && lock.inviteId === id) lock.expiresAt = now;
    }
    return toInvite(item);
  }

  /**
   * The claim transaction (DynamoDBClaims.ts #claimItems): take one use of a
   * live invite and lock the JID. Both conditions are evaluated; the lock's
   * answer comes first, as the adapter reads it.
   */
  #claimTransaction(
    inviteId: string,
    jid: string,
    kind: ClaimKind,
    claim: ClaimRecord,
    now: number,
    assumed?: { domain: string; username: string }
  ):
    | { written: true }
    | { written: false; invite: InviteItem | undefined; inviteOk: boolean; lock: LockItem | undefined; lockOk: boolean } {
    const { invites, locks } = this.table;
    const invite = invites.get(Keys.invite(inviteId));
    const lockKey = Keys.lock(kind, jid, inviteId);
    const lock = locks.get(lockKey);
    const inviteOk = Conditions.LIVE_INVITE(invite, now) && (!assumed || Conditions.ASSUMED_ACCOUNT_INVITE(invite, assumed));
    const lockOk = Conditions.NAME_FREE_FOR_INVITE(lock, inviteId, now);
    if (!inviteOk || !lockOk || !invite) return { written: false, invite, inviteOk, lock, lockOk };
    invite.uses += 1;
    invite.pending += 1;
    invite.pendingJids.add(jid);
    locks.set(lockKey, { kind: 'redemption', ...claim });
    return { written: true };
  }

  public async claimUnread(request: UnreadClaimRequest): Promise<ClaimRecord | undefined> {
    await this.#latency();
    const { inviteId, domain, username, jid, now, leaseSeconds, fingerprint } = request;
    const claim = newClaim(inviteId, jid, now, leaseSeconds, fingerprint);
    const result = this.#claimTransaction(inviteId, jid, 'account', claim, now, { domain, username });
    // Refused by a condition: nothing was written; `claim` gives the answer.
    return result.written ? copy(claim) : undefined;
  }

  public async claim({ invite, jid, kind, now, leaseSeconds, fingerprint }: ClaimRequest): Promise<ClaimResult> {
    await this.#latency();
    const claim = newClaim(invite.id, jid, now, leaseSeconds, fingerprint);
    const result = this.#claimTransaction(invite.id, jid, kind, claim, now);
    if (result.written) return { outcome: 'claimed', claim: copy(claim) };
    if (!result.lockOk) {
      // The same invite already claimed this JID: a retry of the same redemption.
      if (result.lock?.kind === 'redemption' && result.lock.inviteId === invite.id) {
        return { outcome: 'existing', claim: toClaim(copy(result.lock)) };
      }
      throw new InviteError('username-taken', `${jid} is already taken`);
    }
    throw inviteRefusal(result.invite, now);
  }

  public async getClaim(kind: ClaimKind, jid: string, inviteId: string): Promise<ClaimRecord | undefined> {
    await this.#latency();
    const lock = this.table.locks.get(Keys.lock(kind, jid, inviteId));
    return lock?.kind === 'redemption' && lock.inviteId === inviteId ? toClaim(copy(lock)) : undefined;
  }

  public async renewLease(claim: ClaimRecord, kind: ClaimKind, now: number, leaseSeconds: number): Promise<ClaimRecord | undefined> {
    await this.#latency();
    const lock = this.table.locks.get(Keys.lock(kind, claim.jid, claim.inviteId));
    // Of parallel retries only one gets past this.
    if (!Conditions.PENDING_CLAIM_OF_INVITE(lock, claim.inviteId) || !Conditions.LEASE_RUN_OUT(lock, now)) return undefined;
    lock.leaseUntil = now + leaseSeconds;
    return toClaim(copy(lock));
  }

  public async complete(claim: ClaimRecord, kind: ClaimKind, now: number, lineage?: LineageRecord): Promise<void> {
    await this.#latency();
    const { invites, locks, audits } = this.table;
    const lock = locks.get(Keys.lock(kind, claim.jid, claim.inviteId));
    const invite = invites.get(Keys.invite(claim.inviteId));
    // PENDING_CLAIM_OF_INVITE failed on a claim already completed (a retry
    // answered first): nothing left to do. A lock that is gone or belongs to
    // another invite is a broken claim.
    if (lock?.kind === 'redemption' && lock.inviteId === claim.inviteId && lock.status === 'completed') return;
    if (!Conditions.PENDING_CLAIM_OF_INVITE(lock, claim.inviteId)) throw new Error(`claim on ${claim.jid} was lost before completion`);
    if (!Conditions.HAS_PENDING(invite)) throw new ConditionFailed(`invite ${claim.inviteId} has no pending claim`);
    lock.status = 'completed';
    lock.completedAt = now;
    // The fingerprint stays: a replay is answered only to the same password.
    delete lock.leaseUntil;
    invite.pending -= 1;
    invite.pendingJids.delete(claim.jid);
    audits.set(Keys.audit(claim.inviteId, claim.jid), {
      inviteId: claim.inviteId,
      jid: claim.jid,
      at: now,
      claimKind: kind,
      expiresAt: now + AUDIT_RETENTION_SECONDS,
    });
    // The new account's lineage record (a Put: it replaces one there), in the same step.
    if (lineage) this.table.lineage.set(Keys.lineage(lineage.jid), { ...lineage });
  }

  /** The lineage record a completion wrote (what DynamoDBLineageStore.get(jid, { recordOnly: true }) reads), if any. */
  public async lineageRecord(jid: string): Promise<LineageRecord | undefined> {
    await this.#latency();
    const record = this.table.lineage.get(Keys.lineage(jid));
    return record && { ...record };
  }

  public async release(
    claim: ClaimRecord,
    kind: ClaimKind,
    invite: Invite,
    options: { onlyIfLeaseUnchanged?: boolean } = {}
  ): Promise<boolean> {
    await this.#latency();
    const { invites, locks } = this.table;
    const lockKey = Keys.lock(kind, claim.jid, claim.inviteId);
    const lock = locks.get(lockKey);
    const item = invites.get(Keys.invite(claim.inviteId));
    // Still this invite's pending claim; and, for an abandoned claim, still
    // under the lease that was seen expired (a retry that took it over wins).
    if (!Conditions.PENDING_CLAIM_OF_INVITE(lock, claim.inviteId)) return false;
    if (options.onlyIfLeaseUnchanged && !Conditions.SAME_LEASE(lock, claim)) return false;
    if (!Conditions.HAS_PENDING(item)) throw new ConditionFailed(`invite ${claim.inviteId} has no pending claim`);
    // A preset username goes back to its invite's reservation.
    if (kind === 'account' && invite.username !== undefined) locks.set(lockKey, reservationItem(invite));
    else locks.delete(lockKey);
    item.uses -= 1;
    item.pending -= 1;
    item.pendingJids.delete(claim.jid);
    return true;
  }

  public async spendContactInvite({ invite, subscriber, now }: ContactSpendRequest): Promise<{ outcome: 'spent' | 'existing' }> {
    await this.#latency();
    const { invites, contacts, audits } = this.table;
    const recordKey = Keys.contact(subscriber, invite.id);
    // A repeated subscription must not cost a second use, even once the invite is used up.
    if (contacts.has(recordKey)) return { outcome: 'existing' };
    const item = invites.get(Keys.invite(invite.id));
    if (!Conditions.LIVE_INVITE(item, now)) throw inviteRefusal(item, now);
    item.uses += 1;
    contacts.set(recordKey, { inviteId: invite.id, jid: subscriber, createdAt: now, expiresAt: now + AUDIT_RETENTION_SECONDS });
    audits.set(Keys.audit(invite.id, subscriber), {
      inviteId: invite.id,
      jid: subscriber,
      at: now,
      claimKind: 'contact',
      expiresAt: now + AUDIT_RETENTION_SECONDS,
    });
    return { outcome: 'spent' };
  }
}

/** DynamoDBRegistrationLocks on the same JID#<jid>/ACCOUNT items as the claims. */
export class MemoryRegistrationLocks implements RegistrationLocks {
  readonly #table: MemoryTable;
  readonly #latency: () => Promise<void>;

  public constructor(options: MemoryStoreOptions = {}) {
    this.#table = options.table ?? new MemoryTable();
    this.#latency = options.latency ?? nextTurn;
  }

  public async lock(jid: string, now: number, leaseSeconds: number): Promise<string> {
    await this.#latency();
    const key = Keys.accountLock(jid);
    if (!Conditions.NAME_FREE(this.#table.locks.get(key), now)) throw new InviteError('username-taken', `${jid} is reserved or taken`);
    const lockToken = randomBytes(12).toString('base64url');
    this.#table.locks.set(key, { kind: 'registration', jid, lockToken, createdAt: now, expiresAt: now + leaseSeconds });
    return lockToken;
  }

  public async complete(jid: string, lockToken: string, now: number, lineage?: LineageRecord): Promise<void> {
    await this.#latency();
    const lock = this.#table.locks.get(Keys.accountLock(jid));
    if (lock?.kind !== 'registration' || lock.lockToken !== lockToken) throw new ConditionFailed(`registration lock of ${jid}`);
    lock.status = 'completed';
    lock.completedAt = now;
    delete lock.expiresAt;
    delete lock.lockToken;
    // The account's lineage record, with the lock that makes the name its own.
    if (lineage) this.#table.lineage.set(Keys.lineage(lineage.jid), { ...lineage });
  }

  public async release(jid: string, lockToken: string): Promise<void> {
    await this.#latency();
    const key = Keys.accountLock(jid);
    const lock = this.#table.locks.get(key);
    if (lock?.kind === 'registration' && lock.lockToken === lockToken) this.#table.locks.delete(key);
  }
}

const encodeCursor = (partition: string, after: string) => Buffer.from(JSON.stringify({ partition, after }), 'utf8').toString('base64url');

/** Cursors are opaque but checked: one this double did not return for this partition is `cursor-invalid`. */
const decodeCursor = (cursor: string, partition: string): string => {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InviteError('cursor-invalid', 'cursor is not one this service returned');
  }
  const k = key as { partition?: unknown; after?: unknown } | null;
  if (typeof k !== 'object' || k === null || k.partition !== partition || typeof k.after !== 'string') {
    throw new InviteError('cursor-invalid', 'cursor is not one this service returned');
  }
  return k.after;
};

/*
 * Not modelled (the DynamoDB adapter has it, this double does not):
 * - eventual consistency: `get` without `consistent` always sees the latest write;
 * - TTL deletion: expired items stay, as on DynamoDB Local (reads already go by expiresAt);
 * - transaction conflicts and their retries (transactions.ts): operations are atomic turns;
 * - the item size limit, the 100-item BatchGet and 1 MB query pages: a list returns
 *   full pages, and its last page carries no cursor (DynamoDB may return one more, empty);
 * - `countLive` counts exactly instead of stopping about `atMost`;
 * - the stream (invite.redeemed events from audit items): the audit records are there;
 * - lineage records beyond the one a completion writes (`lineage`): suspend, deleted and
 *   first-seen go through the LineageStore port, and nothing here reads them back into a
 *   tree, nor derives a record from an old completed claim (DynamoDBLineageStore's fallback);
 * - cursors are this double's own (base64url JSON), not exchangeable with the adapter's.
 */
