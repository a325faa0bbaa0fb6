import { moduleRegister } from '../lib/invites/serverModule.js';
import { cfg, clock, store } from './wiring/deps.js';
import type { MiddlewareObj } from '@middy/core';
import { httpRoute, json, type HttpEvent, type HttpResult } from './http/route.js';
import { logger } from './wiring/observability.js';
import { notARedeem, redeemMetrics, refusalDomain } from './http/redeemMetrics.js';
import { claimKey, registrationLocks as locks, xmpp, warmUpXmpp } from './wiring/xmpp.js';
import { moduleInput, xmppServerRoute } from './http/xmppServerRoute.js';
import { xmppRegisterBody } from './http/validators.generated.js';
import { policy } from './wiring/policy.js';

// A cold start's admin XMPP login runs while the first request reads and claims the invite.
warmUpXmpp();

/** `POST /xmpp/register`: in-band registration, handed to redeem (with a token) or open registration. */
export const handler = httpRoute(
  async (request) => {
    const { context } = request;
    const input = moduleInput(request);
    // A refusal counts on the module's domain in the onboarding funnel (checked in scope before this runs).
    refusalDomain(context, input.domain);
    const result = await moduleRegister({ store, xmpp, clock, config: cfg, claimKey, locks, policy }, input);
    // Open registration (no invite) and a retry answered again are no new redeem.
    if (result.inviteId === undefined || result.replayed) notARedeem(context);
    logger.info('in-band registration', { inviteId: result.inviteId, jid: result.jid, outcome: result.outcome, replayed: result.replayed });
    for (const warning of result.warnings) logger.warn('in-band registration with a warning', { inviteId: result.inviteId, warning });
    return json(201, { jid: result.jid, outcome: result.outcome });
  },
  { body: xmppRegisterBody, ...withRedeemMetrics(xmppServerRoute('register', 'redeem')) }
);

function withRedeemMetrics<T extends { use: MiddlewareObj<HttpEvent, HttpResult>[] }>(route: T): T {
  return { ...route, use: [redeemMetrics({ path: 'app', inAppRegistration: true }), ...route.use] };
}
