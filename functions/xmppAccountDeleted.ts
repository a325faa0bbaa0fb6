import { accountDeleted } from '../lib/lineage/containment.js';
import { clock, lineage, store } from './wiring/deps.js';
import { httpRoute, json } from './http/route.js';
import { logger } from './wiring/observability.js';
import { moduleInput, xmppServerRoute } from './http/xmppServerRoute.js';
import { accountDeletedBody } from './http/validators.generated.js';

/** `POST /xmpp/account-deleted`: a module reports a local account deleted; its live invites are revoked at once. */
export const handler = httpRoute(
  async (request) => {
    const result = await accountDeleted({ store, lineage, clock }, request.actor, moduleInput(request));
    logger.info('account deleted on its server', { jid: result.jid, revoked: result.revoked });
    return json(200, { jid: result.jid, status: result.status, revoked: result.revoked });
  },
  // The server reports its own users; no public budget applies.
  { body: accountDeletedBody, ...xmppServerRoute('account-deleted') }
);
