import { InviteError } from '../errors.js';
import { parseBareJid, formatJid } from '../jid.js';
import type { Clock } from '../ports/Clock.js';
import type { InviteStore } from '../ports/InviteStore.js';
import { isWellFormedId } from '../token.js';
import { assertDomainInScope, type Actor } from './actor.js';
import { InviteStatuses, InviteTypes, type InviteStatus, type InviteType } from './Invite.js';
import { adminView } from './views.js';
import { servedDomain } from './domains.js';
import { intParam } from '../queryParams.js';

export interface AdminDeps {
  store: InviteStore;
  clock: Clock;
  config: { domains: string[]; defaultDomain: string };
}

export interface ListInput {
  domain?: string;
  inviter?: string;
  status?: string;
  /** account, contact or reset. */
  type?: string;
  /** Who issued them (an invite's `source`: `api-key:<id>`, `webhook:<name>`, `cli`, `xmpp-server:<key>[:<user>]`); sources below it match too. */
  source?: string;
  /** A number, or the query string's digits. */
  limit?: number | string;
  cursor?: string;
}

export const listInvites = async ({ store, clock, config }: AdminDeps, actor: Actor, input: ListInput) => {
  let inviter: string | undefined;
  let domain: string | undefined;
  if (input.inviter !== undefined) {
    const jid = parseBareJid(input.inviter);
    inviter = formatJid(jid);
    assertDomainInScope(actor, jid.domain);
  }
  if (input.domain !== undefined) {
    domain = servedDomain(config, input.domain);
  } else if (!inviter) {
    // Default to the one domain the key can see, or the deployment's default.
    const scoped = actor.domains.filter((d) => d !== '*');
    domain = scoped.length === 1 ? scoped[0] : config.defaultDomain;
  }
  if (domain) assertDomainInScope(actor, domain);
  if (input.status !== undefined && !InviteStatuses.includes(input.status as InviteStatus)) {
    throw new InviteError('invalid-request', `status must be one of ${InviteStatuses.join(', ')}`);
  }
  if (input.type !== undefined && !InviteTypes.includes(input.type as InviteType)) {
    throw new InviteError('invalid-request', `type must be one of ${InviteTypes.join(', ')}`);
  }
  if (input.source !== undefined && !SOURCE.test(input.source)) {
    throw new InviteError('invalid-request', 'source must be an invite source such as api-key:<id>, webhook:<name> or cli');
  }
  const limit = intParam(input.limit, 'limit', 1, 200, 50);
  const now = clock.now();
  const page = await store.list({
    domain,
    inviter,
    source: ownInvitesOnly(actor) ? actor.source : undefined,
    status: input.status as InviteStatus | undefined,
    type: input.type as InviteType | undefined,
    issuedBy: input.source,
    limit,
    cursor: input.cursor,
    now,
  });
  return { items: page.items.map((i) => adminView(i, now)), cursor: page.cursor ?? null };
};

/** What an invite's source looks like: printable, without spaces, bounded (the XMPP user of an app source included). */
const SOURCE = /^[a-z][a-z-]{0,30}(:[^\s\p{Cc}]{1,1100})?$/u;

/**
 * A quota-limited key sees, shows and revokes only the invites it issued
 * (their notes may hold a stranger's email); an admin key all of its domains'.
 */
const ownInvitesOnly = (actor: Actor): boolean => !actor.admin;

/**
 * The invite of `id` if the actor may see it. Show reads its redemptions too
 * (a Query of its partition); revoke reads only the invite (a consistent
 * GetItem): the revoking roles (RevokeInviteRole, AdminConsoleRole) may not
 * Query the table's invite partitions for nothing.
 */
const loadInScope = async (store: InviteStore, actor: Actor, id: unknown, read: 'with-redemptions' | 'invite') => {
  if (!isWellFormedId(id)) throw new InviteError('invite-not-found', 'no invite with this id');
  const found =
    read === 'with-redemptions'
      ? await store.getWithRedemptions(id)
      : await store.get(id, { consistent: true }).then((invite) => invite && { invite, redemptions: [] });
  if (!found) throw new InviteError('invite-not-found', 'no invite with this id');
  assertDomainInScope(actor, found.invite.domain);
  // Another key's invite is no invite here: the same answer as an unknown id.
  if (ownInvitesOnly(actor) && found.invite.source !== actor.source) {
    throw new InviteError('invite-not-found', 'no invite with this id');
  }
  return found;
};

export const showInvite = async ({ store, clock }: AdminDeps, actor: Actor, id: unknown) => {
  const { invite, redemptions } = await loadInScope(store, actor, id, 'with-redemptions');
  return adminView(invite, clock.now(), redemptions);
};

/** Idempotent: revoking a revoked invite succeeds and keeps the first revocation time. */
export const revokeInvite = async ({ store, clock }: AdminDeps, actor: Actor, id: unknown) => {
  const { invite } = await loadInScope(store, actor, id, 'invite');
  const revoked = await store.revoke(invite.id, clock.now());
  if (!revoked) throw new InviteError('invite-not-found', 'no invite with this id');
  return revoked;
};
