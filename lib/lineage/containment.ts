/**
 * Containment along the lineage: revoke an account's live invites (and, for a
 * subtree, those of everyone it brought in), suspend an account, and what
 * happens when a server reports an account deleted. Every read is a Query or
 * a GetItem, never a Scan; every request does bounded work.
 */
import { InviteError } from '../errors.js';
import { formatJid, parseBareJid } from '../jid.js';
import { type Actor, assertDomainInScope } from '../invites/actor.js';
import { moduleDomain } from '../invites/serverModule.js';
import type { Clock } from '../ports/Clock.js';
import type { InviteStore } from '../ports/InviteStore.js';
import type { LineageStore } from '../ports/LineageStore.js';

export interface ContainmentDeps {
  store: Pick<InviteStore, 'list' | 'revoke'>;
  lineage: LineageStore;
  clock: Clock;
}

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
  options: { dryRun: boolean; limit: number; cursor?: string }
): Promise<{ ids: string[]; cursor?: string }> => {
  const now = clock.now();
  const page = await store.list({ inviter: jid, status: 'valid', limit: options.limit, cursor: options.cursor, now });
  if (!options.dryRun) for (const invite of page.items) await store.revoke(invite.id, now);
  return { ids: page.items.map((i) => i.id), cursor: page.cursor };
};

/** Every live invite of one account, up to MAX_OWN_INVITES_PER_CALL. */
export const revokeAllLive = async (deps: Pick<ContainmentDeps, 'store' | 'clock'>, jid: string): Promise<string[]> => {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await revokeLivePage(deps, jid, { dryRun: false, limit: INVITE_PAGE, cursor });
    ids.push(...page.ids);
    cursor = page.cursor;
  } while (cursor && ids.length < MAX_OWN_INVITES_PER_CALL);
  return ids;
};

/**
 * `POST /xmpp/account-deleted`: the account is gone from its server. Its live
 * invites are revoked at once (an invite of a deleted inviter would link the
 * next account with a name that may be given to someone else), and its
 * lineage record is kept, marked deleted, so the tree stays whole.
 * Idempotent.
 */
export const accountDeleted = async (deps: ContainmentDeps, actor: Actor, input: { domain?: unknown; jid?: unknown }) => {
  const domain = moduleDomain(actor, input.domain);
  const jid = formatJid(parseBareJid(input.jid));
  if (parseBareJid(jid).domain !== domain) throw new InviteError('forbidden', `${jid} is not an account of ${domain}`);
  const revoked = await revokeAllLive(deps, jid);
  const record = await deps.lineage.setStatus(jid, 'deleted', deps.clock.now());
  return { jid, status: record.status, revoked: revoked.length, revokedIds: revoked };
};

/** The subject of an admin containment call: a JID of the key's domains, admin keys only. */
export const containmentSubject = (actor: Actor, raw: unknown): string => {
  const jid = parseBareJid(raw);
  assertDomainInScope(actor, jid.domain);
  if (!actor.admin) throw new InviteError('forbidden', 'containment needs an admin key');
  return formatJid(jid);
};
