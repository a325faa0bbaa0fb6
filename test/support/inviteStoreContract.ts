/**
 * The behaviour every InviteStore (and the RegistrationLocks on the same JID
 * locks) must have, as one suite run against each: the DynamoDB adapter on
 * DynamoDB Local (test/integration/inviteStore.contract.test.ts) and the
 * in-memory double of the unit tests (test/unit/memoryInviteStore.test.ts),
 * so the two cannot drift. Each refusal names the condition it pins
 * (lib/adapters/dynamodb/conditions.ts, Conditions in memoryInviteStore.ts).
 *
 * Every test makes its own invites, names and domains, so the suite can share
 * a table with other tests; every time is passed to the store explicitly.
 */
import { describe, expect, it } from 'vitest';
import { isInviteError } from '../../lib/errors.js';
import type { Invite } from '../../lib/invites/Invite.js';
import { passwordFingerprint } from '../../lib/invites/password.js';
import type { ClaimKind, ClaimRecord, InviteStore } from '../../lib/ports/InviteStore.js';
import type { RegistrationLocks } from '../../lib/ports/RegistrationLocks.js';
import { newLineage, type LineageRecord } from '../../lib/lineage/Lineage.js';
import { generateToken, hashToken } from '../../lib/token.js';
import { randomBytes } from 'node:crypto';

export interface StoreUnderTest {
  store: InviteStore;
  /** Open registration's locks, on the same table as `store`. */
  locks: RegistrationLocks;
  /** The lineage record on the same table (ACCT#<jid>/LINEAGE) as `complete` wrote it, if any: the record only. */
  lineageOf: (jid: string) => Promise<LineageRecord | undefined>;
}

const KEY = 'contract claim key';
const LEASE = 30;

const unique = (prefix: string) => `${prefix}${randomBytes(5).toString('hex')}`;

/** The error code a promise rejects with ('resolved' if it does not, the message if not an InviteError). */
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => (isInviteError(e) ? e.code : `not an InviteError: ${String(e)}`)
  );

export const inviteStoreContract = (name: string, factory: () => StoreUnderTest | Promise<StoreUnderTest>) =>
  describe(`InviteStore contract: ${name}`, () => {
    /** A fixed "now" for each test; times below are offsets from it. */
    const T = Math.floor(Date.now() / 1000);

    const setup = async () => {
      const { store, locks, lineageOf } = await factory();
      const domain = `${unique('d')}.example`;
      const newInvite = (overrides: Partial<Invite> = {}): Invite => ({
        id: hashToken(generateToken()),
        type: 'account',
        domain,
        maxUses: 1,
        uses: 0,
        pending: 0,
        expiresAt: T + 600,
        createdAt: T,
        groups: [],
        roles: [],
        source: 'contract',
        ...overrides,
      });
      const issue = async (overrides: Partial<Invite> = {}, options?: { countBySource?: boolean }) => {
        const invite = newInvite(overrides);
        await store.create(invite, invite.createdAt, options);
        return invite;
      };
      const jid = (prefix = 'u') => `${unique(prefix)}@${domain}`;
      const claim = (invite: Invite, at: string, options: { kind?: ClaimKind; now?: number; password?: string } = {}) =>
        store.claim({
          invite,
          jid: at,
          kind: options.kind ?? 'account',
          now: options.now ?? T,
          leaseSeconds: LEASE,
          fingerprint: passwordFingerprint(KEY, options.password ?? 'the password'),
        });
      const claimUnread = (invite: Invite, username: string, options: { domain?: string; now?: number } = {}) =>
        store.claimUnread!({
          inviteId: invite.id,
          domain: options.domain ?? invite.domain,
          username,
          jid: `${username}@${options.domain ?? invite.domain}`,
          now: options.now ?? T,
          leaseSeconds: LEASE,
          fingerprint: passwordFingerprint(KEY, 'the password'),
        });
      const claimed = async (invite: Invite, at: string, options?: Parameters<typeof claim>[2]) => {
        const result = await claim(invite, at, options);
        expect(result.outcome).toBe('claimed');
        return result.claim;
      };
      const counts = async (id: string) => {
        const i = await store.get(id, { consistent: true });
        return { uses: i?.uses, pending: i?.pending, pendingJids: [...(i?.pendingJids ?? [])].sort() };
      };
      return { store, locks, lineageOf, domain, newInvite, issue, jid, claim, claimUnread, claimed, counts };
    };

    describe('create and read', () => {
      it('stores an invite that reads back whole, with no use taken', async () => {
        const { store, issue } = await setup();
        const invite = await issue({ inviter: `inviter@x.example`, groups: ['Friends'], roles: ['r'], note: 'hello', maxUses: 3 });
        const read = await store.get(invite.id, { consistent: true });
        expect(read).toMatchObject({ ...invite, pendingJids: [] });
        expect(await store.get(invite.id)).toMatchObject({ id: invite.id });
        expect(await store.getWithRedemptions(invite.id)).toMatchObject({ invite: { id: invite.id }, redemptions: [] });
      });

      it('keeps unlimited invites unlimited', async () => {
        const { store, issue } = await setup();
        const invite = await issue({ maxUses: null });
        expect((await store.get(invite.id))?.maxUses).toBeNull();
      });

      it('answers undefined for an unknown invite', async () => {
        const { store } = await setup();
        const id = hashToken(generateToken());
        expect(await store.get(id)).toBeUndefined();
        expect(await store.getWithRedemptions(id)).toBeUndefined();
        expect(await store.revoke(id, T)).toBeUndefined();
        expect(await store.getClaim('account', 'nobody@x.example', id)).toBeUndefined();
      });

      it('refuses a second invite with the same id', async () => {
        const { store, issue } = await setup();
        const invite = await issue();
        await expect(store.create({ ...invite, note: 'again' }, T)).rejects.toThrow();
        expect((await store.get(invite.id))?.note).toBeUndefined();
      });
    });

    describe('preset usernames (NAME_FREE)', () => {
      it('reserves the name: another invite presetting it is username-taken, on another domain it is free', async () => {
        const { store, issue, newInvite } = await setup();
        const first = await issue({ username: 'alice' });
        const second = newInvite({ username: 'alice' });
        expect(await codeOf(store.create(second, T))).toBe('username-taken');
        expect(await store.get(second.id)).toBeUndefined();
        await issue({ username: 'alice', domain: `${unique('other')}.example` });
        expect(await store.get(first.id)).toMatchObject({ username: 'alice' });
      });

      it('frees the name once the reserving invite has expired', async () => {
        const { issue } = await setup();
        await issue({ username: 'bob', expiresAt: T + 60 });
        await issue({ username: 'bob', createdAt: T + 60, expiresAt: T + 600 });
      });

      it('reserves nothing for a reset invite', async () => {
        const { issue } = await setup();
        await issue({ type: 'reset', username: 'carol' });
        await issue({ type: 'reset', username: 'carol' });
        await issue({ username: 'carol' });
      });

      it('frees the name of a revoked invite', async () => {
        const { issue, store } = await setup();
        const first = await issue({ username: 'dave' });
        await store.revoke(first.id, T + 5);
        await issue({ username: 'dave', createdAt: T + 5 });
      });
    });

    describe('revoke', () => {
      it('marks the invite revoked and keeps the first revocation time', async () => {
        const { store, issue } = await setup();
        const invite = await issue();
        expect(await store.revoke(invite.id, T + 1)).toMatchObject({ id: invite.id, revokedAt: T + 1 });
        expect(await store.revoke(invite.id, T + 9)).toMatchObject({ revokedAt: T + 1 });
        expect(await store.get(invite.id)).toMatchObject({ revokedAt: T + 1 });
      });
    });

    describe('claim (LIVE_INVITE and NAME_FREE_FOR_INVITE in one transaction)', () => {
      it('takes one use, names the claim in flight and locks the JID with a lease and the fingerprint', async () => {
        const { store, issue, jid, counts } = await setup();
        const invite = await issue();
        const at = jid();
        const fingerprint = passwordFingerprint(KEY, 'the password', 'salty');
        const result = await store.claim({ invite, jid: at, kind: 'account', now: T, leaseSeconds: LEASE, fingerprint });
        expect(result).toEqual({
          outcome: 'claimed',
          claim: expect.objectContaining({ inviteId: invite.id, jid: at, status: 'pending', leaseUntil: T + LEASE, createdAt: T }),
        });
        expect(`${result.claim.salt}:${result.claim.fingerprint}`).toBe(fingerprint);
        expect(await counts(invite.id)).toEqual({ uses: 1, pending: 1, pendingJids: [at] });
        expect(await store.getClaim('account', at, invite.id)).toMatchObject({ ...result.claim });
        // The claim is this invite's: another invite sees none on the JID.
        expect(await store.getClaim('account', at, hashToken(generateToken()))).toBeUndefined();
      });

      it('answers a second claim of the same JID by the same invite with the existing claim, taking nothing', async () => {
        const { issue, jid, claim, claimed, counts } = await setup();
        const invite = await issue({ maxUses: 3 });
        const at = jid();
        const first = await claimed(invite, at);
        const again = await claim(invite, at, { now: T + 1, password: 'another password' });
        expect(again).toEqual({ outcome: 'existing', claim: expect.objectContaining({ ...first }) });
        expect(await counts(invite.id)).toMatchObject({ uses: 1, pending: 1 });
      });

      it('refuses an invite without uses left (HAS_USES_LEFT) as token-used', async () => {
        const { issue, jid, claim, claimed, counts } = await setup();
        const invite = await issue();
        await claimed(invite, jid());
        expect(await codeOf(claim(invite, jid()))).toBe('token-used');
        expect(await counts(invite.id)).toMatchObject({ uses: 1, pending: 1 });
      });

      it('lets an n-use invite be claimed n times, and an unlimited one without end', async () => {
        const { issue, jid, claim, claimed, counts } = await setup();
        const three = await issue({ maxUses: 3 });
        for (let n = 0; n < 3; n++) await claimed(three, jid());
        expect(await codeOf(claim(three, jid()))).toBe('token-used');
        expect(await counts(three.id)).toMatchObject({ uses: 3, pending: 3 });
        const unlimited = await issue({ maxUses: null });
        for (let n = 0; n < 5; n++) await claimed(unlimited, jid());
        expect(await counts(unlimited.id)).toMatchObject({ uses: 5, pending: 5 });
      });

      it('refuses an expired invite (NOT_EXPIRED) as token-expired, from the moment it expires', async () => {
        const { issue, jid, claim, counts } = await setup();
        const invite = await issue({ expiresAt: T + 60 });
        expect(await codeOf(claim(invite, jid(), { now: T + 60 }))).toBe('token-expired');
        expect(await counts(invite.id)).toMatchObject({ uses: 0, pending: 0 });
      });

      it('refuses a revoked invite (NOT_REVOKED) as token-revoked, before any other reason', async () => {
        const { store, issue, jid, claim, counts } = await setup();
        const invite = await issue({ expiresAt: T + 60 });
        await store.revoke(invite.id, T + 1);
        expect(await codeOf(claim(invite, jid()))).toBe('token-revoked');
        expect(await codeOf(claim(invite, jid(), { now: T + 100 }))).toBe('token-revoked');
        expect(await counts(invite.id)).toMatchObject({ uses: 0, pending: 0 });
      });

      it('refuses an unknown invite as token-invalid', async () => {
        const { newInvite, jid, claim } = await setup();
        expect(await codeOf(claim(newInvite(), jid()))).toBe('token-invalid');
      });

      it("refuses a JID another invite's claim holds as username-taken, taking nothing", async () => {
        const { store, issue, jid, claim, claimed, counts } = await setup();
        const first = await issue();
        const second = await issue();
        const at = jid();
        await claimed(first, at);
        expect(await codeOf(claim(second, at))).toBe('username-taken');
        expect(await counts(second.id)).toMatchObject({ uses: 0, pending: 0, pendingJids: [] });
        // Completed, it holds the name for good.
        const held = (await store.getClaim('account', at, first.id))!;
        await store.complete(held, 'account', T + 1);
        expect(await codeOf(claim(second, at, { now: T + 500 }))).toBe('username-taken');
      });

      it("refuses a name another live invite reserved, takes its own invite's reservation, and an expired one", async () => {
        const { issue, claim, claimed, domain } = await setup();
        await issue({ username: 'erin', expiresAt: T + 60 });
        const other = await issue({ maxUses: 2 });
        expect(await codeOf(claim(other, `erin@${domain}`))).toBe('username-taken');
        // Once the reserving invite expired, anyone may claim the name.
        await claimed(other, `erin@${domain}`, { now: T + 60 });
        const own = await issue({ username: 'frank' });
        await claimed(own, `frank@${domain}`);
      });

      it('refuses a name an open registration holds (NAME_FREE), frees it when that registration is abandoned', async () => {
        const { locks, issue, jid, claim, claimed } = await setup();
        const invite = await issue({ maxUses: 3 });
        const pending = jid('reg');
        await locks.lock(pending, T, 30);
        expect(await codeOf(claim(invite, pending, { now: T + 29 }))).toBe('username-taken');
        // ABANDONED_REGISTRATION: its lease ran out.
        await claimed(invite, pending, { now: T + 30 });

        const done = jid('reg');
        const token = await locks.lock(done, T, 30);
        await locks.complete(done, token, T + 1);
        expect(await codeOf(claim(invite, done, { now: T + 1000 }))).toBe('username-taken');
      });

      it('locks a reset per (JID, invite): two reset invites of one account claim independently', async () => {
        const { store, issue, domain, claimed, claim } = await setup();
        const first = await issue({ type: 'reset', username: 'gina' });
        const second = await issue({ type: 'reset', username: 'gina' });
        const at = `gina@${domain}`;
        const a = await claimed(first, at, { kind: 'reset' });
        await claimed(second, at, { kind: 'reset' });
        expect(await store.getClaim('reset', at, first.id)).toMatchObject({ ...a });
        expect(await store.getClaim('account', at, first.id)).toBeUndefined();
        expect((await claim(first, at, { kind: 'reset' })).outcome).toBe('existing');
      });

      it('answers the claim of a used-up invite on the JID it completed as existing: the claim decides', async () => {
        const { store, issue, jid, claim, claimed } = await setup();
        const invite = await issue();
        const at = jid();
        await store.complete(await claimed(invite, at), 'account', T + 1);
        const again = await claim(invite, at, { now: T + 2 });
        expect(again).toMatchObject({ outcome: 'existing', claim: { status: 'completed', completedAt: T + 1 } });
      });

      it('gives exactly n of many parallel claims of an n-use invite', async () => {
        const { issue, jid, claim, counts } = await setup();
        for (const maxUses of [1, 3]) {
          const invite = await issue({ maxUses });
          const results = await Promise.all(
            Array.from({ length: 8 }, () =>
              claim(invite, jid('race')).then(
                (r) => r.outcome,
                (e: unknown) => (isInviteError(e) ? e.code : String(e))
              )
            )
          );
          expect(results.filter((r) => r === 'claimed')).toHaveLength(maxUses);
          expect(results.filter((r) => r !== 'claimed').every((r) => r === 'token-used')).toBe(true);
          expect(await counts(invite.id)).toMatchObject({ uses: maxUses, pending: maxUses });
        }
      });
    });

    describe('claimUnread (LIVE_INVITE and ASSUMED_ACCOUNT_INVITE)', () => {
      it('claims as claim does when the invite is what was assumed', async () => {
        const { store, issue, claimUnread, counts, domain, claim } = await setup();
        const invite = await issue();
        const record = await claimUnread(invite, 'hank');
        expect(record).toMatchObject({ inviteId: invite.id, jid: `hank@${domain}`, status: 'pending', leaseUntil: T + LEASE });
        expect(await counts(invite.id)).toEqual({ uses: 1, pending: 1, pendingJids: [`hank@${domain}`] });
        expect(await store.getClaim('account', `hank@${domain}`, invite.id)).toMatchObject({ ...record });
        expect((await claim(invite, `hank@${domain}`)).outcome).toBe('existing');
      });

      it("takes the preset name's own reservation", async () => {
        const { issue, claimUnread } = await setup();
        const invite = await issue({ username: 'ivy' });
        expect(await claimUnread(invite, 'ivy')).toMatchObject({ status: 'pending' });
      });

      it('writes nothing and answers undefined whenever the invite is not what was assumed, or the name not free', async () => {
        const { store, locks, issue, newInvite, claimUnread, claimed, counts, jid, domain } = await setup();
        const refusals: [string, Invite, string, { domain?: string; now?: number }?][] = [];
        const plain = await issue({ maxUses: 2 });
        refusals.push(['another domain', plain, 'jack', { domain: `${unique('far')}.example` }]);
        refusals.push(['expired', plain, 'jack', { now: T + 600 }]);
        refusals.push(['a reset invite', await issue({ type: 'reset', username: 'kate' }), 'kate']);
        refusals.push(['another preset name', await issue({ username: 'liam' }), 'mona']);
        refusals.push(['unknown', newInvite(), 'nina']);
        const revoked = await issue();
        await store.revoke(revoked.id, T);
        refusals.push(['revoked', revoked, 'oscar']);
        const used = await issue();
        await claimed(used, jid());
        refusals.push(['used up', used, 'paul']);
        const taken = jid('taken');
        await locks.lock(taken, T, 30);
        refusals.push(['name locked by a registration', plain, taken.split('@')[0] as string]);
        await issue({ username: 'quinn' });
        refusals.push(['name reserved by another invite', plain, 'quinn']);
        for (const [why, invite, username, options] of refusals) {
          const before = await counts(invite.id);
          expect(await claimUnread(invite, username, options), why).toBeUndefined();
          expect(await counts(invite.id), why).toEqual(before);
          expect(await store.getClaim('account', `${username}@${options?.domain ?? domain}`, invite.id), why).toBeUndefined();
        }
      });
    });

    describe('renewLease (PENDING_CLAIM_OF_INVITE, lease run out)', () => {
      it('lets one retry take over a claim whose lease ran out, and nobody before', async () => {
        const { store, issue, jid, claimed } = await setup();
        const invite = await issue();
        const claim = await claimed(invite, jid());
        expect(await store.renewLease(claim, 'account', T + LEASE - 1, LEASE)).toBeUndefined();
        const taken = await store.renewLease(claim, 'account', T + LEASE, LEASE);
        expect(taken).toMatchObject({ ...claim, leaseUntil: T + 2 * LEASE });
        // A parallel retry at the same moment finds the new lease.
        expect(await store.renewLease(claim, 'account', T + LEASE, LEASE)).toBeUndefined();
        expect(await store.getClaim('account', claim.jid, invite.id)).toMatchObject({ leaseUntil: T + 2 * LEASE });
      });

      it('takes over neither a completed claim nor one of another invite', async () => {
        const { store, issue, jid, claimed } = await setup();
        const invite = await issue({ maxUses: 2 });
        const claim = await claimed(invite, jid());
        expect(await store.renewLease({ ...claim, inviteId: hashToken(generateToken()) }, 'account', T + 100, LEASE)).toBeUndefined();
        await store.complete(claim, 'account', T + 1);
        expect(await store.renewLease(claim, 'account', T + 100, LEASE)).toBeUndefined();
      });
    });

    describe('complete', () => {
      it('makes the use final, keeps the fingerprint (a replay must match it), drops the lease, and writes the audit record', async () => {
        const { store, issue, jid, claimed, counts } = await setup();
        const invite = await issue({ maxUses: 2 });
        const claim = await claimed(invite, jid());
        await store.complete(claim, 'account', T + 3);
        expect(await counts(invite.id)).toEqual({ uses: 1, pending: 0, pendingJids: [] });
        const done = (await store.getClaim('account', claim.jid, invite.id)) as ClaimRecord;
        expect(done).toMatchObject({ status: 'completed', completedAt: T + 3, createdAt: T });
        expect(`${done.salt}:${done.fingerprint}`).toBe(passwordFingerprint(KEY, 'the password', done.salt));
        expect(done.leaseUntil).toBeUndefined();
        expect(await store.getWithRedemptions(invite.id)).toMatchObject({
          invite: { uses: 1, pending: 0 },
          redemptions: [{ jid: claim.jid, at: T + 3, kind: 'account' }],
        });
      });

      it('is idempotent: completing a completed claim again changes nothing', async () => {
        const { store, issue, jid, claimed, counts } = await setup();
        const invite = await issue();
        const claim = await claimed(invite, jid());
        await store.complete(claim, 'account', T + 1);
        await store.complete(claim, 'account', T + 2);
        expect(await counts(invite.id)).toMatchObject({ uses: 1, pending: 0 });
        expect(await store.getClaim('account', claim.jid, invite.id)).toMatchObject({ completedAt: T + 1 });
        expect((await store.getWithRedemptions(invite.id))?.redemptions).toHaveLength(1);
      });

      it('fails for a claim that was released meanwhile, writing nothing', async () => {
        const { store, issue, jid, claimed, counts } = await setup();
        const invite = await issue();
        const claim = await claimed(invite, jid());
        await store.release(claim, 'account', invite);
        await expect(store.complete(claim, 'account', T + 1)).rejects.toThrow(/lost before completion/);
        expect(await counts(invite.id)).toMatchObject({ uses: 0, pending: 0 });
        expect((await store.getWithRedemptions(invite.id))?.redemptions).toEqual([]);
      });

      it("writes the new account's lineage record with the completion; a repeat keeps the first, a lost claim writes none", async () => {
        const { store, lineageOf, issue, jid, claimed } = await setup();
        const invite = await issue({ maxUses: 2, inviter: `${unique('parent')}@x.example`, source: 'api-key:contract' });
        const claim = await claimed(invite, jid());
        const record = newLineage(claim.jid, 'web', T + 3, invite);

        await store.complete(claim, 'account', T + 3, record);
        // A retry that finds the claim completed: its own record (another path, later) is not written.
        await store.complete(claim, 'account', T + 9, newLineage(claim.jid, 'app', T + 9, invite));
        const lost = await claimed(invite, jid());
        await store.release(lost, 'account', invite);
        await expect(store.complete(lost, 'account', T + 4, newLineage(lost.jid, 'web', T + 4, invite))).rejects.toThrow(
          /lost before completion/
        );

        expect(await lineageOf(claim.jid)).toEqual(record);
        expect(record).toMatchObject({ invitedBy: invite.inviter, inviteId: invite.id, source: 'api-key:contract', via: 'web' });
        expect(await lineageOf(lost.jid)).toBeUndefined();
      });

      it('writes a reset claim and its audit record under its own kind', async () => {
        const { store, issue, domain, claimed } = await setup();
        const invite = await issue({ type: 'reset', username: 'ruth' });
        const claim = await claimed(invite, `ruth@${domain}`, { kind: 'reset' });
        await store.complete(claim, 'reset', T + 1);
        expect(await store.getClaim('reset', claim.jid, invite.id)).toMatchObject({ status: 'completed' });
        expect((await store.getWithRedemptions(invite.id))?.redemptions).toEqual([{ jid: claim.jid, at: T + 1, kind: 'reset' }]);
      });
    });

    describe('release', () => {
      it('gives the use back and frees the JID', async () => {
        const { store, issue, jid, claimed, counts } = await setup();
        const invite = await issue();
        const claim = await claimed(invite, jid());
        expect(await store.release(claim, 'account', invite)).toBe(true);
        expect(await counts(invite.id)).toEqual({ uses: 0, pending: 0, pendingJids: [] });
        expect(await store.getClaim('account', claim.jid, invite.id)).toBeUndefined();
        // The use and the name are free for anyone.
        const other = await issue();
        await claimed(other, claim.jid);
        await claimed(invite, jid());
      });

      it('releases once: a released or completed claim answers false and changes nothing', async () => {
        const { store, issue, jid, claimed, counts } = await setup();
        const invite = await issue({ maxUses: 2 });
        const gone = await claimed(invite, jid());
        await store.release(gone, 'account', invite);
        expect(await store.release(gone, 'account', invite)).toBe(false);
        const done = await claimed(invite, jid());
        await store.complete(done, 'account', T + 1);
        expect(await store.release(done, 'account', invite)).toBe(false);
        expect(await counts(invite.id)).toMatchObject({ uses: 1, pending: 0 });
      });

      it("gives a preset name back to its invite's reservation", async () => {
        const { store, issue, claimed, counts, domain, claim, locks } = await setup();
        const invite = await issue({ username: 'sara' });
        const at = `sara@${domain}`;
        const held = await claimed(invite, at);
        expect(await store.release(held, 'account', invite)).toBe(true);
        expect(await counts(invite.id)).toMatchObject({ uses: 0, pending: 0 });
        expect(await store.getClaim('account', at, invite.id)).toBeUndefined();
        const other = await issue({ maxUses: 2 });
        expect(await codeOf(claim(other, at))).toBe('username-taken');
        expect(await codeOf(locks.lock(at, T, 30))).toBe('username-taken');
        await claimed(invite, at);
      });

      it('with onlyIfLeaseUnchanged, leaves a claim a retry took over since it was read', async () => {
        const { store, issue, jid, claimed, counts } = await setup();
        const invite = await issue();
        const seen = await claimed(invite, jid());
        await store.renewLease(seen, 'account', T + LEASE, LEASE);
        expect(await store.release(seen, 'account', invite, { onlyIfLeaseUnchanged: true })).toBe(false);
        expect(await counts(invite.id)).toMatchObject({ uses: 1, pending: 1 });
        const current = (await store.getClaim('account', seen.jid, invite.id)) as ClaimRecord;
        expect(await store.release(current, 'account', invite, { onlyIfLeaseUnchanged: true })).toBe(true);
        expect(await counts(invite.id)).toMatchObject({ uses: 0, pending: 0 });
      });
    });

    describe('registration locks (NAME_FREE on the same JID lock)', () => {
      it('refuses a name that is reserved, claimed or locked, and frees it on release by its own token only', async () => {
        const { locks, issue, jid, claimed, domain, newInvite, store } = await setup();
        await issue({ username: 'tom' });
        expect(await codeOf(locks.lock(`tom@${domain}`, T, 30))).toBe('username-taken');
        const invite = await issue();
        const claimedJid = jid();
        await claimed(invite, claimedJid);
        expect(await codeOf(locks.lock(claimedJid, T, 30))).toBe('username-taken');

        const name = jid('reg');
        const token = await locks.lock(name, T, 30);
        expect(await codeOf(locks.lock(name, T + 1, 30))).toBe('username-taken');
        // A preset invite cannot reserve a name being registered.
        expect(await codeOf(store.create(newInvite({ username: name.split('@')[0] }), T + 1))).toBe('username-taken');
        await locks.release(name, 'not the token');
        expect(await codeOf(locks.lock(name, T + 1, 30))).toBe('username-taken');
        await locks.release(name, token);
        await locks.lock(name, T + 1, 30);
      });

      it("writes an open registration's lineage record with its completion, and none for a lock it no longer holds", async () => {
        const { locks, lineageOf, jid } = await setup();
        const done = jid('reg');
        const record = newLineage(done, 'app', T + 1);
        await locks.complete(done, await locks.lock(done, T, 30), T + 1, record);
        const abandoned = jid('reg');
        const old = await locks.lock(abandoned, T, 30);
        await locks.lock(abandoned, T + 30, 30);
        await expect(locks.complete(abandoned, old, T + 31, newLineage(abandoned, 'app', T + 31))).rejects.toThrow();

        expect(await lineageOf(done)).toEqual(record);
        expect(record).toMatchObject({ invitedBy: null, inviteId: null, source: 'open-registration' });
        expect(await lineageOf(abandoned)).toBeUndefined();
      });

      it('holds a completed registration for good, and frees an abandoned one', async () => {
        const { locks, jid } = await setup();
        const done = jid('reg');
        await locks.complete(done, await locks.lock(done, T, 30), T + 1);
        expect(await codeOf(locks.lock(done, T + 10_000, 30))).toBe('username-taken');
        const abandoned = jid('reg');
        const old = await locks.lock(abandoned, T, 30);
        const fresh = await locks.lock(abandoned, T + 30, 30);
        // The abandoned lock's token no longer completes anything.
        await expect(locks.complete(abandoned, old, T + 31)).rejects.toThrow();
        await locks.complete(abandoned, fresh, T + 31);
      });
    });

    describe('spendContactInvite (XEP-0379)', () => {
      it('takes one use per subscriber and writes a contact audit record; a repeat costs nothing', async () => {
        const { store, issue, counts } = await setup();
        const invite = await issue({ type: 'contact', inviter: 'inviter@x.example' });
        const subscriber = `${unique('s')}@elsewhere.example`;
        expect(await store.spendContactInvite({ invite, subscriber, now: T })).toEqual({ outcome: 'spent' });
        expect(await counts(invite.id)).toMatchObject({ uses: 1, pending: 0 });
        // Used up now, but the same subscriber's repeat is answered.
        expect(await store.spendContactInvite({ invite, subscriber, now: T + 1 })).toEqual({ outcome: 'existing' });
        expect(await store.getWithRedemptions(invite.id)).toMatchObject({
          invite: { uses: 1 },
          redemptions: [{ jid: subscriber, at: T, kind: 'contact' }],
        });
        expect(await codeOf(store.spendContactInvite({ invite, subscriber: `${unique('s')}@x.example`, now: T }))).toBe('token-used');
      });

      it('refuses revoked, expired and unknown invites', async () => {
        const { store, issue, newInvite } = await setup();
        const revoked = await issue({ type: 'contact' });
        await store.revoke(revoked.id, T);
        const subscriber = `${unique('s')}@x.example`;
        expect(await codeOf(store.spendContactInvite({ invite: revoked, subscriber, now: T }))).toBe('token-revoked');
        const expired = await issue({ type: 'contact', expiresAt: T + 60 });
        expect(await codeOf(store.spendContactInvite({ invite: expired, subscriber, now: T + 60 }))).toBe('token-expired');
        expect(await codeOf(store.spendContactInvite({ invite: newInvite(), subscriber, now: T }))).toBe('token-invalid');
      });
    });

    describe('list and countLive', () => {
      /** Five invites of one domain, one second apart, newest last; the second revoked, the third used up, the fourth expired. */
      const fiveInvites = async (s: Awaited<ReturnType<typeof setup>>, inviter: string) => {
        const made: Invite[] = [];
        for (let n = 0; n < 5; n++) made.push(await s.issue({ createdAt: T + n, inviter: n % 2 === 0 ? inviter : undefined }));
        await s.store.revoke((made[1] as Invite).id, T + 10);
        await s.store.complete(await s.claimed(made[2] as Invite, s.jid()), 'account', T + 10);
        await s.store.create(s.newInvite({ createdAt: T + 5, expiresAt: T + 20 }), T + 5);
        return made;
      };
      const all = async (store: InviteStore, query: Parameters<InviteStore['list']>[0]) => {
        const ids: string[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < 20; page++) {
          const result = await store.list({ ...query, cursor });
          expect(result.items.length).toBeLessThanOrEqual(query.limit);
          ids.push(...result.items.map((i) => i.id));
          cursor = result.cursor;
          if (!cursor) break;
        }
        return ids;
      };

      it('pages through a domain newest first, filtered by status', async () => {
        const s = await setup();
        const inviter = `${unique('boss')}@${s.domain}`;
        const made = await fiveInvites(s, inviter);
        const [a, b, c, d, e] = made.map((i) => i.id);
        const now = T + 30;
        const everything = await all(s.store, { domain: s.domain, limit: 2, now });
        expect(everything).toHaveLength(6);
        expect(everything.slice(1)).toEqual([e, d, c, b, a]);
        expect(await all(s.store, { domain: s.domain, limit: 10, now, status: 'revoked' })).toEqual([b]);
        expect(await all(s.store, { domain: s.domain, limit: 10, now, status: 'used' })).toEqual([c]);
        expect(await all(s.store, { domain: s.domain, limit: 10, now, status: 'valid' })).toEqual([e, d, a]);
        expect(await all(s.store, { domain: s.domain, limit: 10, now, status: 'expired' })).toEqual([everything[0]]);
      });

      it('lists an inviter, on one domain if asked', async () => {
        const s = await setup();
        const inviter = `${unique('boss')}@${s.domain}`;
        const [a, , c, , e] = (await fiveInvites(s, inviter)).map((i) => i.id);
        await s.issue({ inviter, domain: `${unique('other')}.example`, createdAt: T + 6 });
        expect(await all(s.store, { inviter, domain: s.domain, limit: 2, now: T + 30 })).toEqual([e, c, a]);
        expect(await all(s.store, { inviter, limit: 10, now: T + 30 })).toHaveLength(4);
      });

      it('lists a source counted by source, latest expiry first, narrowed to a domain or inviter', async () => {
        const s = await setup();
        const source = unique('source');
        const inviter = `${unique('boss')}@${s.domain}`;
        const a = await s.issue({ source, expiresAt: T + 100 }, { countBySource: true });
        const b = await s.issue({ source, expiresAt: T + 300, inviter }, { countBySource: true });
        const c = await s.issue({ source, expiresAt: T + 200, domain: `${unique('other')}.example` }, { countBySource: true });
        await s.issue({ source, expiresAt: T + 400 });
        const d = await s.issue({ source, expiresAt: T + 50 }, { countBySource: true });
        await s.store.revoke(d.id, T + 1);
        expect(await all(s.store, { source, limit: 1, now: T + 10 })).toEqual([b.id, c.id, a.id, d.id]);
        expect(await all(s.store, { source, domain: s.domain, limit: 1, now: T + 10 })).toEqual([b.id, a.id, d.id]);
        expect(await all(s.store, { source, inviter, limit: 5, now: T + 10 })).toEqual([b.id]);
        expect(await all(s.store, { source, status: 'revoked', limit: 5, now: T + 10 })).toEqual([d.id]);
      });

      it('narrows a domain or an inviter to a type and to what one source issued, itself or below it', async () => {
        const s = await setup();
        const inviter = `${unique('boss')}@${s.domain}`;
        const key = unique('api-key:');
        const contact = await s.issue({ type: 'contact', inviter, createdAt: T + 1, source: key });
        const account = await s.issue({ inviter, createdAt: T + 2, source: `${key}:${inviter}` });
        await s.issue({ createdAt: T + 3, source: `${key}x` });
        const reset = await s.issue({ type: 'reset', username: unique('r'), createdAt: T + 4, source: 'cli' });
        const now = T + 10;
        expect(await all(s.store, { domain: s.domain, type: 'contact', limit: 1, now })).toEqual([contact.id]);
        expect(await all(s.store, { domain: s.domain, type: 'reset', status: 'valid', limit: 1, now })).toEqual([reset.id]);
        expect(await all(s.store, { domain: s.domain, issuedBy: key, limit: 1, now })).toEqual([account.id, contact.id]);
        expect(await all(s.store, { inviter, issuedBy: key, type: 'account', limit: 1, now })).toEqual([account.id]);
        expect(await all(s.store, { inviter, domain: s.domain, issuedBy: 'cli', limit: 5, now })).toEqual([]);
      });

      it('refuses a cursor it did not give for this list as cursor-invalid', async () => {
        const s = await setup();
        for (let n = 0; n < 3; n++) await s.issue({ createdAt: T + n });
        const page = await s.store.list({ domain: s.domain, limit: 1, now: T });
        expect(page.cursor).toBeDefined();
        expect(await codeOf(s.store.list({ domain: `${unique('x')}.example`, limit: 1, now: T, cursor: page.cursor }))).toBe(
          'cursor-invalid'
        );
        for (const forged of ['not base64 json', Buffer.from('{"pk":1}').toString('base64url')]) {
          expect(await codeOf(s.store.list({ domain: s.domain, limit: 1, now: T, cursor: forged }))).toBe('cursor-invalid');
        }
      });

      it('counts live invites by inviter, and by source only those counted by source', async () => {
        const s = await setup();
        const inviter = `${unique('boss')}@${s.domain}`;
        await fiveInvites(s, inviter);
        // Of the inviter's three (first, third, fifth), the third is used up.
        expect(await s.store.countLive({ inviter }, T + 30, 100)).toBe(2);
        const source = unique('source');
        await s.issue({ source }, { countBySource: true });
        await s.issue({ source }, { countBySource: true });
        await s.issue({ source, expiresAt: T + 20 }, { countBySource: true });
        await s.issue({ source });
        expect(await s.store.countLive({ source }, T + 30, 100)).toBe(2);
        expect(await s.store.countLive({}, T, 100)).toBe(0);
      });
    });
  });
