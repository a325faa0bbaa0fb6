import type { MiddlewareObj } from '@middy/core';
import httpUrlencodeBodyParser from '@middy/http-urlencode-body-parser';
import { errorPage, showInvitePage, submitInviteForm, type LandingForm, type WebPage } from '../lib/web/landing.js';
import { PAGE_HEADERS } from '../lib/web/headers.js';
import { cfg, clock, store } from './deps.js';
import { httpRoute, pathParam, STATUS, type HttpEvent, type HttpResult, type RouteOptions } from './http.js';
import { logger } from './observability.js';
import { rateLimit } from './rateLimit.js';

const deps = { store, clock, config: cfg };

// Its types expect a JSON event; it only turns the form body into an object.
const formBody = httpUrlencodeBodyParser() as unknown as MiddlewareObj<HttpEvent, HttpResult>;

const html = (page: WebPage, headers: Record<string, string> = {}): HttpResult => ({
  statusCode: page.error ? STATUS[page.error] : 200,
  headers: {
    ...PAGE_HEADERS,
    ...(page.alternate ? { link: `<${page.alternate}>; rel="alternate"` } : {}),
    ...headers,
  },
  body: page.html,
});

const route: RouteOptions = {
  cors: false,
  // The JSON routes' CSP forbids forms; the page sets its own, and a
  // Permissions-Policy without names browsers reject (lib/web/headers.ts).
  // The token is in the URL: no referrer may carry it to the app stores.
  securityHeaders: { contentSecurityPolicy: false, permissionsPolicy: false, referrerPolicy: { policy: 'no-referrer' } },
  errorResponse: (error, _status, headers) => html(errorPage(error.code), headers),
};

/** `GET /i/{token}`: the invite's landing page. Reads only; loads no XMPP code. */
export const page = httpRoute(async (event) => html(await showInvitePage(deps, pathParam(event, 'token'))), {
  ...route,
  use: [rateLimit('landing')],
});

/** `POST /i/{token}`: the web registration / password reset form. */
export const submit = httpRoute(
  async (event) => {
    // Loaded on first submit only: viewing the page never pays for xmpp.js.
    const { xmpp } = await import('./xmpp.js');
    const result = await submitInviteForm({ ...deps, xmpp }, pathParam(event, 'token'), (event.body ?? {}) as LandingForm);
    if (result.log) logger.info('invite redeemed on the web', result.log);
    return html(result);
  },
  { ...route, use: [rateLimit('redeem'), formBody] }
);
