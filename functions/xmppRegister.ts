import { moduleRegister } from '../lib/invites/serverModule.js';
import { cfg, clock, store, type AdminContext } from './wiring/deps.js';
import { httpRoute, json } from './http/route.js';
import { logger } from './wiring/observability.js';
import { brake, claimKey, registrationLocks as locks, xmpp, warmUpXmpp } from './wiring/xmpp.js';
import { xmppServerRoute } from './http/xmppServerRoute.js';
import { xmppRegisterBody } from './http/validators.generated.js';

// A cold start's admin XMPP login runs while the first request reads and claims the invite.
warmUpXmpp();

/** `POST /xmpp/register`: in-band registration, handed to redeem (with a token) or open registration. */
export const handler = httpRoute(
  async (event, context) => {
    const result = await moduleRegister(
      { store, xmpp, clock, config: cfg, claimKey, locks, brake },
      (context as AdminContext).actor,
      (event.body ?? {}) as Record<string, unknown>
    );
    logger.info('in-band registration', { inviteId: result.inviteId, jid: result.jid, outcome: result.outcome, replayed: result.replayed });
    for (const warning of result.warnings) logger.warn('in-band registration with a warning', { inviteId: result.inviteId, warning });
    return json(201, { jid: result.jid, outcome: result.outcome });
  },
  { body: xmppRegisterBody, ...xmppServerRoute('register', 'redeem') }
);
