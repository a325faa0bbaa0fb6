import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { authenticate } from '../../lib/apiKeys/apiKeys.js';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { DynamoDBInviteStore } from '../../lib/adapters/dynamodb/DynamoDBInviteStore.js';
import { DynamoDBLineageStore } from '../../lib/adapters/dynamodb/DynamoDBLineageStore.js';
import { config } from '../../lib/config.js';
import type { Actor } from '../../lib/invites/actor.js';
import type { ApiKeyStore } from '../../lib/ports/ApiKeyStore.js';
import { systemClock } from '../../lib/ports/Clock.js';
import type { HttpEvent, HttpResult } from '../http/route.js';

/** Built once per container, reused by every invocation. */
export const cfg = config();
export const clock = systemClock;
export const store = new DynamoDBInviteStore({ tableName: cfg.tableName });
export const apiKeyStore = new DynamoDBApiKeyStore({ tableName: cfg.tableName });
/** Lineage records (lib/lineage): read by issue (suspended inviters), written by containment. */
export const lineage = new DynamoDBLineageStore({ tableName: cfg.tableName });

export type AdminContext = Context & { actor: Actor };

/** Admin routes: `Authorization: Bearer <api key>`; 401 otherwise, 403 for a key of another kind. */
export const adminAuth = (keys: ApiKeyStore = apiKeyStore): MiddlewareObj<HttpEvent, HttpResult> => ({
  before: async (request) => {
    (request.context as AdminContext).actor = await authenticate(keys, request.event.headers?.authorization);
  },
});
