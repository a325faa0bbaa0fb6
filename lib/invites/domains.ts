/** The two domain rules every use case shares, written once. */
import { InviteError } from '../errors.js';
import { normalizeDomain } from '../jid.js';
import type { Invite } from './Invite.js';

/**
 * The request's domain (normalized; `defaultDomain` when it names none), if
 * this service serves it: `domain-not-served` otherwise.
 */
export const servedDomain = (config: { domains: readonly string[]; defaultDomain: string }, raw: unknown): string => {
  const domain = raw === undefined ? config.defaultDomain : normalizeDomain(raw);
  if (!config.domains.includes(domain)) {
    throw new InviteError('domain-not-served', `this service does not serve ${domain}`);
  }
  return domain;
};

/**
 * A token of another domain is no token here: the same answer as an unknown
 * one, so a server cannot probe invites of the domains it does not host.
 */
export const assertInviteOfDomain = (invite: Invite, domain: string): void => {
  if (invite.domain !== domain) throw new InviteError('token-invalid', 'no such invite');
};
