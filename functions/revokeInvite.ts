import { inviteSubject, recordAction } from '../lib/auditTrail.js';
import { revokeInvite } from '../lib/invites/adminInvites.js';
import { audit, cfg, clock, store } from './wiring/deps.js';
import { adminAuth } from './http/auth.js';
import { httpRoute, noBody, pathParam } from './http/route.js';
import { logger } from './wiring/observability.js';

const trail = { audit, clock, warn: (message: string, details: Record<string, unknown>) => logger.warn(message, details) };

export const handler = httpRoute(
  async ({ event, actor }) => {
    const invite = await revokeInvite({ store, clock, config: cfg }, actor, pathParam(event, 'id'));
    await recordAction(trail, actor, 'api', { action: 'invite.revoked', domain: invite.domain, subject: inviteSubject(invite) });
    return { statusCode: 204, headers: { 'cache-control': 'no-store' } };
  },
  { auth: adminAuth(), body: noBody, cors: false }
);
