import { InviteError } from '../errors.js';

/** Who calls an admin use case: an API key, a signed webhook source, the CLI, an XMPP server's module. */
export interface Actor {
  /** Recorded as the invite's `source`: `api-key:<id>`, `webhook:<source>`, `cli`, `xmpp-server:<id>`. */
  source: string;
  /** Domains this actor may act on; `*` for all served domains. */
  domains: readonly string[];
  /** Admins may issue unlimited invites and are exempt from quotas. */
  admin: boolean;
  /** Live invites this actor (its `source`) may hold at once; undefined = no quota. */
  maxLiveInvites?: number;
  /**
   * May issue `reset` invites, which set a password on an existing account:
   * an explicit grant, never implied by being an admin.
   */
  allowReset?: boolean;
  /**
   * Inviter JIDs this actor may name (roster pre-approval writes into that
   * person's roster): `any`, or a list. Undefined: `any` for admins, none otherwise.
   */
  inviters?: 'any' | readonly string[];
  /** The API key's name, for the audit trail (lib/ports/AdminAudit.ts). */
  keyName?: string;
  /** The user an actor acts for (an app's invite): the invitation policy counts that user's invites (lib/invites/policy.ts). */
  onBehalfOf?: string;
}

export const assertDomainInScope = (actor: Actor, domain: string): void => {
  if (!actor.domains.includes('*') && !actor.domains.includes(domain)) {
    throw new InviteError('forbidden', `this key may not manage invites for ${domain}`);
  }
};

/** Naming someone as inviter puts a stranger into their roster: only JIDs the actor was granted. */
export const assertMayNameInviter = (actor: Actor, inviter: string): void => {
  const granted = actor.inviters ?? (actor.admin ? 'any' : []);
  if (granted !== 'any' && !granted.includes(inviter)) {
    throw new InviteError('forbidden', `this key may not issue invites on behalf of ${inviter}`);
  }
};

export const assertMayIssueReset = (actor: Actor): void => {
  if (actor.allowReset !== true) {
    throw new InviteError('forbidden', 'this key may not issue password reset invites');
  }
};
