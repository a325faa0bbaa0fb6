import { submitInviteForm, type LandingForm } from '../lib/web/landing.js';
import { httpRoute, pathParam } from './http/route.js';
import { formBody, htmlResponse, landingDeps, landingRoute } from './http/landingRoute.js';
import { logger } from './wiring/observability.js';
import { rateLimit } from './http/rateLimit.js';
import { brake, claimKey, xmpp, warmUpXmpp } from './wiring/xmpp.js';

// A cold start's admin XMPP login runs while the first request reads and claims the invite.
warmUpXmpp();

/** `POST /i/{token}`: the web registration / password reset form. */
export const handler = httpRoute(
  async (event) => {
    const result = await submitInviteForm(
      { ...landingDeps, xmpp, claimKey, brake },
      pathParam(event, 'token'),
      (event.body ?? {}) as LandingForm
    );
    if (result.log) logger.info('invite redeemed on the web', result.log);
    return htmlResponse(result);
  },
  { ...landingRoute, use: [rateLimit('redeem'), formBody] }
);
