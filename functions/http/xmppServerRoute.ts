/**
 * What every `/xmpp/*` route (modules/README.md) shares: the module's
 * `xmpp-server` key, the body's `domain` within its scope, and rate limits
 * per end-user address and per token taken from the body.
 */
import type { PublicRoute } from '../../lib/config.js';
import type { Actor } from '../../lib/invites/actor.js';
import { moduleDomain } from '../../lib/invites/serverModule.js';
import { xmppServerAuth } from './auth.js';
import { failedLookupMetric, moduleRateLimit } from './rateLimit.js';
import type { RouteCheck } from './route.js';

/** After parsing: the body's domain is one of the key's, before anything is counted or read. */
const domainInScope: RouteCheck<{ domain: string }, Actor> = ({ actor, body }) => {
  moduleDomain(actor, body.domain);
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
