import { showInvite } from '../lib/invites/adminInvites.js';
import { cfg, clock, store } from './wiring/deps.js';
import { adminAuth } from './http/auth.js';
import { httpRoute, json, noBody, pathParam } from './http/route.js';

export const handler = httpRoute(
  async ({ event, actor }) => json(200, await showInvite({ store, clock, config: cfg }, actor, pathParam(event, 'id'))),
  { auth: adminAuth(), body: noBody, cors: false }
);
