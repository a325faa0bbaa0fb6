/**
 * Lineage: who brought an account in, kept for the life of the account (not
 * of the invite, which TTL deletes). One record per account made through this
 * service: redeemed on the web, through the API or in an app, or registered
 * without an invite.
 */
import type { Invite } from '../invites/Invite.js';

export type JoinedVia = 'web' | 'app' | 'api';
export const JoinedVias: readonly JoinedVia[] = ['web', 'app', 'api'];

export type LineageStatus = 'active' | 'suspended' | 'deleted';

/** The source of an account registered without an invite. */
export const OPEN_REGISTRATION = 'open-registration';
/** The source of a record made for an account this service did not create (suspended or deleted by the operator). */
export const EXTERNAL = 'external';

export interface LineageRecord {
  jid: string;
  domain: string;
  /** The inviting account; null when an API key, a signup source or open registration brought it in. */
  invitedBy: string | null;
  inviteId: string | null;
  /** The invite's source (`api-key:<id>`, `webhook:<source>`, `cli`, `xmpp-server:<key>:<user>`) or `open-registration`. */
  source: string;
  /** Epoch seconds; for EXTERNAL, when the service first saw it invite (MIN_ACCOUNT_AGE_TO_INVITE), else 0 (unknown). */
  joinedAt: number;
  via: JoinedVia | null;
  status: LineageStatus;
  deletedAt?: number;
  suspendedAt?: number;
  /** False: read from a redemption made before lineage records (the claim and its invite). */
  recorded: boolean;
}

/** An app-created invite (XEP-0401 ad-hoc) names its user in its source, `xmpp-server:<key>:<user>`, even without an inviter. */
const APP_USER = /^xmpp-server:[^:]+:([^:]+@[^:]+)$/;

/** The account that brought in whoever redeems this invite, if any. */
export const inviterOf = (invite: Pick<Invite, 'inviter' | 'source'>): string | null =>
  invite.inviter ?? APP_USER.exec(invite.source)?.[1] ?? null;

/** Where a record hangs in the tree: under its inviting account, else under its source. */
export const parentOf = (record: Pick<LineageRecord, 'invitedBy' | 'source'>): string => record.invitedBy ?? record.source;

/** The record of an account just made with `invite` (or, without one, by open registration). */
export const newLineage = (jid: string, via: JoinedVia, now: number, invite?: Invite): LineageRecord => ({
  jid,
  domain: jid.slice(jid.indexOf('@') + 1),
  invitedBy: invite ? inviterOf(invite) : null,
  inviteId: invite?.id ?? null,
  source: invite?.source ?? OPEN_REGISTRATION,
  joinedAt: now,
  via,
  status: 'active',
  recorded: true,
});

/** What is known of an account this service did not make (it may still have invited others through it). */
export const externalLineage = (jid: string): LineageRecord => ({
  jid,
  domain: jid.slice(jid.indexOf('@') + 1),
  invitedBy: null,
  inviteId: null,
  source: EXTERNAL,
  joinedAt: 0,
  via: null,
  status: 'active',
  recorded: false,
});
