import middy, { type MiddlewareObj } from '@middy/core';
import httpCors from '@middy/http-cors';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import httpSecurityHeaders from '@middy/http-security-headers';
import validator, { type Options as ValidatorOptions } from '@middy/validator';
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
  const e = error as { statusCode?: number; message?: string; cause?: { package?: string; data?: unknown } };
  if (e?.statusCode === 422 || (e?.statusCode === 400 && e.cause?.package === '@middy/http-json-body-parser')) {
    return new InviteError('invalid-json', 'the request body is not valid JSON');
  }
  if (e?.statusCode === 415) {
    return new InviteError('unsupported-media-type', 'send the body as application/json');
  }
  if (e?.statusCode === 413) return new InviteError('body-too-large', 'the request body is too large');
  if (e?.statusCode === 400 && e.cause?.package === '@middy/validator') {
    const first = (e.cause.data as { instancePath?: string; message?: string }[] | undefined)?.[0];
    const where = first?.instancePath?.replace(/^\/body\/?/, '').replace(/\//g, '.') || 'body';
    return new InviteError('invalid-request', `${where}: ${first?.message ?? 'invalid'}`);
  }
  if (e?.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
    return new InviteError('invalid-request', 'the request is not valid');
  }
  return new InviteError('internal', 'something went wrong on our side', { cause: error });
};

/**
 * middy's http-error-handler answers plain text; our contract is a JSON body
 * with a stable code, so this small middleware does the mapping.
 */
export type ErrorResponse = (error: InviteError, status: number, headers: Record<string, string>) => HttpResult;

const jsonError: ErrorResponse = (error, status, headers) => json(status, errorBody(error), headers);

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

export interface RouteOptions {
  /**
   * The compiled validator of the parsed body's JSON schema (schemas.ts,
   * precompiled in validators.generated.js); the route then requires a JSON body.
   */
  body?: EventValidator;
  /** Accepts application/x-www-form-urlencoded as well as JSON. */
  maxBodyBytes?: number;
  /** Extra middlewares run before parsing (auth, rate limits). */
  use?: MiddlewareObj<HttpEvent, HttpResult>[];
  /** Middlewares that need the parsed, validated body (the xmpp-server routes' domain scope and per-address limits). */
  afterParse?: MiddlewareObj<HttpEvent, HttpResult>[];
  /** CORS: public routes may be called from any signup page. */
  cors?: boolean;
  /** Options of @middy/http-security-headers (HTML pages bring their own CSP). */
  securityHeaders?: Parameters<typeof httpSecurityHeaders>[0];
  /** How errors that reach the chain are answered; default the JSON error body. */
  errorResponse?: ErrorResponse;
}

export const DEFAULT_MAX_BODY_BYTES = config().maxBodyBytes;

/** The middy chain every HTTP function shares: handler -> one use case. */
export const httpRoute = (handler: (event: HttpEvent, context: Context) => Promise<HttpResult>, options: RouteOptions = {}) => {
  const chain = middy<HttpEvent, HttpResult, Error, Context>()
    .use(injectLambdaContext(logger))
    .use(httpHeaderNormalizer())
    .use(httpCors({ origins: options.cors === false ? [] : ['*'], headers: 'authorization,content-type,x-signature,idempotency-key' }))
    .use(httpSecurityHeaders(options.securityHeaders))
    .use(httpErrors(options.errorResponse))
    .use(bodyLimit(options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES));
  // Authentication and rate limits come before parsing: an anonymous caller
  // learns nothing about the body's validity.
  for (const mw of options.use ?? []) chain.use(mw);
  if (options.body) {
    // No type coercion (validators.build.ts; middy's default is 'array', meant
    // for query strings): a JSON body says what it means, so `"username": 123`,
    // `"maxUses": "1"` or `"groups": "staff"` are 400s, not accounts and
    // invites made from a silently converted value.
    // @middy/validator types `eventSchema` as an Ajv instance; it calls it as a compiled function.
    chain.use(httpJsonBodyParser()).use(validator({ eventSchema: options.body as unknown as ValidatorOptions['eventSchema'] }));
  }
  for (const mw of options.afterParse ?? []) chain.use(mw);
  return chain.handler(handler);
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
