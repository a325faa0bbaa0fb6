/**
 * Redeem's state machine (lib/invites/redeem.ts) without a database: the
 * in-memory invite table (test/support/memoryInviteStore.ts, held to the
 * DynamoDB adapter's contract) and a fake XMPP server that fails on demand.
 *
 *   claim ──► provision (account, roster) ──► complete
 *     │            └─ fails before the account exists ──► release (use back)
 *     │            └─ fails after ──► the claim stays; a retry after its lease resumes
 *     └─ the same request again ──► replay (completed) or take-over (lease run out)
 *
 * Every test runs on both claim paths: the claim after reading the invite,
 * and the claim before it (claimUnread) that a caller knowing the domain takes.
 */
import { describe, expect, it, vi } from 'vitest';
import { type InviteError, isInviteError } from '../../lib/errors.js';
import type { Actor } from '../../lib/invites/actor.js';
import { type IssueInput, issueInvite } from '../../lib/invites/issue.js';
import { passwordFingerprint } from '../../lib/invites/password.js';
import {
  CLAIM_LEASE_SECONDS,
  STALE_CLAIMS_PER_REQUEST,
  type RedeemInput,
  type RedeemResult,
  redeemInvite,
} from '../../lib/invites/redeem.js';
import { FakeProvisioner, unavailable } from '../support/fakeProvisioner.js';
import { MemoryInviteStore } from '../support/memoryInviteStore.js';

const DOMAIN = 'example.org';
const PASSWORD = 'correct horse battery';
const KEY = 'the claim key';
const INVITER = `inviter@${DOMAIN}`;
const ADMIN: Actor = { source: 'unit', domains: ['*'], admin: true, allowReset: true };
const T0 = 1_900_000_000;

/** A fresh world: the table, the XMPP server with the inviter on it, a clock that moves only when told. */
const world = (path: 'read first' | 'claim first', options: { jitter?: boolean } = {}) => {
  // With jitter, every call of the table and the server takes 0-3 ms: parallel redeems interleave in many orders.
  const latency = options.jitter ? () => new Promise<void>((resolve) => setTimeout(resolve, Math.random() * 3)) : undefined;
  const store = new MemoryInviteStore({ latency });
  const xmpp = new FakeProvisioner({ latency });
  xmpp.accounts.set(INVITER, 'the inviter password');
  const clock = { t: T0, now: () => clock.t };
  const config = {
    // Two domains served: only a caller naming its domain (a server module) claims before reading.
    domains: [DOMAIN, 'other.example'],
    defaultDomain: DOMAIN,
    defaultTtlSeconds: 3600,
    maxTtlSeconds: 86_400,
    baseUrl: 'https://invites.example',
    passwordMinLength: 8,
    usernameMaxLength: 64,
    protectedJids: [`admin@${DOMAIN}`],
  };
  const claimUnread = vi.spyOn(store, 'claimUnread');
  const issue = async (input: IssueInput = {}) => (await issueInvite({ store, clock, config }, ADMIN, { inviter: INVITER, ...input })).view;
  const redeem = (token: unknown, input: RedeemInput) =>
    redeemInvite({ store, xmpp, clock, config, claimKey: async () => KEY }, token, {
      ...(path === 'claim first' ? { domain: DOMAIN } : {}),
      ...input,
    });
  /** A claim made `ago` seconds back with PASSWORD by a request that then died. */
  const leftBehind = async (id: string, username: string, ago: number) => {
    const invite = (await store.get(id))!;
    const { claim } = await store.claim({
      invite,
      jid: `${username}@${DOMAIN}`,
      kind: 'account',
      now: clock.t - ago,
      leaseSeconds: CLAIM_LEASE_SECONDS,
      fingerprint: passwordFingerprint(KEY, PASSWORD),
    });
    return claim;
  };
  const state = async (id: string) => {
    const found = (await store.getWithRedemptions(id))!;
    return { uses: found.invite.uses, pending: found.invite.pending, redeemed: found.redemptions.map((r) => r.jid) };
  };
  return { store, xmpp, clock, config, claimUnread, issue, redeem, leftBehind, state };
};

type World = ReturnType<typeof world>;
/** Sets up a refusal: the token and what the request says besides the defaults. */
type Prepare = (w: World) => Promise<{ token: unknown; input: Partial<RedeemInput> }>;

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'no error',
    (e: unknown) => (isInviteError(e) ? e.code : `not an InviteError: ${String(e)}`)
  );

const outcomeOf = (p: Promise<RedeemResult>) =>
  p.then(
    (r) => (r.replayed ? 'replayed' : 'created'),
    (e: unknown) => (isInviteError(e) ? e.code : String(e))
  );

describe.each(['read first', 'claim first'] as const)('redeem, %s', (path) => {
  describe('claim and complete', () => {
    it('creates the account, links both rosters, and makes the use final with its audit record', async () => {
      const w = world(path);
      const view = await w.issue({ groups: ['Friends'] });
      const result = await w.redeem(view.token, { username: 'alice', password: PASSWORD });
      expect(result).toMatchObject({ jid: `alice@${DOMAIN}`, outcome: 'created', replayed: false, warnings: [] });
      expect(w.xmpp.accounts.get(`alice@${DOMAIN}`)).toBe(PASSWORD);
      expect(w.xmpp.links).toEqual([expect.objectContaining({ a: INVITER, b: `alice@${DOMAIN}`, groups: ['Friends'] })]);
      expect(await w.state(view.id)).toEqual({ uses: 1, pending: 0, redeemed: [`alice@${DOMAIN}`] });
      expect(await w.store.getClaim('account', `alice@${DOMAIN}`, view.id)).toMatchObject({ status: 'completed' });
      // The path taken: a claim before the read only when the domain is known.
      expect(w.claimUnread.mock.calls.length).toBe(path === 'claim first' ? 1 : 0);
    });

    it('takes the preset name when none is given, and links no roster without an inviter', async () => {
      const w = world(path);
      const view = await w.issue({ username: 'bea', inviter: undefined });
      expect(await w.redeem(view.token, { password: PASSWORD })).toMatchObject({ jid: `bea@${DOMAIN}` });
      expect(w.xmpp.links).toEqual([]);
      expect(await w.state(view.id)).toMatchObject({ uses: 1, pending: 0 });
    });

    it('resets the password of an existing account with a reset invite', async () => {
      const w = world(path);
      w.xmpp.accounts.set(`carl@${DOMAIN}`, 'the old password');
      const view = await w.issue({ type: 'reset', username: 'carl', inviter: undefined });
      expect(await w.redeem(view.token, { username: 'carl', password: PASSWORD })).toMatchObject({ outcome: 'reset', replayed: false });
      expect(w.xmpp.accounts.get(`carl@${DOMAIN}`)).toBe(PASSWORD);
      expect(w.xmpp.created).toEqual([]);
      expect(await w.state(view.id)).toEqual({ uses: 1, pending: 0, redeemed: [`carl@${DOMAIN}`] });
    });
  });

  describe('replay', () => {
    it('answers the same request again from the completed claim, creating nothing and taking no use', async () => {
      const w = world(path);
      const view = await w.issue({ maxUses: 2 });
      await w.redeem(view.token, { username: 'dora', password: PASSWORD });
      const again = await w.redeem(view.token, { username: 'dora', password: PASSWORD });
      expect(again).toMatchObject({ jid: `dora@${DOMAIN}`, outcome: 'created', replayed: true });
      expect(w.xmpp.callsOf('createAccount')).toBe(1);
      expect(await w.state(view.id)).toMatchObject({ uses: 1, pending: 0 });
    });

    it('answers the replay of a single-use invite that is used up by it', async () => {
      const w = world(path);
      const view = await w.issue();
      await w.redeem(view.token, { username: 'emil', password: PASSWORD });
      expect(await w.redeem(view.token, { username: 'emil', password: PASSWORD })).toMatchObject({ replayed: true });
      expect(await codeOf(w.redeem(view.token, { username: 'fred', password: PASSWORD }))).toBe('token-used');
      expect(w.xmpp.created).toEqual([`emil@${DOMAIN}`]);
    });
  });

  describe('resume and take-over', () => {
    it('resumes a claim whose request died before creating the account, once its lease ran out, for the same password only', async () => {
      const w = world(path);
      const view = await w.issue();
      await w.leftBehind(view.id, 'gina', 0);
      // Within the lease: the first attempt may still be running.
      const busy = w.redeem(view.token, { username: 'gina', password: PASSWORD });
      await expect(busy).rejects.toMatchObject({ code: 'redemption-in-progress' });
      expect(((await busy.catch((e: unknown) => e)) as InviteError).retryAfter).toBe(CLAIM_LEASE_SECONDS);

      w.clock.t += CLAIM_LEASE_SECONDS;
      expect(await codeOf(w.redeem(view.token, { username: 'gina', password: 'another password' }))).toBe('redemption-in-progress');
      expect(w.xmpp.created).toEqual([]);
      const resumed = await w.redeem(view.token, { username: 'gina', password: PASSWORD });
      expect(resumed).toMatchObject({ jid: `gina@${DOMAIN}`, replayed: true });
      expect(w.xmpp.created).toEqual([`gina@${DOMAIN}`]);
      expect(w.xmpp.links).toHaveLength(1);
      expect(await w.state(view.id)).toEqual({ uses: 1, pending: 0, redeemed: [`gina@${DOMAIN}`] });
    });

    it('adopts the account a dead attempt created with the same password, and links the rosters', async () => {
      const w = world(path);
      const view = await w.issue();
      await w.leftBehind(view.id, 'hugo', 60);
      w.xmpp.accounts.set(`hugo@${DOMAIN}`, PASSWORD);
      expect(await w.redeem(view.token, { username: 'hugo', password: PASSWORD })).toMatchObject({ replayed: true });
      expect(w.xmpp.links).toEqual([expect.objectContaining({ b: `hugo@${DOMAIN}` })]);
      expect(await w.state(view.id)).toMatchObject({ uses: 1, pending: 0 });
    });

    it('never adopts an account made elsewhere with another password, and gives the use back', async () => {
      const w = world(path);
      const view = await w.issue();
      await w.leftBehind(view.id, 'iris', 60);
      w.xmpp.accounts.set(`iris@${DOMAIN}`, 'the owner password');
      expect(await codeOf(w.redeem(view.token, { username: 'iris', password: PASSWORD }))).toBe('username-taken');
      expect(w.xmpp.accounts.get(`iris@${DOMAIN}`)).toBe('the owner password');
      expect(w.xmpp.links).toEqual([]);
      expect(await w.state(view.id)).toEqual({ uses: 0, pending: 0, redeemed: [] });
    });

    it('lets exactly one of parallel retries take an abandoned claim over', async () => {
      const w = world(path, { jitter: true });
      const view = await w.issue();
      await w.leftBehind(view.id, 'jack', 60);
      const outcomes = await Promise.all(
        Array.from({ length: 4 }, () => outcomeOf(w.redeem(view.token, { username: 'jack', password: PASSWORD })))
      );
      // All resume the same claim: one takes it over, the others find it busy or completed.
      expect(outcomes.filter((o) => o === 'replayed').length).toBeGreaterThanOrEqual(1);
      expect(outcomes.every((o) => o === 'replayed' || o === 'redemption-in-progress')).toBe(true);
      expect(w.xmpp.created).toEqual([`jack@${DOMAIN}`]);
      expect(w.xmpp.callsOf('createAccount')).toBe(1);
      expect(await w.state(view.id)).toEqual({ uses: 1, pending: 0, redeemed: [`jack@${DOMAIN}`] });
    });
  });

  describe('claims whose requests died and are never retried', () => {
    it('gives the use of an abandoned claim without an account to the next person', async () => {
      const w = world(path);
      const view = await w.issue();
      await w.leftBehind(view.id, 'kurt', 60);
      expect(await w.redeem(view.token, { username: 'lena', password: PASSWORD })).toMatchObject({ jid: `lena@${DOMAIN}` });
      expect(await w.store.getClaim('account', `kurt@${DOMAIN}`, view.id)).toBeUndefined();
      expect(await w.state(view.id)).toEqual({ uses: 1, pending: 0, redeemed: [`lena@${DOMAIN}`] });
    });

    it('keeps the use of an abandoned claim whose account exists, for its owner', async () => {
      const w = world(path);
      const view = await w.issue();
      await w.leftBehind(view.id, 'mona', 60);
      w.xmpp.accounts.set(`mona@${DOMAIN}`, PASSWORD);
      expect(await codeOf(w.redeem(view.token, { username: 'nick', password: PASSWORD }))).toBe('token-used');
      expect(await w.state(view.id)).toMatchObject({ uses: 1, pending: 1 });
      expect(await w.redeem(view.token, { username: 'mona', password: PASSWORD })).toMatchObject({ replayed: true });
      expect(await w.state(view.id)).toEqual({ uses: 1, pending: 0, redeemed: [`mona@${DOMAIN}`] });
    });

    it(`examines at most ${STALE_CLAIMS_PER_REQUEST} abandoned claims per request`, async () => {
      const w = world(path);
      const view = await w.issue({ maxUses: 5 });
      for (let n = 0; n < 5; n++) await w.leftBehind(view.id, `ghost${n}`, 60);
      expect(await w.redeem(view.token, { username: 'living', password: PASSWORD })).toMatchObject({ replayed: false });
      expect(w.xmpp.callsOf('accountExists')).toBe(STALE_CLAIMS_PER_REQUEST);
      expect(await w.state(view.id)).toMatchObject({ uses: 5 - STALE_CLAIMS_PER_REQUEST + 1, pending: 5 - STALE_CLAIMS_PER_REQUEST });
    });

    it('leaves claims still under their lease alone', async () => {
      const w = world(path);
      const view = await w.issue();
      await w.leftBehind(view.id, 'olga', 5);
      expect(await codeOf(w.redeem(view.token, { username: 'otto', password: PASSWORD }))).toBe('token-used');
      expect(w.xmpp.callsOf('accountExists')).toBe(0);
      expect(await w.state(view.id)).toMatchObject({ uses: 1, pending: 1 });
    });
  });

  describe('a failure before the account exists gives the use back', () => {
    it('when the server cannot be reached to create it', async () => {
      const w = world(path);
      const view = await w.issue();
      w.xmpp.failNext('createAccount');
      expect(await codeOf(w.redeem(view.token, { username: 'paul', password: PASSWORD }))).toBe('xmpp-unavailable');
      expect(await w.state(view.id)).toEqual({ uses: 0, pending: 0, redeemed: [] });
      expect(await w.store.getClaim('account', `paul@${DOMAIN}`, view.id)).toBeUndefined();
      // An immediate retry goes through.
      expect(await w.redeem(view.token, { username: 'paul', password: PASSWORD })).toMatchObject({ replayed: false });
      expect(await w.state(view.id)).toMatchObject({ uses: 1, pending: 0 });
    });

    it('when no server is configured for the domain', async () => {
      const w = world(path);
      const view = await w.issue();
      w.xmpp.failNext('forDomain');
      expect(await codeOf(w.redeem(view.token, { username: 'petra', password: PASSWORD }))).toBe('xmpp-unavailable');
      expect(await w.state(view.id)).toEqual({ uses: 0, pending: 0, redeemed: [] });
    });

    it('when the name exists on the server already', async () => {
      const w = world(path);
      const view = await w.issue();
      w.xmpp.accounts.set(`quin@${DOMAIN}`, 'someone else');
      expect(await codeOf(w.redeem(view.token, { username: 'quin', password: PASSWORD }))).toBe('username-taken');
      expect(w.xmpp.accounts.get(`quin@${DOMAIN}`)).toBe('someone else');
      expect(await w.state(view.id)).toEqual({ uses: 0, pending: 0, redeemed: [] });
    });

    it('when an account of that name exists with the very password, but this request never claimed it before', async () => {
      // Only a resumed claim adopts an account: a fresh one cannot tell it from one made outside this service.
      const w = world(path);
      const view = await w.issue();
      w.xmpp.accounts.set(`quentin@${DOMAIN}`, PASSWORD);
      expect(await codeOf(w.redeem(view.token, { username: 'quentin', password: PASSWORD }))).toBe('username-taken');
      expect(w.xmpp.links).toEqual([]);
      expect(await w.state(view.id)).toEqual({ uses: 0, pending: 0, redeemed: [] });
    });

    it("and the preset name to its invite's reservation", async () => {
      const w = world(path);
      const view = await w.issue({ username: 'rosa' });
      w.xmpp.failNext('createAccount');
      expect(await codeOf(w.redeem(view.token, { password: PASSWORD }))).toBe('xmpp-unavailable');
      expect(await w.state(view.id)).toMatchObject({ uses: 0, pending: 0 });
      expect(await codeOf(w.issue({ username: 'rosa' }))).toBe('username-taken');
      expect(await w.redeem(view.token, { password: PASSWORD })).toMatchObject({ jid: `rosa@${DOMAIN}` });
    });

    it('when a reset finds no account', async () => {
      const w = world(path);
      const view = await w.issue({ type: 'reset', username: 'sven', inviter: undefined });
      expect(await codeOf(w.redeem(view.token, { password: PASSWORD }))).toBe('account-not-found');
      expect(await w.state(view.id)).toEqual({ uses: 0, pending: 0, redeemed: [] });
    });
  });

  describe('a failure after the account exists keeps the claim for the retry', () => {
    it('when the roster link fails', async () => {
      const w = world(path);
      const view = await w.issue();
      w.xmpp.failNext('linkRosters');
      expect(await codeOf(w.redeem(view.token, { username: 'tina', password: PASSWORD }))).toBe('xmpp-unavailable');
      expect(w.xmpp.accounts.get(`tina@${DOMAIN}`)).toBe(PASSWORD);
      expect(await w.state(view.id)).toEqual({ uses: 1, pending: 1, redeemed: [] });
      // Nobody else gets the use, and the same request waits out the lease.
      expect(await codeOf(w.redeem(view.token, { username: 'ugo', password: PASSWORD }))).toBe('token-used');
      expect(await codeOf(w.redeem(view.token, { username: 'tina', password: PASSWORD }))).toBe('redemption-in-progress');
      w.clock.t += CLAIM_LEASE_SECONDS;
      expect(await w.redeem(view.token, { username: 'tina', password: PASSWORD })).toMatchObject({ replayed: true });
      expect(w.xmpp.created).toEqual([`tina@${DOMAIN}`]);
      expect(w.xmpp.links).toHaveLength(1);
      expect(await w.state(view.id)).toEqual({ uses: 1, pending: 0, redeemed: [`tina@${DOMAIN}`] });
    });

    it('when the roster link reaches the server but its answer is lost', async () => {
      const w = world(path);
      const view = await w.issue();
      w.xmpp.failNext('linkRosters', { error: unavailable(), afterActing: true });
      expect(await codeOf(w.redeem(view.token, { username: 'ulla', password: PASSWORD }))).toBe('xmpp-unavailable');
      w.clock.t += CLAIM_LEASE_SECONDS;
      expect(await w.redeem(view.token, { username: 'ulla', password: PASSWORD })).toMatchObject({ replayed: true });
      expect(await w.state(view.id)).toEqual({ uses: 1, pending: 0, redeemed: [`ulla@${DOMAIN}`] });
    });

    it('when creating the account reaches the server but its answer is lost: one account, never two', async () => {
      const w = world(path);
      const view = await w.issue();
      w.xmpp.failNext('createAccount', { error: unavailable(), afterActing: true });
      expect(await codeOf(w.redeem(view.token, { username: 'xena', password: PASSWORD }))).toBe('xmpp-unavailable');
      // The server says the account is there: the use is not given back.
      expect(await w.state(view.id)).toEqual({ uses: 1, pending: 1, redeemed: [] });
      expect(await codeOf(w.redeem(view.token, { username: 'yves', password: PASSWORD }))).toBe('token-used');
      w.clock.t += CLAIM_LEASE_SECONDS;
      // Nobody else frees it after the lease either: the account exists.
      expect(await codeOf(w.redeem(view.token, { username: 'yann', password: PASSWORD }))).toBe('token-used');
      // The same request's retry adopts the account it made.
      expect(await w.redeem(view.token, { username: 'xena', password: PASSWORD })).toMatchObject({ replayed: true });
      expect([...w.xmpp.accounts.keys()].filter((j) => j !== INVITER)).toEqual([`xena@${DOMAIN}`]);
      expect(await w.state(view.id)).toEqual({ uses: 1, pending: 0, redeemed: [`xena@${DOMAIN}`] });
    });

    it('when creating the account may have reached the server but the name is an account of someone else: the use comes back', async () => {
      const w = world(path);
      const view = await w.issue();
      w.xmpp.accounts.set(`xavier@${DOMAIN}`, 'not this password');
      w.xmpp.failNext('createAccount');
      expect(await codeOf(w.redeem(view.token, { username: 'xavier', password: PASSWORD }))).toBe('xmpp-unavailable');
      expect(await w.state(view.id)).toEqual({ uses: 0, pending: 0, redeemed: [] });
      expect(w.xmpp.accounts.get(`xavier@${DOMAIN}`)).toBe('not this password');
    });

    it('when creating the account fails and the server cannot say whether it exists: held until the lease ends', async () => {
      const w = world(path);
      const view = await w.issue();
      w.xmpp.failNext('createAccount').failNext('accountExists');
      expect(await codeOf(w.redeem(view.token, { username: 'zoe', password: PASSWORD }))).toBe('xmpp-unavailable');
      expect(await w.state(view.id)).toEqual({ uses: 1, pending: 1, redeemed: [] });
      w.clock.t += CLAIM_LEASE_SECONDS;
      // Once the server answers that nothing was created, the use comes back for anyone.
      expect(await w.redeem(view.token, { username: 'zack', password: PASSWORD })).toMatchObject({ jid: `zack@${DOMAIN}` });
      expect(w.xmpp.created).toEqual([`zack@${DOMAIN}`]);
      expect(await w.state(view.id)).toEqual({ uses: 1, pending: 0, redeemed: [`zack@${DOMAIN}`] });
    });

    it('when completing the claim fails', async () => {
      const w = world(path);
      const view = await w.issue();
      const complete = vi.spyOn(w.store, 'complete').mockRejectedValueOnce(new Error('the table is throttled'));
      await expect(w.redeem(view.token, { username: 'vera', password: PASSWORD })).rejects.toThrow('the table is throttled');
      expect(w.xmpp.accounts.get(`vera@${DOMAIN}`)).toBe(PASSWORD);
      expect(await w.state(view.id)).toEqual({ uses: 1, pending: 1, redeemed: [] });
      w.clock.t += CLAIM_LEASE_SECONDS;
      expect(await w.redeem(view.token, { username: 'vera', password: PASSWORD })).toMatchObject({ replayed: true });
      expect(complete).toHaveBeenCalledTimes(2);
      expect(w.xmpp.created).toEqual([`vera@${DOMAIN}`]);
      expect(await w.state(view.id)).toEqual({ uses: 1, pending: 0, redeemed: [`vera@${DOMAIN}`] });
    });

    it('except an inviter gone since the invite was issued: the account is what was promised, with a warning', async () => {
      const w = world(path);
      const view = await w.issue();
      w.xmpp.accounts.delete(INVITER);
      const result = await w.redeem(view.token, { username: 'walt', password: PASSWORD });
      expect(result.warnings).toEqual([expect.stringContaining(INVITER)]);
      expect(await w.state(view.id)).toEqual({ uses: 1, pending: 0, redeemed: [`walt@${DOMAIN}`] });
    });
  });

  describe('refusals write nothing', () => {
    it.each<[string, string, Prepare]>([
      ['an unknown token', 'token-invalid', async () => ({ token: 'A'.repeat(24), input: {} })],
      ['a malformed token', 'token-invalid', async () => ({ token: 'not a token', input: {} })],
      [
        'an expired invite',
        'token-expired',
        async (w) => {
          const view = await w.issue({ ttlSeconds: 60 });
          w.clock.t += 60;
          return { token: view.token, input: {} };
        },
      ],
      [
        'a revoked invite',
        'token-revoked',
        async (w) => {
          const view = await w.issue();
          await w.store.revoke(view.id, w.clock.t);
          return { token: view.token, input: {} };
        },
      ],
      [
        'a used-up invite',
        'token-used',
        async (w) => {
          const view = await w.issue();
          await w.redeem(view.token, { username: 'first', password: PASSWORD });
          return { token: view.token, input: {} };
        },
      ],
      [
        'another preset name',
        'username-mismatch',
        async (w) => ({
          token: (await w.issue({ username: 'preset' })).token,
          input: {},
        }),
      ],
      [
        "a name another invite's claim holds",
        'username-taken',
        async (w) => {
          await w.leftBehind((await w.issue()).id, 'wanted', 0);
          return { token: (await w.issue()).token, input: { username: 'wanted' } };
        },
      ],
      [
        'a name another invite reserved',
        'username-taken',
        async (w) => {
          await w.issue({ username: 'wanted' });
          return { token: (await w.issue()).token, input: { username: 'wanted' } };
        },
      ],
      [
        'a name a registration holds',
        'username-taken',
        async (w) => {
          await w.store.registrationLocks().lock(`wanted@${DOMAIN}`, w.clock.t, 30);
          return { token: (await w.issue()).token, input: { username: 'wanted' } };
        },
      ],
      [
        'an invalid name',
        'username-invalid',
        async (w) => ({
          token: (await w.issue()).token,
          input: { username: 'no spaces' },
        }),
      ],
      [
        'a weak password',
        'password-weak',
        async (w) => ({
          token: (await w.issue()).token,
          input: { password: 'short' },
        }),
      ],
      [
        'the invite of another domain',
        'token-invalid',
        async (w) => ({
          token: (await w.issue({ domain: 'other.example', inviter: undefined })).token,
          input: { domain: DOMAIN },
        }),
      ],
      [
        'a reset of a protected account',
        'forbidden',
        async (w) => {
          // Protected since the invite was issued: checked again at redeem.
          const view = await w.issue({ type: 'reset', username: 'xena', inviter: undefined });
          w.xmpp.accounts.set(`xena@${DOMAIN}`, 'the old password');
          w.config.protectedJids.push(`xena@${DOMAIN}`);
          return { token: view.token, input: { username: 'xena' } };
        },
      ],
    ])('%s: %s', async (_, code, prepare) => {
      const w = world(path);
      const { token, input } = await prepare(w);
      const before = {
        invites: structuredClone([...w.store.table.invites.entries()]),
        locks: structuredClone([...w.store.table.locks.entries()]),
        accounts: [...w.xmpp.accounts.entries()],
      };
      expect(await codeOf(w.redeem(token, { username: 'mallory', password: PASSWORD, ...input }))).toBe(code);
      expect([...w.store.table.invites.entries()]).toEqual(before.invites);
      expect([...w.store.table.locks.entries()]).toEqual(before.locks);
      expect([...w.xmpp.accounts.entries()]).toEqual(before.accounts);
    });
  });

  describe('exactly once under concurrency', () => {
    it.each([1, 3])('parallel redeems of a %i-use invite create exactly that many accounts', async (maxUses) => {
      const w = world(path, { jitter: true });
      const view = await w.issue({ maxUses });
      const names = Array.from({ length: 12 }, (_, n) => `racer${n}`);
      const outcomes = await Promise.all(names.map((username) => outcomeOf(w.redeem(view.token, { username, password: PASSWORD }))));
      expect(outcomes.filter((o) => o === 'created')).toHaveLength(maxUses);
      expect(outcomes.filter((o) => o !== 'created').every((o) => o === 'token-used')).toBe(true);
      expect(w.xmpp.created).toHaveLength(maxUses);
      expect(w.xmpp.links).toHaveLength(maxUses);
      expect(await w.state(view.id)).toMatchObject({ uses: maxUses, pending: 0 });
    });

    it('parallel copies of one request create one account', async () => {
      const w = world(path, { jitter: true });
      const view = await w.issue();
      const outcomes = await Promise.all(
        Array.from({ length: 6 }, () => outcomeOf(w.redeem(view.token, { username: 'yara', password: PASSWORD })))
      );
      expect(outcomes.filter((o) => o === 'created')).toHaveLength(1);
      expect(outcomes.every((o) => ['created', 'replayed', 'redemption-in-progress'].includes(o))).toBe(true);
      expect(w.xmpp.created).toEqual([`yara@${DOMAIN}`]);
      expect(await w.state(view.id)).toEqual({ uses: 1, pending: 0, redeemed: [`yara@${DOMAIN}`] });
    });

    it('parallel redeems of one name on two invites create one account', async () => {
      const w = world(path, { jitter: true });
      const [a, b] = [await w.issue(), await w.issue()];
      const outcomes = await Promise.all([a, b].map((v) => outcomeOf(w.redeem(v.token, { username: 'zoe', password: PASSWORD }))));
      expect(outcomes.sort()).toEqual(['created', 'username-taken']);
      expect(w.xmpp.created).toEqual([`zoe@${DOMAIN}`]);
      const uses = (await w.state(a.id)).uses + (await w.state(b.id)).uses;
      expect(uses).toBe(1);
    });
  });
});

describe('redeem, claim first, on a read that lags behind', () => {
  it('reads the invite again, consistently, when the read alongside the claim does not see it yet', async () => {
    const w = world('claim first');
    const view = await w.issue();
    // An eventually consistent read of an invite issued a moment ago.
    const get = vi.spyOn(w.store, 'get').mockResolvedValueOnce(undefined);
    expect(await w.redeem(view.token, { username: 'lagging', password: PASSWORD })).toMatchObject({ replayed: false });
    expect(get.mock.calls.map(([, options]) => options?.consistent === true)).toEqual([false, true]);
    expect(await w.state(view.id)).toEqual({ uses: 1, pending: 0, redeemed: [`lagging@${DOMAIN}`] });
  });
});
