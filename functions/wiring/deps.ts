import { DynamoDBAdminAudit } from '../../lib/adapters/dynamodb/DynamoDBAdminAudit.js';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { DynamoDBInviteStore } from '../../lib/adapters/dynamodb/DynamoDBInviteStore.js';
import { DynamoDBLineageStore } from '../../lib/adapters/dynamodb/DynamoDBLineageStore.js';
import { config } from '../../lib/config.js';
import { systemClock } from '../../lib/ports/Clock.js';

/** Built once per container, reused by every invocation. */
export const cfg = config();
export const clock = systemClock;
export const store = new DynamoDBInviteStore({ tableName: cfg.tableName });
export const apiKeyStore = new DynamoDBApiKeyStore({ tableName: cfg.tableName });
/** Lineage records (lib/lineage): read by issue (suspended inviters), written by containment. */
export const lineage = new DynamoDBLineageStore({ tableName: cfg.tableName });
/** The admin audit trail (lib/auditTrail.ts): what admin keys did, by the console and the API. */
export const audit = new DynamoDBAdminAudit({ tableName: cfg.tableName });
