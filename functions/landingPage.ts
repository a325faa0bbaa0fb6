import { showInvitePage } from '../lib/web/landing.js';
import { httpRoute, pathParam } from './http.js';
import { html, landingDeps, landingRoute } from './landing.js';
import { rateLimit } from './rateLimit.js';

/** `GET /i/{token}`: the invite's landing page. Reads only; its bundle has no XMPP code. */
export const handler = httpRoute(async (event) => html(await showInvitePage(landingDeps, pathParam(event, 'token'))), {
  ...landingRoute,
  use: [rateLimit('landing')],
});
