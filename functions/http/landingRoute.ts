import type { MiddlewareObj } from '@middy/core';
import type { InviteError } from '../../lib/errors.js';
import httpUrlencodeBodyParser from '@middy/http-urlencode-body-parser';
import { errorPage, type LandingForm, type WebPage } from '../../lib/web/landing.js';
import { PAGE_HEADERS } from '../../lib/web/headers.js';
import { cfg, clock, store } from '../wiring/deps.js';
import { anyone } from './auth.js';
import { STATUS, type BodyReader, type HttpEvent, type HttpResult } from './route.js';

/** What both landing functions share: dependencies, the HTML response, the route options. */
export const landingDeps = { store, clock, config: cfg };

/**
 * The landing form's body: application/x-www-form-urlencoded fields, each
 * kept as the parser gave it (a string, or a list for a repeated name); the
 * use case checks them.
 */
export const formBody: BodyReader<LandingForm> = {
  // Its types expect a JSON event; it only turns the form body into an object.
  parser: httpUrlencodeBodyParser() as unknown as MiddlewareObj<HttpEvent, HttpResult>,
  read: (event) => {
    // The parser has replaced the string its types promise with the fields.
    const body: unknown = event.body;
    if (typeof body !== 'object' || body === null) return {};
    return {
      username: 'username' in body ? body.username : undefined,
      password: 'password' in body ? body.password : undefined,
      confirm: 'confirm' in body ? body.confirm : undefined,
    };
  },
};

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

export const landingRoute = {
  auth: anyone,
  cors: false,
  // The JSON routes' CSP forbids forms; the page sets its own, and a
  // Permissions-Policy without names browsers reject (lib/web/headers.ts).
  // The token is in the URL: no referrer may carry it to the app stores.
  securityHeaders: { contentSecurityPolicy: false, permissionsPolicy: false, referrerPolicy: { policy: 'no-referrer' } },
  errorResponse: (error: InviteError, _status: number, headers: Record<string, string>) => htmlResponse(errorPage(error.code), headers),
};
