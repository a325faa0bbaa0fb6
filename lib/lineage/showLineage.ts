/**
 * `GET /lineage/{jid}`: who brought an account in and whom it brought in,
 * for an admin key of the account's domain. Invitees are pages of one Query
 * each (never a Scan); `depth` > 1 returns the subtree, bounded in depth and
 * in the records it reads.
 */
import { InviteError } from '../errors.js';
import { formatJid, parseBareJid } from '../jid.js';
import { type Actor, assertDomainInScope } from '../invites/actor.js';
import { iso } from '../invites/views.js';
import type { LineageStore } from '../ports/LineageStore.js';
import { type LineageRecord, externalLineage } from './Lineage.js';
import { intParam } from '../queryParams.js';

export const MAX_LINEAGE_DEPTH = 5;
/** A subtree answer reads at most this many records; below that, pages stop with their cursor. */
export const MAX_SUBTREE_RECORDS = 500;
const DEFAULT_PAGE = 50;
const MAX_PAGE = 200;

export interface LineageDeps {
  lineage: LineageStore;
}

export interface LineageQuery {
  /** Numbers, or the query string's digits (intParam checks them). */
  depth?: number | string;
  limit?: number | string;
  cursor?: string;
}

export interface LineageView {
  jid: string;
  invitedBy: string | null;
  inviteId: string | null;
  source: string;
  via: LineageRecord['via'];
  joinedAt: string | null;
  status: LineageRecord['status'];
  deletedAt?: string;
  suspendedAt?: string;
  /** False: read from a redemption made before lineage records. */
  recorded: boolean;
  invitees?: { items: LineageView[]; cursor: string | null };
}

export const lineageView = (r: LineageRecord): LineageView => ({
  jid: r.jid,
  invitedBy: r.invitedBy,
  inviteId: r.inviteId,
  source: r.source,
  via: r.via,
  joinedAt: r.joinedAt > 0 ? (iso(r.joinedAt) as string) : null,
  status: r.status,
  ...(r.deletedAt !== undefined ? { deletedAt: iso(r.deletedAt) } : {}),
  ...(r.suspendedAt !== undefined ? { suspendedAt: iso(r.suspendedAt) } : {}),
  recorded: r.recorded,
});

/** Lineage routes change or reveal who is in a domain: admin keys of that domain only. */
export const lineageSubject = (actor: Actor, raw: unknown): string => {
  const jid = parseBareJid(raw);
  assertDomainInScope(actor, jid.domain);
  if (!actor.admin) throw new InviteError('forbidden', 'lineage needs an admin key');
  return formatJid(jid);
};

/** An account made outside this service is known here only by the accounts it brought in. */
const invitedOthers = async (lineage: LineageStore, jid: string) =>
  (await lineage.invitees(jid, { limit: 1 })).items.length > 0 ? externalLineage(jid) : undefined;

export const showLineage = async ({ lineage }: LineageDeps, actor: Actor, rawJid: unknown, query: LineageQuery = {}) => {
  const jid = lineageSubject(actor, rawJid);
  const depth = intParam(query.depth, 'depth', 1, MAX_LINEAGE_DEPTH, 1);
  const limit = intParam(query.limit, 'limit', 1, MAX_PAGE, DEFAULT_PAGE);
  if (query.cursor !== undefined && depth > 1) {
    throw new InviteError('invalid-request', 'a cursor pages the direct invitees: send it without depth');
  }
  const record = (await lineage.get(jid)) ?? (await invitedOthers(lineage, jid));
  if (!record) throw new InviteError('account-not-found', `this service has no record of ${jid}`);
  let budget = MAX_SUBTREE_RECORDS;
  const expand = async (node: LineageRecord, level: number, cursor?: string): Promise<LineageView> => {
    const view = lineageView(node);
    if (level > depth) return view;
    const page = await lineage.invitees(node.jid, { limit: Math.min(limit, Math.max(1, budget)), cursor });
    budget -= page.items.length;
    const items: LineageView[] = [];
    for (const child of page.items) items.push(budget > 0 ? await expand(child, level + 1) : lineageView(child));
    return { ...view, invitees: { items, cursor: page.cursor ?? null } };
  };
  return expand(record, 1, query.cursor);
};
