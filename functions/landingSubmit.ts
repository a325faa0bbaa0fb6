import { submitInviteForm, type LandingForm } from '../lib/web/landing.js';
import { httpRoute, pathParam } from './http/route.js';
import { formBody, htmlResponse, landingDeps, landingRoute } from './http/landingRoute.js';
import { logger } from './wiring/observability.js';
import { rateLimit } from './http/rateLimit.js';
import { claimKey, xmpp } from './wiring/xmpp.js';

/** `POST /i/{token}`: the web registration / password reset form. */
export const handler = httpRoute(
  async (event) => {
    const result = await submitInviteForm({ ...landingDeps, xmpp, claimKey }, pathParam(event, 'token'), (event.body ?? {}) as LandingForm);
    if (result.log) logger.info('invite redeemed on the web', result.log);
    return htmlResponse(result);
  },
  { ...landingRoute, use: [rateLimit('redeem'), formBody] }
);
