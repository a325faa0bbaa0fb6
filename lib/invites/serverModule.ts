/**
 * What an XMPP server's module (modules/README.md) may ask for its users:
 * check a token, register (through the same redeem and open-registration use
 * cases as the web), spend a contact invite for an existing account
 * (XEP-0379), and create an invite on behalf of one of its users (XEP-0401
 * ad-hoc). Every call acts for one domain, checked once against the module's
 * `xmpp-server` key (`moduleDomain`) before its use case runs.
 */
import type { Config } from '../config.js';
import { InviteError } from '../errors.js';
import { formatJid, normalizeDomain, parseBareJid } from '../jid.js';
import type { Clock } from '../ports/Clock.js';
import type { InviteStore } from '../ports/InviteStore.js';
import { assertDomainInScope, type Actor } from './actor.js';
import { statusError } from './Invite.js';
import { issueInvite, type IssueDeps } from './issue.js';
import { redeemInvite, type RedeemDeps } from './redeem.js';
import { registerAccount, type RegisterDeps } from './registerAccount.js';
import { publicView } from './views.js';
import { enforceRateLimits } from '../abuse/rateLimit.js';
import type { RateLimiter } from '../ports/RateLimiter.js';
import { MODULE_INVITES_WINDOW_SECONDS, assertMayActFor, moduleInvitesRule, moduleLiveInvitesPerUser } from './limits.js';
import { assertMayInvite } from '../lineage/mayInvite.js';
import { lookupInvite } from './lookup.js';
import { assertInviteOfDomain } from './domains.js';

declare const inScope: unique symbol;
/**
 * The domain a module call acts for, once checked against its key: only
 * `moduleDomain` makes one, so a use case below that takes it cannot be
 * handed a domain nobody checked.
 */
export type ModuleDomain = string & { readonly [inScope]: true };

/**
 * The one check of a module call's domain: normalized, and one the key is
 * scoped to. Every `/xmpp/*` route runs it before anything is counted or read
 * (functions/http/xmppServerRoute.ts) and hands the result to its use case.
 */
export const moduleDomain = (actor: Actor, raw: unknown): ModuleDomain => {
  const domain = normalizeDomain(raw);
  if (actor.domains.includes('*')) {
    // createApiKey never makes such a key; refuse rather than trust it.
    throw new InviteError('forbidden', 'an xmpp-server key must name its domains');
  }
  assertDomainInScope(actor, domain);
  return domain as ModuleDomain;
};

/** `POST /xmpp/preauth`: the token's invite, never consumed. */
export const preauth = async (deps: { store: InviteStore; clock: Clock }, input: { token?: unknown; domain: ModuleDomain }) => {
  const { domain } = input;
  // The domain before the status: a dead token of another domain is no token here either.
  const { invite, status } = await lookupInvite(deps, input.token);
  assertInviteOfDomain(invite, domain);
  if (status !== 'valid') throw statusError(status);
  // What anyone holding the token may learn: the same public view as GET /invites/{token}.
  return publicView(invite);
};

export interface ModuleRegisterInput {
  token?: unknown;
  domain: ModuleDomain;
  username?: unknown;
  password?: unknown;
}

/**
 * `POST /xmpp/register`: with a token, the web's redeem use case (exactly
 * once, roster pre-approval, preset usernames, resets); without one, open
 * registration (refused while the service is invite-only). No other path
 * creates accounts.
 */
export const moduleRegister = async (
  deps: RedeemDeps & Pick<RegisterDeps, 'locks'> & { config: RegisterDeps['config'] },
  input: ModuleRegisterInput
): Promise<{ jid: string; outcome: 'created' | 'reset'; inviteId?: string; replayed?: boolean; warnings: string[] }> => {
  const { domain } = input;
  if (input.token === undefined) {
    const { jid } = await registerAccount(deps, { username: input.username, password: input.password, domain }, 'app');
    return { jid, outcome: 'created', warnings: [] };
  }
  // Redeem reads the invite once, and refuses one of another domain.
  const result = await redeemInvite(deps, input.token, { username: input.username, password: input.password, domain, via: 'app' });
  return { jid: result.jid, outcome: result.outcome, inviteId: result.invite.id, replayed: result.replayed, warnings: result.warnings };
};

/**
 * `POST /xmpp/subscribe` (XEP-0379): `subscriber`, an existing account on any
 * server, sent a subscription carrying the token to `contact`. The approval
 * is granted once per token and subscriber, and only while the invite is
 * live: a revoked, expired or used-up invite approves nothing, and a replay of
 * a token that already approved (or registered) this subscriber is refused
 * (`token-used`), so a contact the inviter removed cannot come back with the
 * old token. Any error means "leave it to the user".
 */
export const spendContactInvite = async (
  deps: { store: InviteStore; clock: Clock },
  input: { token?: unknown; domain: ModuleDomain; contact?: unknown; subscriber?: unknown }
) => {
  const { domain } = input;
  const contact = formatJid(parseBareJid(input.contact));
  const subscriber = formatJid(parseBareJid(input.subscriber));
  const { invite, status } = await lookupInvite(deps, input.token);
  assertInviteOfDomain(invite, domain);
  // Only a roster invite of this very contact approves a subscription to it.
  if (invite.type !== 'contact' || invite.inviter !== contact) {
    throw new InviteError('token-invalid', 'no such invite');
  }
  if (subscriber === contact) throw new InviteError('jid-invalid', 'the inviter cannot subscribe to itself');
  if (status !== 'valid') throw statusError(status);
  // Someone who registered with this invite got the contact at redeem: the
  // token approves nothing more for them.
  const claim = await deps.store.getClaim('account', subscriber, invite.id);
  if (claim) throw alreadyApproved();
  const { outcome } = await deps.store.spendContactInvite({ invite, subscriber, now: deps.clock.now() });
  if (outcome !== 'spent') throw alreadyApproved();
  return { approved: true as const, groups: invite.groups, outcome };
};

/** A replay: the modules only ask when the contact's roster has no approval, i.e. it was removed since. */
const alreadyApproved = () => new InviteError('token-used', 'this invite already approved this subscriber once');

export interface AppInviteInput {
  domain: ModuleDomain;
  /** The user who ran the ad-hoc command. */
  inviter?: unknown;
  type?: unknown;
  username?: unknown;
  rosterSubscription?: unknown;
  /** The module's per-inviter limit; capped by the service's own. */
  maxLiveInvites?: unknown;
}

/**
 * `POST /xmpp/invites` (XEP-0401 ad-hoc `#invite` / `#create-account`): an
 * invite with the requesting user as the only inviter the actor may name.
 * Live invites are counted per requesting user (by source), whether or not
 * the user is the invite's inviter.
 */
export const createAppInvite = async (
  deps: Omit<IssueDeps, 'quota'> & {
    config: IssueDeps['config'] & Pick<Config, 'quotaLiveInvitesPerInviter' | 'moduleInvitesPerHour'>;
    /** Counts the key's invites per hour (a leaked key stays bounded). */
    limiter: RateLimiter;
  },
  actor: Actor,
  input: AppInviteInput
) => {
  const { domain } = input;
  const user = formatJid(parseBareJid(input.inviter));
  if (parseBareJid(user).domain !== domain) {
    throw new InviteError('forbidden', `${user} is not a user of ${domain}`);
  }
  assertMayActFor(deps.config, user);
  if (input.type !== 'contact' && input.type !== 'account') {
    throw new InviteError('invalid-request', 'type must be contact or account');
  }
  if (input.maxLiveInvites !== undefined && (!Number.isInteger(input.maxLiveInvites) || (input.maxLiveInvites as number) < 1)) {
    throw new InviteError('invalid-request', 'maxLiveInvites must be a positive integer');
  }
  const onBehalf: Actor = {
    // One source per user, so the quota counts this user's invites only.
    source: `${actor.source}:${user}`,
    domains: [domain],
    admin: false,
    // The service's cap whatever the body says; the module's may only lower it.
    maxLiveInvites: moduleLiveInvitesPerUser(deps.config, input.maxLiveInvites as number | undefined),
    inviters: [user],
    allowReset: false,
    onBehalfOf: user,
  };
  const contact = input.type === 'contact';
  if (contact && input.username !== undefined) {
    throw new InviteError('invalid-request', 'a contact invite takes no username');
  }
  if (!contact && (typeof input.username !== 'string' || input.username === '')) {
    throw new InviteError('username-required', 'create-account needs the username of the new account');
  }
  // Every well-formed request counts against the key's hourly budget, whichever user it names.
  await enforceRateLimits(
    { limiter: deps.limiter, clock: deps.clock },
    [moduleInvitesRule(deps.config, actor.source)],
    MODULE_INVITES_WINDOW_SECONDS
  );
  const withInviter = contact || input.rosterSubscription === true;
  // Without roster pre-approval the user is not the invite's inviter, yet brought the account in: a suspended user issues nothing.
  if (!withInviter && deps.lineage) {
    await assertMayInvite(deps.lineage, user, {
      depthLimit: deps.config.inviteDepthLimit,
      minAccountAgeSeconds: deps.config.minAccountAgeToInvite,
      now: deps.clock.now(),
    });
  }
  const { view } = await issueInvite(deps, onBehalf, {
    type: contact ? 'contact' : 'account',
    domain,
    inviter: withInviter ? user : undefined,
    username: contact ? undefined : (input.username as string),
  });
  return view;
};
