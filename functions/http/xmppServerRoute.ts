/**
 * What every `/xmpp/*` route (modules/README.md) shares: the module's
 * `xmpp-server` key, the body's `domain` within its scope, and rate limits
 * per end-user address and per token taken from the body.
 */
import type { MiddlewareObj } from '@middy/core';
import { authenticate } from '../../lib/apiKeys/apiKeys.js';
import type { PublicRoute } from '../../lib/config.js';
import type { ApiKeyStore } from '../../lib/ports/ApiKeyStore.js';
import { moduleDomain } from '../../lib/invites/serverModule.js';
import { apiKeyStore, type AdminContext } from '../wiring/deps.js';
import type { HttpEvent, HttpResult } from './route.js';
import { failedLookupMetric, rateLimit } from './rateLimit.js';

/** Before parsing: only an xmpp-server key gets in (an API key is 403, no key 401). */
export const xmppServerAuth = (keys: ApiKeyStore = apiKeyStore): MiddlewareObj<HttpEvent, HttpResult> => ({
  before: async (request) => {
    (request.context as AdminContext).actor = await authenticate(keys, request.event.headers?.authorization, 'xmpp-server');
  },
});

/** After parsing: the body's domain is one of the key's, before anything is counted or read. */
const domainInScope = (): MiddlewareObj<HttpEvent, HttpResult> => ({
  before: (request) => {
    moduleDomain((request.context as AdminContext).actor, (request.event.body as { domain?: unknown } | undefined)?.domain);
  },
});

/**
 * The middlewares of an /xmpp/* route. `limits`: which public budget the
 * route shares (a preauth costs what a check costs; a registration or a
 * subscription what a redeem costs); none for invite creation, which the
 * per-user quota bounds.
 */
export const xmppServerRoute = (name: string, limits?: PublicRoute) => ({
  use: [xmppServerAuth(), failedLookupMetric(`xmpp-${name}`)],
  afterParse: [domainInScope(), ...(limits ? [rateLimit(limits, { from: 'body' })] : [])],
  // Servers call these, never browsers.
  cors: false,
});
