import { consoleSessionKeyResolver } from '../lib/adapters/aws/secrets.js';
import { DynamoDBFunnelCounters } from '../lib/adapters/dynamodb/DynamoDBFunnelCounters.js';
import { DynamoDBContainmentEvents } from '../lib/adapters/dynamodb/DynamoDBContainmentEvents.js';
import { DynamoDBRateLimiter } from '../lib/adapters/dynamodb/DynamoDBRateLimiter.js';
import { moduleSources } from '../lib/lineage/containment.js';
import {
  assertCsrf,
  consoleErrorPage,
  currentAdmin,
  signIn,
  signInPage,
  type ConsoleDeps,
  type ConsoleResult,
} from '../lib/web/console/core.js';
import { findRoute } from '../lib/web/console/routes.js';
import { clearedSessionCookie, readSessionCookie, sessionCookie } from '../lib/web/console/session.js';
import { CONSOLE_JS, CONSOLE_JS_HEADERS } from '../lib/web/console/script.js';
import { CONSOLE_CONTENT_SECURITY_POLICY } from '../lib/web/console/styles.js';
import { PAGE_HEADERS } from '../lib/web/headers.js';
import { isInviteError } from '../lib/errors.js';
import { formBody } from './http/landingRoute.js';
import { anyone } from './http/auth.js';
import { httpRoute, STATUS, type BodyReader, type HttpEvent, type HttpResult } from './http/route.js';
import { apiKeyStore, audit, cfg, clock, lineage, store } from './wiring/deps.js';
import { inviterQuota, issueDeps } from './wiring/issuing.js';
import { logger } from './wiring/observability.js';
import { xmpp } from './wiring/xmpp.js';

const deps: ConsoleDeps = {
  keys: apiKeyStore,
  clock,
  limiter: new DynamoDBRateLimiter({ tableName: cfg.tableName }),
  config: cfg,
  sessionKey: consoleSessionKeyResolver(cfg.console),
  // As functions/issueInvite.ts: a preset username is refused when the account exists on the server already.
  issue: { ...issueDeps, xmpp, quota: inviterQuota },
  // As functions/lineageContainment.ts.
  containment: {
    store,
    lineage,
    clock,
    events: new DynamoDBContainmentEvents({ tableName: cfg.tableName }),
    appSources: moduleSources(apiKeyStore),
  },
  audit,
  warn: (message, details) => logger.warn(message, details),
  // The onboarding page (#21): the same counters the redeem routes and the notifier add to.
  funnel: new DynamoDBFunnelCounters({ tableName: cfg.tableName }),
};

const page = (status: number, html: string, cookie?: string): HttpResult => ({
  statusCode: status,
  headers: { ...PAGE_HEADERS, 'content-security-policy': CONSOLE_CONTENT_SECURITY_POLICY },
  ...(cookie ? { cookies: [cookie] } : {}),
  body: html,
});

const respond = (r: ConsoleResult): HttpResult => {
  const status = typeof r.status === 'number' ? r.status : STATUS[r.status];
  return r.location
    ? { statusCode: status, headers: { location: r.location, 'cache-control': 'no-store' }, ...(r.cookie ? { cookies: [r.cookie] } : {}) }
    : page(status, r.html ?? '', r.cookie);
};

const form = (event: HttpEvent): Record<string, unknown> =>
  event.body && typeof event.body === 'object' ? (event.body as Record<string, unknown>) : {};

/** Form posts are parsed (415 for any other body); the GET pages have none. */
const postedForm: BodyReader<Record<string, unknown>> = {
  parser: {
    before: async (request) => {
      if (request.event.requestContext?.http?.method?.toUpperCase() === 'POST') return formBody.parser?.before?.(request);
    },
  },
  read: form,
};

/** One function for the console (serverless.yml: /admin and /admin/{proxy+}); its pages' routes are in lib/web/console/routes.ts. */
const route = async (event: HttpEvent): Promise<ConsoleResult> => {
  const method = event.requestContext?.http?.method?.toUpperCase();
  const path = (event.rawPath ?? event.requestContext?.http?.path ?? '').replace(/\/+$/, '') || '/';
  const admin = await currentAdmin(deps, readSessionCookie(event.cookies, event.headers?.cookie));

  if (path === '/admin' && method === 'GET') {
    return admin ? { status: 303, location: '/admin/invites' } : { status: 200, html: signInPage() };
  }
  if (path === '/admin/session' && method === 'POST') {
    try {
      const value = await signIn(deps, form(event), event.requestContext?.http?.sourceIp);
      return { status: 303, location: '/admin/invites', cookie: sessionCookie(value) };
    } catch (error) {
      if (!isInviteError(error) || !['unauthorized', 'forbidden', 'rate-limited'].includes(error.code)) throw error;
      return { status: error.code, html: signInPage(error.code) };
    }
  }
  // Everything else needs a session: a page asks to sign in, a form post is refused.
  if (!admin) {
    return method === 'GET'
      ? { status: 303, location: '/admin', cookie: clearedSessionCookie() }
      : { status: 401, html: signInPage('unauthorized'), cookie: clearedSessionCookie() };
  }
  if (method === 'POST') {
    await assertCsrf(deps, admin, form(event));
    if (path === '/admin/signout') return { status: 303, location: '/admin', cookie: clearedSessionCookie() };
  }
  const found = findRoute(method, path);
  if (!found) return { status: 404, html: consoleErrorPage('not-found', 'No such page.') };
  return found.handle(deps, {
    method: found.method,
    path,
    query: event.queryStringParameters ?? {},
    form: method === 'POST' ? form(event) : {},
    admin,
  });
};

/** The console's script (lib/web/console/script.ts): static, public, no session needed (the pages that load it have one). */
const isScript = (event: HttpEvent): boolean =>
  event.requestContext?.http?.method?.toUpperCase() === 'GET' && event.rawPath === '/admin/console.js';

/** `GET /admin`, `POST /admin/session`, the console script and the console's pages below /admin (lib/web/console/). */
export const handler = httpRoute(
  async ({ event }) =>
    isScript(event) ? { statusCode: 200, headers: { ...CONSOLE_JS_HEADERS }, body: CONSOLE_JS } : respond(await route(event)),
  {
    auth: anyone,
    body: postedForm,
    cors: false,
    // The page brings its own CSP (one hashed script and stylesheet); no referrer leaves the console.
    securityHeaders: { contentSecurityPolicy: false, permissionsPolicy: false, referrerPolicy: { policy: 'no-referrer' } },
    errorResponse: (error, status, headers) => ({
      ...page(status, consoleErrorPage(error.code, error.message)),
      headers: { ...page(status, '').headers, ...headers },
    }),
  }
);
