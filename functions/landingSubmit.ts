import { submitInviteForm, type LandingForm } from '../lib/web/landing.js';
import { httpRoute, pathParam } from './http.js';
import { formBody, html, landingDeps, landingRoute } from './landing.js';
import { logger } from './observability.js';
import { rateLimit } from './rateLimit.js';
import { claimKey, xmpp } from './xmpp.js';

/** `POST /i/{token}`: the web registration / password reset form. */
export const handler = httpRoute(
  async (event) => {
    const result = await submitInviteForm({ ...landingDeps, xmpp, claimKey }, pathParam(event, 'token'), (event.body ?? {}) as LandingForm);
    if (result.log) logger.info('invite redeemed on the web', result.log);
    return html(result);
  },
  { ...landingRoute, use: [rateLimit('redeem'), formBody] }
);
