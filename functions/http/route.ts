import middy, { type MiddlewareObj } from '@middy/core';
import httpCors from '@middy/http-cors';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import httpSecurityHeaders from '@middy/http-security-headers';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { config } from '../../lib/config.js';
import { InviteError, isInviteError, redactError, type ErrorCode } from '../../lib/errors.js';
import { emitMetric, logger, MetricName } from '../wiring/observability.js';
import type { EventValidator } from './validators.generated.js';

/** The one place domain errors become HTTP. */
export const STATUS: Record<ErrorCode, number> = {
  'invalid-request': 400,
  'invalid-json': 400,
  'body-too-large': 413,
  'unsupported-media-type': 415,
  'cursor-invalid': 400,
  'token-invalid': 404,
  'token-expired': 410,
  'token-used': 410,
  'token-revoked': 410,
  'invite-not-found': 404,
  'username-invalid': 400,
  'username-taken': 409,
  'username-mismatch': 400,
  'username-required': 400,
  'username-reserved': 409,
  'jid-invalid': 400,
  'domain-not-served': 400,
  'ttl-invalid': 400,
  'max-uses-invalid': 400,
  'password-weak': 400,
  unauthorized: 401,
  forbidden: 403,
  'registration-closed': 403,
  'quota-exceeded': 403,
  'rate-limited': 429,
  'xmpp-unavailable': 503,
  'xmpp-error': 502,
  'redemption-in-progress': 409,
  'account-not-found': 404,
  'signature-invalid': 401,
  'signature-stale': 401,
  'payload-invalid': 400,
  'event-duplicate': 409,
  'inviter-suspended': 403,
  'invite-depth-exceeded': 403,
  'key-not-found': 404,
  internal: 500,
};

export type HttpEvent = APIGatewayProxyEventV2 & { body?: unknown };
export type HttpResult = APIGatewayProxyStructuredResultV2;
export type Request = middy.Request<HttpEvent, HttpResult, Error, Context>;

export const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  body: body === undefined ? '' : JSON.stringify(body),
});

export const errorBody = (error: InviteError) => ({
  error: error.code,
  message: error.message,
  ...(error.details ? { details: error.details } : {}),
});

/** Turns any error into the middy `createError` shape's peer: an InviteError. */
export const toInviteError = (error: unknown): InviteError => {
  if (isInviteError(error)) return error;
  const e = error as { statusCode?: number; message?: string; cause?: { package?: string } };
  if (e?.statusCode === 422 || (e?.statusCode === 400 && e.cause?.package === '@middy/http-json-body-parser')) {
    return new InviteError('invalid-json', 'the request body is not valid JSON');
  }
  if (e?.statusCode === 415) {
    return new InviteError('unsupported-media-type', 'send the body as application/json');
  }
  if (e?.statusCode === 413) return new InviteError('body-too-large', 'the request body is too large');
  if (e?.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
    return new InviteError('invalid-request', 'the request is not valid');
  }
  return new InviteError('internal', 'something went wrong on our side', { cause: error });
};

/** Renders an error that reached the chain: the JSON error body, or a route's own (the landing page's HTML). */
export type ErrorResponse = (error: InviteError, status: number, headers: Record<string, string>) => HttpResult;

const jsonError: ErrorResponse = (error, status, headers) => json(status, errorBody(error), headers);

/**
 * middy's http-error-handler answers plain text; our contract is a JSON body
 * with a stable code, so this small middleware does the mapping.
 */
const httpErrors = (render: ErrorResponse = jsonError): MiddlewareObj<HttpEvent, HttpResult> => ({
  onError: async (request) => {
    if (request.response?.statusCode && request.error === undefined) return;
    const error = toInviteError(request.error);
    const status = STATUS[error.code];
    if (status >= 500) {
      logger.error('request failed', { code: error.code, error: redactError(request.error) });
      // The per-function 5xx alarms (infra/operations.cjs) count these.
      await emitMetric(MetricName.serverErrors, { function: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'local' });
    } else {
      logger.info('request rejected', { code: error.code });
    }
    const headers: Record<string, string> = {};
    if (error.retryAfter !== undefined) headers['retry-after'] = String(error.retryAfter);
    if (status === 401) headers['www-authenticate'] = 'Bearer';
    request.response = render(error, status, headers);
  },
});

const bodyLimit = (maxBytes: number): MiddlewareObj<HttpEvent, HttpResult> => ({
  before: (request) => {
    const body = request.event.body;
    if (typeof body === 'string' && Buffer.byteLength(body, request.event.isBase64Encoded ? 'base64' : 'utf8') > maxBytes) {
      throw new InviteError('body-too-large', `the request body must be at most ${maxBytes} bytes`);
    }
  },
});

/**
 * How a route reads its body: a parser (none for routes without a body), then
 * `read`, which checks the parsed body and gives it its type, or throws a 400.
 */
export interface BodyReader<B> {
  parser?: MiddlewareObj<HttpEvent, HttpResult>;
  read: (event: HttpEvent) => B;
}

/** A route that reads no body (GET routes, and signupWebhook, which verifies the raw bytes itself). */
export const noBody: BodyReader<undefined> = { read: () => undefined };

/**
 * A JSON body checked by its precompiled validator (schemas.ts, compiled into
 * validators.generated.js, whose types say what a valid body holds). No type
 * coercion (validators.build.ts; middy's default is 'array', meant for query
 * strings): a JSON body says what it means, so `"username": 123`,
 * `"maxUses": "1"` or `"groups": "staff"` are 400s, not accounts and invites
 * made from a silently converted value.
 */
export const jsonBody = <B>(validate: EventValidator<B>): BodyReader<B> => ({
  parser: httpJsonBodyParser(),
  read: ({ body }) => {
    // The parser has replaced the string its types promise with the parsed value.
    const event: { body: unknown } = { body };
    if (validate(event)) return event.body;
    const first = validate.errors?.[0];
    const where = first?.instancePath?.replace(/^\/body\/?/, '').replace(/\//g, '.') || 'body';
    throw new InviteError('invalid-request', `${where}: ${first?.message ?? 'invalid'}`);
  },
});

/** Finds who calls (auth.ts), or throws `unauthorized` / `forbidden`; its result is the handler's `actor`. */
export type Authenticator<A> = (event: HttpEvent) => Promise<A>;

/** What a handler receives: the event, its actor (`RouteOptions.auth`) and its body (`RouteOptions.body`), typed. */
export interface RouteRequest<B, A> {
  event: HttpEvent;
  context: Context;
  actor: A;
  body: B;
}

export type RouteHandler<B, A> = (request: RouteRequest<B, A>) => Promise<HttpResult>;

/** A step that needs the actor and the parsed body, before the handler. */
export type RouteCheck<B, A> = (request: RouteRequest<B, A>) => void | Promise<void>;

export interface RouteOptions<B, A> {
  /** Who may call (auth.ts): `anyone`, `adminAuth()`, `xmppServerAuth()`; runs before parsing. */
  auth: Authenticator<A>;
  /** How the body is read: `noBody`, a precompiled validator (a JSON body, required), or a `BodyReader`. */
  body: EventValidator<B> | BodyReader<B>;
  /** Bodies larger than this are refused (413) before parsing; default MAX_BODY_BYTES. */
  maxBodyBytes?: number;
  /** Extra middlewares run before authentication and parsing (metrics, rate limits). */
  use?: MiddlewareObj<HttpEvent, HttpResult>[];
  /** Checks run in order once the actor and the body are known (the xmpp-server routes' domain scope and per-address limits). */
  checks?: RouteCheck<B, A>[];
  /** CORS: public routes may be called from any signup page. */
  cors?: boolean;
  /** Options of @middy/http-security-headers (HTML pages bring their own CSP). */
  securityHeaders?: Parameters<typeof httpSecurityHeaders>[0];
  /** How errors that reach the chain are answered; default the JSON error body. */
  errorResponse?: ErrorResponse;
}

export const DEFAULT_MAX_BODY_BYTES = config().maxBodyBytes;

const readerOf = <B>(body: EventValidator<B> | BodyReader<B>): BodyReader<B> => (typeof body === 'function' ? jsonBody(body) : body);

/** The middy chain every HTTP function shares: handler -> one use case. */
export const httpRoute = <B, A>(handler: RouteHandler<B, A>, options: RouteOptions<B, A>) => {
  const reader = readerOf(options.body);
  // What the middlewares found, per invocation, for the handler.
  const actors = new WeakMap<Context, { actor: A }>();
  const requests = new WeakMap<Context, RouteRequest<B, A>>();
  const chain = middy<HttpEvent, HttpResult, Error, Context>()
    .use(injectLambdaContext(logger))
    .use(httpHeaderNormalizer())
    .use(httpCors({ origins: options.cors === false ? [] : ['*'], headers: 'authorization,content-type,x-signature,idempotency-key' }))
    .use(httpSecurityHeaders(options.securityHeaders))
    .use(httpErrors(options.errorResponse))
    .use(bodyLimit(options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES));
  for (const mw of options.use ?? []) chain.use(mw);
  // Authentication and rate limits come before parsing: an anonymous caller
  // learns nothing about the body's validity.
  chain.use({
    before: async ({ event, context }) => {
      actors.set(context, { actor: await options.auth(event) });
    },
  });
  if (reader.parser) chain.use(reader.parser);
  chain.use({
    before: async ({ event, context }) => {
      const known = actors.get(context);
      if (!known) throw new Error('route: no actor (the auth middleware did not run)');
      const request: RouteRequest<B, A> = { event, context, actor: known.actor, body: reader.read(event) };
      for (const check of options.checks ?? []) await check(request);
      requests.set(context, request);
    },
  });
  return chain.handler(async (_event, context) => {
    const request = requests.get(context);
    if (!request) throw new Error('route: the request was not read');
    return handler(request);
  });
};

export const pathParam = (event: HttpEvent, name: string): string | undefined => {
  const raw = event.pathParameters?.[name];
  if (raw === undefined) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
};
