/**
 * Model-based property test of the invite state machine: random sequences of
 * issue, check, redeem (one at a time and several at once), revoke and clock
 * advances (expiry) run against the real DynamoDBInviteStore on DynamoDB
 * Local and a recording in-memory provisioner, and are compared with a small
 * model after every step. Whatever the interleaving:
 * - an invite never has more uses than maxUses (and no claim is left pending);
 * - no account is created from an invalid (revoked, expired, used-up) invite;
 * - every successful redeem created exactly one account, and every account
 *   created belongs to a successful redeem (failed provisioning gives the use back).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBInviteStore } from '../../lib/adapters/dynamodb/DynamoDBInviteStore.js';
import { InviteError, isInviteError } from '../../lib/errors.js';
import type { Actor } from '../../lib/invites/actor.js';
import { revokeInvite } from '../../lib/invites/adminInvites.js';
import { findLiveInvite } from '../../lib/invites/lookup.js';
import { issueInvite } from '../../lib/invites/issue.js';
import { redeemInvite } from '../../lib/invites/redeem.js';
import type { Clock } from '../../lib/ports/Clock.js';
import type { ProvisionerRegistry, RosterItem, RosterLink, XmppProvisioner } from '../../lib/ports/XmppProvisioner.js';
import { documentClientForStack, stack, uniqueName } from '../support/stack.js';

const PASSWORD = 'correct horse battery';
/** The inviter's own password: no redeem may ever change it. */
const INVITER_PASSWORD = 'the inviter keeps this one';
const DOMAIN = 'localhost';
const ADMIN: Actor = { source: 'property-test', domains: ['*'], admin: true };

/** A test double of the XMPP server: records what it creates, fails when told to. */
class RecordingProvisioner implements XmppProvisioner, ProvisionerRegistry {
  public readonly accounts = new Map<string, string>();
  /** JIDs in creation order, one entry per account created. */
  public readonly created: string[] = [];
  public readonly links: RosterLink[] = [];
  /** The next createAccount fails before anything exists (server unreachable). */
  public failNextCreate = false;

  public async forDomain(): Promise<XmppProvisioner> {
    return this;
  }

  public async createAccount(jid: string, password: string): Promise<void> {
    // A little jitter, so that concurrent redeems interleave in many ways.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
    if (this.failNextCreate) {
      this.failNextCreate = false;
      throw new InviteError('xmpp-unavailable', 'told to fail', { retryAfter: 1 });
    }
    if (this.accounts.has(jid)) throw new InviteError('username-taken', 'this username is taken');
    this.accounts.set(jid, password);
    this.created.push(jid);
  }

  public async setPassword(jid: string, password: string): Promise<void> {
    if (!this.accounts.has(jid)) throw new InviteError('account-not-found', 'no such account');
    this.accounts.set(jid, password);
  }

  public async accountExists(jid: string): Promise<boolean> {
    return this.accounts.has(jid);
  }

  public async verifyPassword(jid: string, password: string): Promise<boolean> {
    return this.accounts.get(jid) === password;
  }

  public async linkRosters(link: RosterLink): Promise<void> {
    for (const jid of [link.a, link.b]) {
      if (!this.accounts.has(jid)) throw new InviteError('account-not-found', `no account ${jid}`);
    }
    this.links.push(link);
  }

  public async getRoster(): Promise<RosterItem[]> {
    return [];
  }

  public async close(): Promise<void> {}
}

interface ModelInvite {
  id: string;
  token: string;
  maxUses: number;
  uses: number;
  expiresAt: number;
  revoked: boolean;
  username?: string;
  /** Localparts this invite created: redeeming one again (same password) is a replay. */
  /** Names this invite created, with the password each was created with. */
  names: Map<string, string>;
}

interface Model {
  now: number;
  invites: ModelInvite[];
  /** Localparts taken by successful redeems (locked in the table). */
  taken: Set<string>;
  /** Localparts of accounts that exist on the server only (made elsewhere). */
  existing: Set<string>;
  /** JIDs the provisioner must have created, in order. */
  expectedCreated: string[];
}

interface Real {
  store: DynamoDBInviteStore;
  xmpp: RecordingProvisioner;
  clock: Clock;
  prefix: string;
  inviter: string;
}

const statusOf = (m: Model, i: ModelInvite) =>
  i.revoked ? 'revoked' : i.expiresAt <= m.now ? 'expired' : i.uses >= i.maxUses ? 'used' : 'valid';

const config = {
  domains: [DOMAIN],
  defaultDomain: DOMAIN,
  defaultTtlSeconds: 600,
  maxTtlSeconds: 3600,
  baseUrl: 'http://localhost',
  usernameMaxLength: 64,
  passwordMinLength: 8,
  protectedJids: [],
};

const CLAIM_KEY = 'property-test-claim-key-0123456789abcdef';
const deps = (r: Real) => ({ store: r.store, clock: r.clock, config, xmpp: r.xmpp, claimKey: async () => CLAIM_KEY });

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (isInviteError(e)) return e.code;
    return `unexpected ${(e as Error).name}`;
  }
};

/** After every step: the store agrees with the model and the provisioner created exactly the expected accounts. */
const checkInvariants = async (m: Model, r: Real) => {
  for (const i of m.invites) {
    const stored = await r.store.get(i.id);
    expect(stored, i.id).toBeDefined();
    expect(stored!.uses).toBeLessThanOrEqual(i.maxUses);
    expect(stored!.pending).toBe(0);
    expect(stored!.uses).toBe(i.uses);
  }
  expect([...r.xmpp.created].sort()).toEqual([...m.expectedCreated].sort());
  expect(r.xmpp.accounts.get(r.inviter)).toBe(INVITER_PASSWORD);
  expect(new Set(r.xmpp.created).size).toBe(r.xmpp.created.length);
};

class IssueCommand implements fc.AsyncCommand<Model, Real> {
  public constructor(
    private readonly maxUses: number,
    private readonly ttl: number,
    private readonly preset: boolean
  ) {}
  public check = () => true;
  public async run(m: Model, r: Real) {
    const maxUses = this.preset ? 1 : this.maxUses;
    const username = this.preset ? `${r.prefix}pre${m.invites.length}` : undefined;
    const { invite, token } = await issueInvite(deps(r), ADMIN, { maxUses, ttlSeconds: this.ttl, username, inviter: r.inviter });
    m.invites.push({ id: invite.id, token, maxUses, uses: 0, expiresAt: invite.expiresAt, revoked: false, username, names: new Map() });
    await checkInvariants(m, r);
  }
  public toString = () => `issue(maxUses=${this.maxUses}, ttl=${this.ttl}, preset=${this.preset})`;
}

class CheckCommand implements fc.AsyncCommand<Model, Real> {
  public constructor(private readonly index: number) {}
  public check = (m: Readonly<Model>) => m.invites.length > 0;
  public async run(m: Model, r: Real) {
    const i = m.invites[this.index % m.invites.length] as ModelInvite;
    const code = await codeOf(findLiveInvite(deps(r), i.token));
    const expected = { valid: 'ok', revoked: 'token-revoked', expired: 'token-expired', used: 'token-used' }[statusOf(m, i)];
    expect(code).toBe(expected);
    await checkInvariants(m, r);
  }
  public toString = () => `check(#${this.index})`;
}

/** A localpart: fresh, one of a few shared ones (so names collide across invites), or an existing account's. */
type Name = { shared: number } | { fresh: true } | { existing: true };

const localpart = (r: Real, name: Name) =>
  'shared' in name ? `${r.prefix}s${name.shared}` : 'existing' in name ? (r.inviter.split('@')[0] as string) : uniqueName(r.prefix);

class RedeemCommand implements fc.AsyncCommand<Model, Real> {
  public constructor(
    private readonly index: number,
    private readonly name: Name,
    private readonly failCreate: boolean
  ) {}
  public check = (m: Readonly<Model>) => m.invites.length > 0;
  public async run(m: Model, r: Real) {
    const i = m.invites[this.index % m.invites.length] as ModelInvite;
    const username = i.username ?? localpart(r, this.name);
    const status = statusOf(m, i);
    r.xmpp.failNextCreate = this.failCreate;
    const code = await codeOf(redeemInvite(deps(r), i.token, { username, password: PASSWORD }));
    r.xmpp.failNextCreate = false;

    if (status === 'revoked' || status === 'expired') {
      expect(code).toBe(`token-${status}`);
    } else if (i.names.has(username)) {
      // The same request again: answered from the completed claim, nothing
      // created; with another password it is no retry: token-used.
      expect(code).toBe(i.names.get(username) === PASSWORD ? 'ok' : 'token-used');
    } else if (status === 'used') {
      // Both conditions of the claim fail; either answer is right.
      expect(m.taken.has(username) ? ['token-used', 'username-taken'] : ['token-used']).toContain(code);
    } else if (m.taken.has(username)) {
      expect(code).toBe('username-taken');
    } else if (this.failCreate) {
      expect(code).toBe('xmpp-unavailable');
    } else if (m.existing.has(username)) {
      expect(code).toBe('username-taken');
    } else {
      expect(code).toBe('ok');
      i.uses += 1;
      i.names.set(username, PASSWORD);
      m.taken.add(username);
      m.expectedCreated.push(`${username}@${DOMAIN}`);
    }
    await checkInvariants(m, r);
  }
  public toString = () => `redeem(#${this.index}, ${JSON.stringify(this.name)}${this.failCreate ? ', xmpp fails' : ''})`;
}

/**
 * k redeems of one invite at the same time: each with its own name; or all
 * naming an account that already exists (the same request k times: a
 * takeover attempt if the service ever adopted existing accounts); or the
 * same request k times for a new name (a client retrying impatiently).
 */
class ConcurrentRedeemCommand implements fc.AsyncCommand<Model, Real> {
  public constructor(
    private readonly index: number,
    private readonly k: number,
    private readonly existing: boolean,
    private readonly same = false
  ) {}
  public check = (m: Readonly<Model>) => m.invites.length > 0;
  public async run(m: Model, r: Real) {
    const i = m.invites[this.index % m.invites.length] as ModelInvite;
    const status = statusOf(m, i);
    if (this.existing && !i.username) {
      const victim = r.inviter.split('@')[0] as string;
      const codes = await Promise.all(
        Array.from({ length: this.k }, () => codeOf(redeemInvite(deps(r), i.token, { username: victim, password: PASSWORD })))
      );
      const allowed = status === 'valid' ? ['username-taken', 'redemption-in-progress'] : [`token-${status}`, 'username-taken'];
      for (const c of codes) expect(allowed).toContain(c);
      return checkInvariants(m, r);
    }
    if (this.same && status === 'valid' && !i.username) {
      // One request, k copies: one account, one use; the copies answer ok
      // (after completion) or redemption-in-progress (while it runs).
      const username = uniqueName(r.prefix);
      const codes = await Promise.all(
        Array.from({ length: this.k }, () => codeOf(redeemInvite(deps(r), i.token, { username, password: PASSWORD })))
      );
      expect(codes, codes.join(',')).toContain('ok');
      for (const c of codes) expect(['ok', 'redemption-in-progress']).toContain(c);
      i.uses += 1;
      i.names.set(username, PASSWORD);
      m.taken.add(username);
      m.expectedCreated.push(`${username}@${DOMAIN}`);
      return checkInvariants(m, r);
    }
    const names = Array.from({ length: this.k }, () => i.username ?? uniqueName(r.prefix));
    // A preset invite redeemed by k people at once: same name, each their own
    // password.
    const passwordOf = (n: number) => (i.username ? `${PASSWORD} ${n}` : PASSWORD);
    const codes = await Promise.all(
      names.map((username, n) => codeOf(redeemInvite(deps(r), i.token, { username, password: passwordOf(n) })))
    );
    const winners = names.filter((_, n) => codes[n] === 'ok');
    if (status === 'revoked' || status === 'expired') {
      expect(codes.every((c) => c === `token-${status}`)).toBe(true);
    } else if (i.username && i.names.has(i.username)) {
      // Replays of a completed redemption: ok only with the password it was created with.
      const created = i.names.get(i.username);
      expect(codes).toEqual(codes.map((_, n) => (passwordOf(n) === created ? 'ok' : 'token-used')));
      return checkInvariants(m, r);
    } else if (status !== 'valid') {
      expect(winners).toEqual([]);
    } else if (i.username) {
      // One account; the others see it in progress or taken (or a completed claim's answer).
      expect(new Set(winners).size, codes.join(',')).toBe(1);
      for (const c of codes.filter((c) => c !== 'ok')) expect(['redemption-in-progress', 'username-taken', 'token-used']).toContain(c);
    } else {
      expect(winners).toHaveLength(Math.min(this.k, i.maxUses - i.uses));
      for (const c of codes.filter((c) => c !== 'ok')) expect(c).toBe('token-used');
    }
    // A replay of the same request answers ok without creating anything: count distinct names.
    for (const username of new Set(winners)) {
      i.uses += 1;
      i.names.set(username, passwordOf(names.findIndex((name, n) => name === username && codes[n] === 'ok')));
      m.taken.add(username);
      m.expectedCreated.push(`${username}@${DOMAIN}`);
    }
    await checkInvariants(m, r);
  }
  public toString = () =>
    `redeemConcurrently(#${this.index}, k=${this.k}${this.existing ? ', existing account' : ''}${this.same ? ', same request' : ''})`;
}

class RevokeCommand implements fc.AsyncCommand<Model, Real> {
  public constructor(private readonly index: number) {}
  public check = (m: Readonly<Model>) => m.invites.length > 0;
  public async run(m: Model, r: Real) {
    const i = m.invites[this.index % m.invites.length] as ModelInvite;
    await revokeInvite(deps(r), ADMIN, i.id);
    i.revoked = true;
    await checkInvariants(m, r);
  }
  public toString = () => `revoke(#${this.index})`;
}

class AdvanceClockCommand implements fc.AsyncCommand<Model, Real> {
  public constructor(private readonly seconds: number) {}
  public check = () => true;
  public async run(m: Model, r: Real) {
    m.now += this.seconds;
    r.clock.now = () => m.now;
    await checkInvariants(m, r);
  }
  public toString = () => `advance(${this.seconds}s)`;
}

const name = fc.oneof(
  fc.record({ shared: fc.integer({ min: 0, max: 2 }) }),
  fc.constant({ fresh: true as const }),
  fc.constant({ existing: true as const })
);
const index = fc.nat({ max: 20 });
const commands = [
  fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 60, max: 600 }), fc.boolean()).map(([u, t, p]) => new IssueCommand(u, t, p)),
  index.map((i) => new CheckCommand(i)),
  fc.tuple(index, name, fc.boolean()).map(([i, n, f]) => new RedeemCommand(i, n, f)),
  fc
    .tuple(index, fc.integer({ min: 2, max: 4 }), fc.boolean(), fc.boolean())
    .map(([i, k, e, same]) => new ConcurrentRedeemCommand(i, k, e, same)),
  index.map((i) => new RevokeCommand(i)),
  fc.integer({ min: 1, max: 400 }).map((s) => new AdvanceClockCommand(s)),
];

let store: DynamoDBInviteStore;

beforeAll(() => {
  store = new DynamoDBInviteStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
});

describe('Invite state machine (property, DynamoDB Local + recording provisioner)', () => {
  it('keeps uses <= maxUses, creates accounts only from valid invites, exactly one per successful redeem', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 14 }), async (cmds) => {
        const start = Math.floor(Date.now() / 1000);
        const setup = () => {
          const xmpp = new RecordingProvisioner();
          const prefix = uniqueName('sm');
          const inviter = `${prefix}inviter@${DOMAIN}`;
          xmpp.accounts.set(inviter, INVITER_PASSWORD);
          // The inviter's account exists on the server before any redeem.
          const model: Model = {
            now: start,
            invites: [],
            taken: new Set(),
            existing: new Set([inviter.split('@')[0] as string]),
            expectedCreated: [],
          };
          const real: Real = { store, xmpp, clock: { now: () => start }, prefix, inviter };
          return { model, real };
        };
        await fc.asyncModelRun(setup, cmds);
      }),
      { numRuns: 100 }
    );
  }, 240_000);
});
