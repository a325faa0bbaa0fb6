import { revokeInvite } from '../lib/invites/adminInvites.js';
import { adminAuth, cfg, clock, store, type AdminContext } from './wiring/deps.js';
import { httpRoute, pathParam } from './http/route.js';

export const handler = httpRoute(
  async (event, context) => {
    await revokeInvite({ store, clock, config: cfg }, (context as AdminContext).actor, pathParam(event, 'id'));
    return { statusCode: 204, headers: { 'cache-control': 'no-store' } };
  },
  { use: [adminAuth()], cors: false }
);
