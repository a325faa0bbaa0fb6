import { redeemInvite } from '../lib/invites/redeem.js';
import { cfg, clock, store } from './wiring/deps.js';
import { httpRoute, json, pathParam } from './http/route.js';
import { logger } from './wiring/observability.js';
import { publicGuards } from './http/rateLimit.js';
import { redeemBody } from './http/validators.generated.js';
import { brake, claimKey, xmpp, warmUpXmpp } from './wiring/xmpp.js';

// A cold start's admin XMPP login runs while the first request reads and claims the invite.
warmUpXmpp();

export const handler = httpRoute(
  async (event) => {
    const body = (event.body ?? {}) as { username?: string; password?: string };
    const result = await redeemInvite({ store, xmpp, clock, config: cfg, claimKey, brake }, pathParam(event, 'token'), body);
    logger.info('invite redeemed', { inviteId: result.invite.id, jid: result.jid, outcome: result.outcome, replayed: result.replayed });
    for (const warning of result.warnings) logger.warn('invite redeemed with a warning', { inviteId: result.invite.id, warning });
    return json(result.outcome === 'reset' ? 200 : 201, { jid: result.jid });
  },
  { body: redeemBody, use: publicGuards('redeem') }
);
