import type { MiddlewareObj } from '@middy/core';
import httpUrlencodeBodyParser from '@middy/http-urlencode-body-parser';
import { errorPage, type WebPage } from '../../lib/web/landing.js';
import { PAGE_HEADERS } from '../../lib/web/headers.js';
import { cfg, clock, store } from '../wiring/deps.js';
import { STATUS, type HttpEvent, type HttpResult, type RouteOptions } from './route.js';

/** What both landing functions share: dependencies, the HTML response, the route options. */
export const landingDeps = { store, clock, config: cfg };

// Its types expect a JSON event; it only turns the form body into an object.
export const formBody = httpUrlencodeBodyParser() as unknown as MiddlewareObj<HttpEvent, HttpResult>;

export const htmlResponse = (page: WebPage, headers: Record<string, string> = {}): HttpResult => ({
  statusCode: page.error ? STATUS[page.error] : 200,
  headers: {
    ...PAGE_HEADERS,
    ...(page.alternate ? { link: `<${page.alternate}>; rel="alternate"` } : {}),
    ...headers,
  },
  body: page.html,
});

/**
 * `HEAD /i/{token}` answers what `GET` answers (status, headers, the
 * `Link: <xmpp:…>; rel="alternate"` an app follows after scanning the QR
 * code), without the page. API Gateway routes HEAD to the same function
 * (serverless.yml); serverless-offline's hapi sends HEAD through the GET
 * route by itself. Outermost, so error pages (429, 500) lose their body too.
 */
export const headLikeGet =
  <C>(handler: (event: HttpEvent, context: C) => Promise<HttpResult>) =>
  async (event: HttpEvent, context: C): Promise<HttpResult> => {
    const result = await handler(event, context);
    return event.requestContext?.http?.method?.toUpperCase() === 'HEAD' ? { ...result, body: '' } : result;
  };

export const landingRoute: RouteOptions = {
  cors: false,
  // The JSON routes' CSP forbids forms; the page sets its own, and a
  // Permissions-Policy without names browsers reject (lib/web/headers.ts).
  // The token is in the URL: no referrer may carry it to the app stores.
  securityHeaders: { contentSecurityPolicy: false, permissionsPolicy: false, referrerPolicy: { policy: 'no-referrer' } },
  errorResponse: (error, _status, headers) => htmlResponse(errorPage(error.code), headers),
};
