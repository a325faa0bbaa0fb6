/**
 * Containment: what bounds the invites one credential can make, and which
 * names nobody but an admin may hand out. One place per rule; the use cases
 * (issue, redeem, open registration, the server module) call these.
 */
import type { Config } from '../config.js';
import { InviteError } from '../errors.js';

/**
 * RFC 2142 role mailboxes and the usual service names: an account with such
 * a name receives mail or trust meant for the operator. `RESERVED_USERNAMES`
 * replaces this list; the provisioning accounts' localparts are always added.
 */
export const DEFAULT_RESERVED_USERNAMES = [
  'admin',
  'administrator',
  'root',
  'postmaster',
  'abuse',
  'hostmaster',
  'webmaster',
  'security',
  'support',
  'noc',
  'info',
  'xmpp',
  'www',
] as const;

/** Live invites per user on `POST /xmpp/invites` when `QUOTA_LIVE_INVITES_PER_INVITER` is unset. */
export const DEFAULT_MODULE_LIVE_INVITES_PER_USER = 10;

/** Live invites a signup source may hold when its `maxLiveInvites` is not set. */
export const DEFAULT_SIGNUP_SOURCE_LIVE_INVITES = 100;

type ReservedConfig = Partial<Pick<Config, 'reservedUsernames'>>;

/** Is this (normalized) username reserved? Without a configured list, the defaults. */
export const isReservedUsername = (config: ReservedConfig, username: string): boolean =>
  (config.reservedUsernames ?? (DEFAULT_RESERVED_USERNAMES as readonly string[])).includes(username);

/** A reserved name as a preset by a non-admin, or chosen by whoever registers: 409 `username-reserved`. */
export const assertNotReserved = (config: ReservedConfig, username: string): void => {
  if (isReservedUsername(config, username)) {
    throw new InviteError('username-reserved', `the username ${username} is reserved on this service; choose another`);
  }
};

/**
 * A module acts for its own users, never for the provisioning accounts or
 * the operator's `PROTECTED_JIDS`: naming one of them would put strangers
 * into an administrator's roster.
 */
export const assertMayActFor = (config: Pick<Config, 'protectedJids'>, jid: string): void => {
  if (config.protectedJids.includes(jid)) {
    throw new InviteError('forbidden', `${jid} is protected: a server module cannot create invites on its behalf`);
  }
};

/** The per-user cap on `POST /xmpp/invites`: the module's own limit only ever lowers the service's. */
export const moduleLiveInvitesPerUser = (config: Pick<Config, 'quotaLiveInvitesPerInviter'>, requested: number | undefined): number =>
  Math.min(requested ?? Number.POSITIVE_INFINITY, config.quotaLiveInvitesPerInviter ?? DEFAULT_MODULE_LIVE_INVITES_PER_USER);

/** The rate-limit rule of one module key's invites per hour (lib/abuse/rateLimit.ts counts it). */
export const MODULE_INVITES_WINDOW_SECONDS = 3600;
export const moduleInvitesRule = (config: Pick<Config, 'moduleInvitesPerHour'>, source: string) => ({
  key: `module-invites#${source}`,
  limit: config.moduleInvitesPerHour,
});
