import { showInvitePage } from '../lib/web/landing.js';
import { httpRoute, noBody, pathParam } from './http/route.js';
import { headLikeGet, htmlResponse, landingDeps, landingRoute } from './http/landingRoute.js';
import { rateLimit } from './http/rateLimit.js';
import { countFunnel } from './wiring/funnel.js';

/** `GET /i/{token}`: the invite's landing page; `HEAD` the same without the page. Reads only; its bundle has no XMPP code. */
export const handler = headLikeGet(
  httpRoute(
    async ({ event }) => {
      const page = await showInvitePage(landingDeps, pathParam(event, 'token'));
      // A live invite's page shown (not HEAD, which apps send after a scan): the onboarding funnel's `opened`.
      if (!page.error && event.requestContext?.http?.method?.toUpperCase() === 'GET') await countFunnel(page.domain, { opened: 1 });
      return htmlResponse(page);
    },
    {
      ...landingRoute,
      body: noBody,
      use: [rateLimit('landing')],
    }
  )
);
