import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { DynamoDBInviteStore } from '../../lib/adapters/dynamodb/DynamoDBInviteStore.js';
import { config } from '../../lib/config.js';
import { systemClock } from '../../lib/ports/Clock.js';

/** Built once per container, reused by every invocation. */
export const cfg = config();
export const clock = systemClock;
export const store = new DynamoDBInviteStore({ tableName: cfg.tableName });
export const apiKeyStore = new DynamoDBApiKeyStore({ tableName: cfg.tableName });
