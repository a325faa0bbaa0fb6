/**
 * What every `/xmpp/*` route (modules/README.md) shares: the module's
 * `xmpp-server` key, the body's `domain` within its scope, and rate limits
 * per end-user address and per token taken from the body.
 */
import type { PublicRoute } from '../../lib/config.js';
import type { Actor } from '../../lib/invites/actor.js';
import { moduleDomain, type ModuleDomain } from '../../lib/invites/serverModule.js';
import { xmppServerAuth } from './auth.js';
import { failedLookupMetric, moduleRateLimit } from './rateLimit.js';
import type { RouteCheck, RouteRequest } from './route.js';

/** What the domain check found, per request, for the handler. */
const checked = new WeakMap<object, ModuleDomain>();

/**
 * After parsing: the body's domain is one of the key's, before anything is
 * counted or read. The one check of it (`moduleDomain`); the handler hands
 * what it found to its use case (`moduleInput`).
 */
const domainInScope: RouteCheck<{ domain: string }, Actor> = (request) => {
  checked.set(request, moduleDomain(request.actor, request.body.domain));
};

/** The request's body with its domain as checked (normalized, in the key's scope): a module use case's input. */
export const moduleInput = <B extends { domain: string }>(
  request: RouteRequest<B, Actor>
): Omit<B, 'domain'> & { domain: ModuleDomain } => {
  const domain = checked.get(request);
  if (domain === undefined) throw new Error('xmppServerRoute: the domain was not checked (a handler outside xmppServerRoute?)');
  return { ...request.body, domain };
};

/**
 * The options of an /xmpp/* route. `limits`: which public budget the route
 * shares (a preauth costs what a check costs; a registration or a
 * subscription what a redeem costs); none for invite creation, which the
 * per-user quota bounds.
 */
export const xmppServerRoute = (name: string, limits?: PublicRoute) => ({
  auth: xmppServerAuth(),
  use: [failedLookupMetric(`xmpp-${name}`)],
  checks: [domainInScope, ...(limits ? [moduleRateLimit(limits)] : [])],
  // Servers call these, never browsers.
  cors: false,
});
