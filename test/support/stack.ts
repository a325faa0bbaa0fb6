import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { ProsodyProvisioner } from '../../lib/adapters/xmpp/ProsodyProvisioner.js';
import { XmppConnection } from '../../lib/adapters/xmpp/XmppConnection.js';

export const stack = () => inject('stack');

/** Lets in-process code (stores, use cases, handlers) reach the shared stack. */
export const useStackEnv = () => {
  Object.assign(process.env, stack().env);
  return stack();
};

export const documentClientForStack = () => {
  const { env } = stack();
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: env.AWS_ENDPOINT_URL_DYNAMODB,
      region: env.AWS_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
    { marshallOptions: { removeUndefinedValues: true } }
  );
};

/** A unique, valid localpart per call. */
export const uniqueName = (prefix = 'u') => `${prefix}${randomBytes(5).toString('hex')}`;

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** HTTP against the functions served by serverless-offline. */
export const api = async <T = any>(
  method: string,
  path: string,
  options: { body?: unknown; raw?: string; headers?: Record<string, string>; auth?: string | false } = {}
): Promise<ApiResponse<T>> => {
  const s = stack();
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.auth !== false) headers.authorization ??= `Bearer ${options.auth ?? s.apiKey}`;
  let body: string | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${s.baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: any;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
};

/** Issues an invite through the API and returns its body. */
export const issue = async (body: Record<string, unknown> = {}) => {
  const res = await api('POST', '/invites', { body });
  if (res.status !== 201) throw new Error(`issue failed: ${res.status} ${res.text}`);
  return res.body as { id: string; token: string; uri: string; landingUrl: string; [k: string]: unknown };
};

/** An admin provisioner on the test Prosody, to create inviters and read rosters. */
export const prosodyAdmin = () => {
  const p = stack().prosody;
  return ProsodyProvisioner.at({ ...p, password: () => p.adminPassword, timeoutMs: 5000, tlsCaFile: p.caFile });
};

/** Logs in as a user with a real c2s connection: proves the password works. */
export const canLogin = async (
  jid: string,
  password: string,
  server: { service: string; caFile: string } = stack().prosody
): Promise<boolean> => {
  const c = new XmppConnection({ service: server.service, jid, password: () => password, timeoutMs: 5000, tlsCaFile: server.caFile });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.close();
  }
};
