import { revokeInvite } from '../lib/invites/adminInvites.js';
import { cfg, clock, store } from './wiring/deps.js';
import { adminAuth } from './http/auth.js';
import { httpRoute, noBody, pathParam } from './http/route.js';

export const handler = httpRoute(
  async ({ event, actor }) => {
    await revokeInvite({ store, clock, config: cfg }, actor, pathParam(event, 'id'));
    return { statusCode: 204, headers: { 'cache-control': 'no-store' } };
  },
  { auth: adminAuth(), body: noBody, cors: false }
);
