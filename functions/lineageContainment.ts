import { DynamoDBContainmentEvents } from '../lib/adapters/dynamodb/DynamoDBContainmentEvents.js';
import { moduleSources, revokeLineage, suspendAccount, unsuspendAccount } from '../lib/lineage/containment.js';
import { recordAction } from '../lib/auditTrail.js';
import { parseBareJid } from '../lib/jid.js';
import { apiKeyStore, audit, cfg, clock, lineage, store } from './wiring/deps.js';
import { adminAuth } from './http/auth.js';
import { httpRoute, json, noBody, pathParam } from './http/route.js';
import { logger } from './wiring/observability.js';
import { lineageRevokeBody } from './http/validators.generated.js';

/** Containment along the lineage (lib/lineage/containment.ts): admin keys of the account's domain. */
const deps = {
  store,
  lineage,
  clock,
  events: new DynamoDBContainmentEvents({ tableName: cfg.tableName }),
  // Invites an account created from its app without being their inviter, per module key of its domain.
  appSources: moduleSources(apiKeyStore),
};
const trail = { audit, clock, warn: (message: string, details: Record<string, unknown>) => logger.warn(message, details) };

/** `POST /lineage/{jid}/revoke` `{ subtree, dryRun, cursor }`. */
export const revoke = httpRoute(
  async ({ event, actor, body }) => {
    const result = await revokeLineage(deps, actor, pathParam(event, 'jid'), body);
    if (!result.dryRun) {
      logger.info('lineage revoked', { jid: result.jid, subtree: result.subtree, revoked: result.revoked, source: actor.source });
      await recordAction(trail, actor, 'api', {
        action: 'lineage.revoked',
        domain: parseBareJid(result.jid).domain,
        subject: result.jid,
        detail: { subtree: result.subtree, revoked: result.revoked, complete: !result.cursor },
      });
    }
    return json(200, result, { 'cache-control': 'no-store' });
  },
  { auth: adminAuth(), body: lineageRevokeBody, cors: false }
);

/** `POST /lineage/{jid}/suspend`: live invites revoked, future invites refused until lifted. */
export const suspend = httpRoute(
  async ({ event, actor }) => {
    const result = await suspendAccount(deps, actor, pathParam(event, 'jid'));
    logger.info('account suspended', { jid: result.jid, revoked: result.revoked, source: actor.source });
    await recordAction(trail, actor, 'api', {
      action: 'account.suspended',
      domain: parseBareJid(result.jid).domain,
      subject: result.jid,
      detail: { revoked: result.revoked },
    });
    return json(200, result, { 'cache-control': 'no-store' });
  },
  { auth: adminAuth(), body: noBody, cors: false }
);

/** `POST /lineage/{jid}/unsuspend`: the account may invite again. */
export const unsuspend = httpRoute(
  async ({ event, actor }) => {
    const result = await unsuspendAccount(deps, actor, pathParam(event, 'jid'));
    logger.info('account suspension lifted', { jid: result.jid, source: actor.source });
    await recordAction(trail, actor, 'api', {
      action: 'account.unsuspended',
      domain: parseBareJid(result.jid).domain,
      subject: result.jid,
    });
    return json(200, result, { 'cache-control': 'no-store' });
  },
  { auth: adminAuth(), body: noBody, cors: false }
);
