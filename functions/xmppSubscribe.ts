import { spendContactInvite } from '../lib/invites/serverModule.js';
import { clock, store } from './wiring/deps.js';
import { httpRoute, json } from './http/route.js';
import { logger } from './wiring/observability.js';
import { moduleInput, xmppServerRoute } from './http/xmppServerRoute.js';
import { subscribeBody } from './http/validators.generated.js';

/** `POST /xmpp/subscribe` (XEP-0379): an existing account subscribed to the inviter with the token. */
export const handler = httpRoute(
  async (request) => {
    const { approved, groups, outcome } = await spendContactInvite({ store, clock }, moduleInput(request));
    logger.info('contact invite spent', { outcome });
    return json(200, { approved, groups });
  },
  { body: subscribeBody, ...xmppServerRoute('subscribe', 'redeem') }
);
