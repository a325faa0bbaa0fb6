import { InviteError } from '../errors.js';

/** Who calls an admin use case: an API key, a signed webhook source, the CLI. */
export interface Actor {
  /** Recorded as the invite's `source`: `api-key:<id>`, `webhook:<source>`, `cli`. */
  source: string;
  /** Domains this actor may act on; `*` for all served domains. */
  domains: readonly string[];
  /** Admins may issue unlimited invites and are exempt from quotas. */
  admin: boolean;
  /** Live invites this actor (its `source`) may hold at once; undefined = no quota. */
  maxLiveInvites?: number;
}

export const assertDomainInScope = (actor: Actor, domain: string): void => {
  if (!actor.domains.includes('*') && !actor.domains.includes(domain)) {
    throw new InviteError('forbidden', `this key may not manage invites for ${domain}`);
  }
};
