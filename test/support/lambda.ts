import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';

/** A Lambda context as the runtime would pass it. */
export const lambdaContext = (functionName = 'test'): Context => ({
  callbackWaitsForEmptyEventLoop: false,
  functionName,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
  memoryLimitInMB: '512',
  awsRequestId: randomUUID(),
  logGroupName: `/aws/lambda/${functionName}`,
  logStreamName: 'test',
  getRemainingTimeInMillis: () => 10_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
});

export interface HttpRequest {
  method: string;
  path: string;
  routeKey?: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: unknown;
  raw?: string;
  sourceIp?: string;
}

/** An API Gateway HTTP API (payload 2.0) event. */
export const httpEvent = (req: HttpRequest): APIGatewayProxyEventV2 => {
  const headers: Record<string, string> = { ...(req.headers ?? {}) };
  let body = req.raw;
  if (req.body !== undefined) {
    body = JSON.stringify(req.body);
    headers['content-type'] ??= 'application/json';
  }
  const query = req.query ?? {};
  return {
    version: '2.0',
    routeKey: req.routeKey ?? `${req.method} ${req.path}`,
    rawPath: req.path,
    rawQueryString: new URLSearchParams(query).toString(),
    headers,
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
    pathParameters: req.pathParameters,
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method: req.method, path: req.path, protocol: 'HTTP/1.1', sourceIp: req.sourceIp ?? '127.0.0.1', userAgent: 'vitest' },
      requestId: randomUUID(),
      routeKey: req.routeKey ?? `${req.method} ${req.path}`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
  } as APIGatewayProxyEventV2;
};

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/** Runs a real handler (its whole middy chain) in this process. */
export const invoke = async (handler: unknown, req: HttpRequest) => {
  const res = await (handler as Handler)(httpEvent(req), lambdaContext());
  const text = typeof res.body === 'string' ? res.body : '';
  return { status: res.statusCode ?? 200, headers: res.headers ?? {}, body: text ? JSON.parse(text) : undefined, text };
};

/** `POST /invites/{token}/redeem` through a real redeem handler in this process. */
export const invokeRedeem = (handler: unknown, token: string, body: Record<string, unknown>) =>
  invoke(handler, {
    method: 'POST',
    path: `/invites/${token}/redeem`,
    routeKey: 'POST /invites/{token}/redeem',
    pathParameters: { token },
    body,
  });
