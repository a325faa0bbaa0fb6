import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { ProsodyProvisioner } from '../../lib/adapters/xmpp/ProsodyProvisioner.js';
import { XmppConnection } from '../../lib/adapters/xmpp/XmppConnection.js';
import { loadConfig } from '../../lib/config.js';
import { issueInvite, type IssueInput } from '../../lib/invites/issue.js';
import type { InviteStore } from '../../lib/ports/InviteStore.js';
import { systemClock } from '../../lib/ports/Clock.js';

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

/**
 * HTTP against the functions served by serverless-offline (or, with
 * `baseUrl`, the same functions served elsewhere); the stack's admin key
 * unless `auth` names another or is false.
 */
export const api = async <T = any>(
  method: string,
  path: string,
  options: { body?: unknown; raw?: string; headers?: Record<string, string>; auth?: string | false; baseUrl?: string } = {}
): Promise<ApiResponse<T>> => {
  const s = stack();
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.auth !== false) headers.authorization ??= `Bearer ${options.auth ?? s.apiKey}`;
  let body: string | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${options.baseUrl ?? s.baseUrl}${path}`, { method, headers, body });
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

/** Issues an invite with the use case, straight into `store`, as an admin of every domain; returns its issued view. */
export const issueInStore = async (store: InviteStore, input: IssueInput) =>
  (
    await issueInvite(
      { store, clock: systemClock, config: loadConfig(stack().env) },
      { source: 'test', domains: ['*'], admin: true },
      input
    )
  ).view;

/** Makes an invite expired the way time would: every read treats expiresAt <= now as expired. */
export const expireInvite = async (id: string) => {
  await documentClientForStack().send(
    new UpdateCommand({
      TableName: stack().env.INVITES_TABLE,
      Key: { pk: `INV#${id}`, sk: 'INV' },
      UpdateExpression: 'SET expiresAt = :past',
      ExpressionAttributeValues: { ':past': Math.floor(Date.now() / 1000) - 1 },
    })
  );
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
