import { redeemInvite } from '../lib/invites/redeem.js';
import { cfg, clock, store } from './wiring/deps.js';
import { httpRoute, json, pathParam } from './http/route.js';
import { logger } from './wiring/observability.js';
import { noticingDomain, notARedeem, redeemMetrics } from './http/redeemMetrics.js';
import { anyone } from './http/auth.js';
import { publicGuards } from './http/rateLimit.js';
import { redeemBody } from './http/validators.generated.js';
import { policy } from './wiring/policy.js';
import { claimKey, xmpp, warmUpXmpp } from './wiring/xmpp.js';

// A cold start's admin XMPP login runs while the first request reads and claims the invite.
warmUpXmpp();

export const handler = httpRoute(
  async ({ event, context, body }) => {
    // The invite redeem reads names the domain a refusal counts on (the onboarding funnel).
    const deps = { store: noticingDomain(store, context), xmpp, clock, config: cfg, claimKey, policy };
    const result = await redeemInvite(deps, pathParam(event, 'token'), body);
    // A retry answered again is not a second account.
    if (result.replayed) notARedeem(context);
    logger.info('invite redeemed', { inviteId: result.invite.id, jid: result.jid, outcome: result.outcome, replayed: result.replayed });
    for (const warning of result.warnings) logger.warn('invite redeemed with a warning', { inviteId: result.invite.id, warning });
    return json(result.outcome === 'reset' ? 200 : 201, { jid: result.jid });
  },
  { auth: anyone, body: redeemBody, use: [redeemMetrics({ path: 'api' }), ...publicGuards('redeem')] }
);
