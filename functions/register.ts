import { registerAccount } from '../lib/invites/registerAccount.js';
import { cfg, clock } from './wiring/deps.js';
import { httpRoute, json } from './http/route.js';
import { credentialsBody } from './http/validators.generated.js';
import { rateLimit } from './http/rateLimit.js';
import { brake, registrationLocks as locks, xmpp } from './wiring/xmpp.js';

/** Open registration; answers 403 registration-closed unless REGISTRATION_INVITE_ONLY=false. */
export const handler = httpRoute(
  async (event) =>
    json(201, await registerAccount({ xmpp, locks, clock, config: cfg, brake }, (event.body ?? {}) as Record<string, unknown>)),
  // It creates accounts like a redeem, so it shares the redeem budget per address.
  { body: credentialsBody, use: [rateLimit('redeem')] }
);
