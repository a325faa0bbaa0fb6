/**
 * Containment along the lineage: revoke an account's live invites (and, for a
 * subtree, those of everyone it brought in), suspend an account, and what
 * happens when a server reports an account deleted. Every read is a Query or
 * a GetItem, never a Scan; every request does bounded work.
 */
import { InviteError } from '../errors.js';
import { formatJid, parseBareJid } from '../jid.js';
import { type Actor, assertDomainInScope } from '../invites/actor.js';
import type { ModuleDomain } from '../invites/serverModule.js';
import type { Clock } from '../ports/Clock.js';
import type { Invite } from '../invites/Invite.js';
import type { InviteStore } from '../ports/InviteStore.js';
import type { LineageStore } from '../ports/LineageStore.js';
import type { ContainmentEvents } from '../ports/ContainmentEvents.js';
import type { ApiKeyStore } from '../ports/ApiKeyStore.js';
import { keySource } from '../apiKeys/apiKeys.js';

export interface ContainmentDeps {
  store: Pick<InviteStore, 'list' | 'revoke'>;
  lineage: LineageStore;
  clock: Clock;
  /** Where containment actions are announced (signed webhooks); none in tests that do not look. */
  events?: ContainmentEvents;
  /** The work of one subtree revoke request; default MAX_INVITES_PER_REQUEST, MAX_QUERIES_PER_REQUEST. */
  limits?: { invites: number; queries: number };
  /**
   * The sources of the invites an account created from its app without being
   * their inviter (XEP-0401 create-account without roster subscription):
   * `xmpp-server:<key>:<jid>`, one per module key of its domain.
   */
  appSources?: (jid: string) => Promise<string[]>;
}

/** The app sources of an account: one per xmpp-server key that serves its domain (a Query of the keys, few). */
export const moduleSources =
  (keys: Pick<ApiKeyStore, 'list'>) =>
  async (jid: string): Promise<string[]> => {
    const domain = jid.slice(jid.indexOf('@') + 1);
    return (await keys.list())
      .filter((k) => k.kind === 'xmpp-server' && k.domains.includes(domain))
      .map((k) => `${keySource(k)}:${jid}`)
      .sort();
  };

/** Live invites read (and revoked) per page. */
const INVITE_PAGE = 100;
/** At most this many of one account's live invites are revoked in one call (quotas keep an inviter far below). */
export const MAX_OWN_INVITES_PER_CALL = 1000;

/**
 * One page of the live invites `jid` issued as their inviter (byInviter,
 * filtered to valid), revoked unless `dryRun`. Returns their ids and the
 * cursor of the rest.
 */
export const revokeLivePage = async (
  { store, clock }: Pick<ContainmentDeps, 'store' | 'clock'>,
  jid: string,
  options: { dryRun: boolean; limit: number; cursor?: string; source?: string }
): Promise<{ ids: string[]; cursor?: string }> => {
  const now = clock.now();
  const by = options.source === undefined ? { inviter: jid } : { source: options.source };
  const page = await store.list({ ...by, status: 'valid', limit: options.limit, cursor: options.cursor, now });
  if (!options.dryRun) for (const invite of page.items) await store.revoke(invite.id, now);
  return { ids: page.items.map((i) => i.id), cursor: page.cursor };
};

/** Every live invite of one account, up to MAX_OWN_INVITES_PER_CALL. */
export const revokeAllLive = async (
  deps: Pick<ContainmentDeps, 'store' | 'clock' | 'appSources'>,
  jid: string,
  sources?: string[]
): Promise<string[]> => {
  const ids: string[] = [];
  // Invites naming the account as inviter, then those it created from its app without being their inviter.
  for (const source of [undefined, ...(sources ?? (await deps.appSources?.(jid)) ?? [])]) {
    let cursor: string | undefined;
    do {
      const page = await revokeLivePage(deps, jid, { dryRun: false, limit: INVITE_PAGE, cursor, source });
      ids.push(...page.ids);
      cursor = page.cursor;
    } while (cursor && ids.length < MAX_OWN_INVITES_PER_CALL);
  }
  return ids;
};

/**
 * `POST /xmpp/account-deleted`: the account is gone from its server. Its live
 * invites are revoked at once (an invite of a deleted inviter would link the
 * next account with a name that may be given to someone else), and its
 * lineage record is kept, marked deleted, so the tree stays whole.
 * Idempotent.
 */
export const accountDeleted = async (deps: ContainmentDeps, actor: Actor, input: { domain: ModuleDomain; jid?: unknown }) => {
  const { domain } = input;
  const jid = formatJid(parseBareJid(input.jid));
  if (parseBareJid(jid).domain !== domain) throw new InviteError('forbidden', `${jid} is not an account of ${domain}`);
  // Marked first: from here no new invite names it (assertMayInvite), then the live ones go.
  const record = await deps.lineage.setStatus(jid, 'deleted', deps.clock.now());
  // Also the invites this server's module created for the account without naming it inviter: its own source.
  const revoked = await revokeAllLive(deps, jid, [`${actor.source}:${jid}`]);
  return { jid, status: record.status, revoked: revoked.length, revokedIds: revoked };
};

/** The subject of an admin containment call: a JID of the key's domains, admin keys only. */
export const containmentSubject = (actor: Actor, raw: unknown): string => {
  const jid = parseBareJid(raw);
  assertDomainInScope(actor, jid.domain);
  if (!actor.admin) throw new InviteError('forbidden', 'containment needs an admin key');
  return formatJid(jid);
};

/** Per request of a subtree revoke: at most this many invites and this many Queries; a cursor continues. */
export const MAX_INVITES_PER_REQUEST = 200;
export const MAX_QUERIES_PER_REQUEST = 40;
/** Invitees read per Query while walking down. */
const CHILD_PAGE = 25;

/** One account on the walk: its live invites (`i`), then its invitees (`c`), read a page at a time. */
interface Frame {
  j: string;
  p: 'i' | 'c';
  /** In `i`: which list of live invites (0: as inviter; n: the n-th app source). */
  x?: number;
  /** The page cursor within the phase; `null` once the invitees are all read. */
  c?: string | null;
  /** Invitees read but not yet walked. */
  k?: string[];
}

interface WalkState {
  r: string;
  s: boolean;
  d: boolean;
  st: Frame[];
}

const encodeWalk = (state: WalkState) => Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');

const badCursor = () => new InviteError('cursor-invalid', 'cursor is not one this service returned for this request');

/** A cursor names accounts to act on: each is checked against the key's domains again, and it must be this very request's. */
const decodeWalk = (actor: Actor, cursor: string, root: string, subtree: boolean, dryRun: boolean): WalkState => {
  let state: WalkState;
  try {
    state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as WalkState;
  } catch {
    throw badCursor();
  }
  if (typeof state !== 'object' || state === null || state.r !== root || state.s !== subtree || state.d !== dryRun) throw badCursor();
  if (!Array.isArray(state.st) || state.st.length === 0) throw badCursor();
  for (const f of state.st) {
    if (typeof f !== 'object' || f === null || (f.p !== 'i' && f.p !== 'c')) throw badCursor();
    if (f.x !== undefined && (!Number.isInteger(f.x) || f.x < 0 || f.x > 100)) throw badCursor();
    if (f.c !== undefined && f.c !== null && typeof f.c !== 'string') throw badCursor();
    if (f.k !== undefined && (!Array.isArray(f.k) || f.k.some((j) => typeof j !== 'string'))) throw badCursor();
    for (const jid of [f.j, ...(f.k ?? [])]) {
      let parsed: ReturnType<typeof parseBareJid>;
      try {
        parsed = parseBareJid(jid);
      } catch {
        throw badCursor();
      }
      if (formatJid(parsed) !== jid) throw badCursor();
      assertDomainInScope(actor, parsed.domain);
    }
  }
  return state;
};

export interface RevokeLineageInput {
  subtree?: unknown;
  dryRun?: unknown;
  cursor?: unknown;
}

/**
 * `POST /lineage/{jid}/revoke`: revokes every live invite of the account and,
 * with `subtree`, of every account below it (depth first, by Query). A dry
 * run answers the same counts and ids and changes nothing. Bounded per
 * request (MAX_INVITES_PER_REQUEST, MAX_QUERIES_PER_REQUEST): `cursor` says
 * where to continue, null once the walk is done.
 */
export const revokeLineage = async (deps: ContainmentDeps, actor: Actor, rawJid: unknown, input: RevokeLineageInput) => {
  const jid = containmentSubject(actor, rawJid);
  if (input.subtree !== undefined && typeof input.subtree !== 'boolean')
    throw new InviteError('invalid-request', 'subtree is true or false');
  if (input.dryRun !== undefined && typeof input.dryRun !== 'boolean') throw new InviteError('invalid-request', 'dryRun is true or false');
  if (input.cursor !== undefined && typeof input.cursor !== 'string') throw badCursor();
  const subtree = input.subtree === true;
  const dryRun = input.dryRun === true;
  const state: WalkState = input.cursor
    ? decodeWalk(actor, input.cursor, jid, subtree, dryRun)
    : { r: jid, s: subtree, d: dryRun, st: [{ j: jid, p: 'i' }] };
  const ids: string[] = [];
  const accounts = new Set<string>();
  /** Whose live invites these are: the count per account, in walk order. */
  const byAccount = new Map<string, number>();
  let queries = 0;
  const maxInvites = deps.limits?.invites ?? MAX_INVITES_PER_REQUEST;
  const maxQueries = deps.limits?.queries ?? MAX_QUERIES_PER_REQUEST;
  const known = new Map<string, string[]>();
  const sourcesOf = async (account: string) => {
    if (!known.has(account)) known.set(account, (await deps.appSources?.(account)) ?? []);
    return known.get(account) as string[];
  };
  while (state.st.length > 0 && queries < maxQueries && ids.length < maxInvites) {
    const top = state.st[state.st.length - 1] as Frame;
    accounts.add(top.j);
    if (top.p === 'i') {
      const lists = [undefined, ...(await sourcesOf(top.j))];
      const x = top.x ?? 0;
      const page =
        x < lists.length
          ? await revokeLivePage(deps, top.j, {
              dryRun,
              limit: Math.min(INVITE_PAGE, maxInvites - ids.length),
              cursor: top.c ?? undefined,
              source: lists[x],
            })
          : { ids: [] };
      queries++;
      ids.push(...page.ids);
      if (page.ids.length > 0) byAccount.set(top.j, (byAccount.get(top.j) ?? 0) + page.ids.length);
      if (page.cursor) {
        top.c = page.cursor;
      } else if (x + 1 < lists.length) {
        state.st[state.st.length - 1] = { j: top.j, p: 'i', x: x + 1 };
      } else if (subtree) {
        state.st[state.st.length - 1] = { j: top.j, p: 'c' };
      } else {
        state.st.pop();
      }
      continue;
    }
    const next = top.k?.shift();
    if (next !== undefined) {
      state.st.push({ j: next, p: 'i' });
      continue;
    }
    if (top.c === null) {
      state.st.pop();
      continue;
    }
    const page = await deps.lineage.invitees(top.j, { limit: CHILD_PAGE, cursor: top.c });
    queries++;
    top.k = page.items.map((r) => r.jid);
    top.c = page.cursor ?? null;
  }
  const cursor = state.st.length > 0 ? encodeWalk(state) : null;
  if (!dryRun && ids.length > 0) {
    await deps.events?.emit({
      type: 'lineage.revoked',
      at: deps.clock.now(),
      jid,
      actor: actor.source,
      revoked: ids,
      subtree,
      complete: cursor === null,
    });
  }
  return {
    jid,
    subtree,
    dryRun,
    revoked: ids.length,
    inviteIds: ids,
    accounts: accounts.size,
    byAccount: [...byAccount].map(([account, invites]) => ({ jid: account, invites })),
    cursor,
  };
};

/**
 * `POST /lineage/{jid}/suspend`: the account's live invites are revoked and
 * its future invites refused (assertMayInvite) until lifted. Idempotent.
 */
export const suspendAccount = async (deps: ContainmentDeps, actor: Actor, rawJid: unknown) => {
  const jid = containmentSubject(actor, rawJid);
  const record = await deps.lineage.setStatus(jid, 'suspended', deps.clock.now());
  const revoked = await revokeAllLive(deps, jid);
  if (record.status === 'suspended') {
    await deps.events?.emit({ type: 'account.suspended', at: deps.clock.now(), jid, actor: actor.source, revoked });
  }
  return { jid, status: record.status, revoked: revoked.length, inviteIds: revoked };
};

/** `POST /lineage/{jid}/unsuspend`: the account may invite again (its revoked invites stay revoked). */
export const unsuspendAccount = async (deps: ContainmentDeps, actor: Actor, rawJid: unknown) => {
  const jid = containmentSubject(actor, rawJid);
  const before = await deps.lineage.get(jid);
  if (before?.status !== 'suspended') return { jid, status: before?.status ?? 'active' };
  const record = await deps.lineage.setStatus(jid, 'active', deps.clock.now());
  await deps.events?.emit({ type: 'account.unsuspended', at: deps.clock.now(), jid, actor: actor.source, revoked: [] });
  return { jid, status: record.status };
};

/**
 * The live invites a source (an API key: `api-key:<id prefix>`) issued on
 * these domains, revoked unless `dryRun`: `invites-admin keys revoke ID
 * --revoke-invites` and the console's key revoke (lib/apiKeys/manageKeys.ts). A Query per page of each domain's byDomain partition
 * (filtered to live invites), the page's invites read and kept when their
 * source matches; never a Scan. An operator's command, not a request path:
 * its cost grows with the domains' live invites.
 */
export const revokeSourceInvites = async (
  deps: Pick<ContainmentDeps, 'store' | 'clock'>,
  source: string,
  domains: readonly string[],
  options: { dryRun?: boolean } = {}
): Promise<string[]> => {
  const ids: string[] = [];
  // A server's key (`xmpp-server:<id prefix>`) issues as `<its source>:<user>`: those are its invites too.
  const issuedBy = (i: Invite) => i.source === source || i.source.startsWith(`${source}:`);
  for (const domain of domains) ids.push(...(await revokeListed(deps, { domain }, issuedBy, options)));
  return ids;
};

const SIGNUP_SOURCE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The source of the invites a signup form (SIGNUP_SOURCES) issues: its deliveries' actor (lib/webhooks/signup.ts). */
export const signupInviteSource = (name: string): string => {
  if (!SIGNUP_SOURCE_NAME.test(name)) throw new InviteError('invalid-request', 'a signup source name is 1-64 of A-Z a-z 0-9 _ -');
  return `webhook:${name}`;
};

/**
 * The live invites of a signup source, revoked unless `dryRun`: `invites-admin
 * sources revoke-invites NAME`, for a form that is removed or abused. A signup
 * source always has a live-invite cap, so every invite it issued is counted by
 * source: a Query of the sparse bySource index per page, never a Scan. The
 * source need not be configured any more. Revokes with the same path as
 * revokeSourceInvites.
 */
export const revokeSignupSourceInvites = async (
  deps: Pick<ContainmentDeps, 'store' | 'clock'>,
  name: string,
  options: { dryRun?: boolean } = {}
): Promise<string[]> => revokeListed(deps, { source: signupInviteSource(name) }, () => true, options);

/** Every live invite of one listing (page by page, by Query), those `keep` picks revoked unless `dryRun`. */
const revokeListed = async (
  { store, clock }: Pick<ContainmentDeps, 'store' | 'clock'>,
  by: { domain: string } | { source: string },
  keep: (invite: Invite) => boolean,
  options: { dryRun?: boolean }
): Promise<string[]> => {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const now = clock.now();
    const page = await store.list({ ...by, status: 'valid', limit: 200, cursor, now });
    for (const invite of page.items.filter(keep)) {
      if (!options.dryRun) await store.revoke(invite.id, now);
      ids.push(invite.id);
    }
    cursor = page.cursor;
  } while (cursor);
  return ids;
};
