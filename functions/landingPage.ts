import { showInvitePage } from '../lib/web/landing.js';
import { httpRoute, pathParam } from './http/route.js';
import { headLikeGet, htmlResponse, landingDeps, landingRoute } from './http/landingRoute.js';
import { rateLimit } from './http/rateLimit.js';

/** `GET /i/{token}`: the invite's landing page; `HEAD` the same without the page. Reads only; its bundle has no XMPP code. */
export const handler = headLikeGet(
  httpRoute(async (event) => htmlResponse(await showInvitePage(landingDeps, pathParam(event, 'token'))), {
    ...landingRoute,
    use: [rateLimit('landing')],
  })
);
