import { showInvitePage } from '../lib/web/landing.js';
import { httpRoute, pathParam } from './http/route.js';
import { htmlResponse, landingDeps, landingRoute } from './http/landingRoute.js';
import { rateLimit } from './http/rateLimit.js';

/** `GET /i/{token}`: the invite's landing page. Reads only; its bundle has no XMPP code. */
export const handler = httpRoute(async (event) => htmlResponse(await showInvitePage(landingDeps, pathParam(event, 'token'))), {
  ...landingRoute,
  use: [rateLimit('landing')],
});
