import { submitInviteForm } from '../lib/web/landing.js';
import { httpRoute, pathParam } from './http/route.js';
import { formBody, htmlResponse, landingDeps, landingRoute } from './http/landingRoute.js';
import { logger } from './wiring/observability.js';
import { countRedeemRefusal, noticingDomain, notARedeem, redeemMetrics } from './http/redeemMetrics.js';
import { rateLimit } from './http/rateLimit.js';
import { policy } from './wiring/policy.js';
import { claimKey, xmpp, warmUpXmpp } from './wiring/xmpp.js';

// A cold start's admin XMPP login runs while the first request reads and claims the invite.
warmUpXmpp();

/** `POST /i/{token}`: the web registration / password reset form. */
export const handler = httpRoute(
  async ({ event, context, body }) => {
    const deps = { ...landingDeps, store: noticingDomain(landingDeps.store, context), xmpp, claimKey, policy };
    const result = await submitInviteForm(deps, pathParam(event, 'token'), body);
    if (result.log) logger.info('invite redeemed on the web', result.log);
    if (result.log?.replayed) notARedeem(context);
    // Refusals are pages here, not thrown errors: counted as the other paths' are.
    if (result.error) await countRedeemRefusal(context, result.error);
    return htmlResponse(result);
  },
  { ...landingRoute, body: formBody, use: [redeemMetrics({ path: 'web' }), rateLimit('redeem')] }
);
